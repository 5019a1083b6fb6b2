#!/usr/bin/env bash
# The contention acceptance check (docs/contract.md, "Contention"): the main job's sweep twice,
# quiet, then with two busy loops running during process 2 of 3 only, and what the report made
# of it: process 2 flagged as contended, the same mode/impl per batch range as the quiet run's
# verdict (or "not enough quiet runs"), no chart band wider than the uncontended processes'
# range. Also: the quiet run's policy picks, at every measured batch, an impl within 2x of the
# fastest that one plain process of every candidate finds (decisions right).
# ~2 x the main job's sweep; run it on an otherwise quiet machine, after a build:
#   bash ci/contention_check.sh [build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/modebench" ] || { echo "contention_check: $build/modebench is not built" >&2; exit 2; }
# A plain sweep: no waiting for quiet, no re-runs (this checks what the report does with them).
cmake -S . -B "$build" -DMODEBENCH_BENCH_PROCESSES=3 -DMODEBENCH_BENCH_QUIET_WAIT=0 -DMODEBENCH_BENCH_QUIET_BUDGET=0 \
  -DMODEBENCH_BENCH_RERUNS=0 >/dev/null

sweep() {  # $1: quiet|busy; prints the run folder
  ctest --test-dir "$build" -L bench -E '_p[23]$|bench_report' >&2
  local loops=()
  if [ "$1" = busy ]; then
    for _ in 1 2; do (while :; do :; done) & loops+=($!); done
  fi
  ctest --test-dir "$build" -L bench -R '_p2$' -FA '.*' >&2 || true
  for pid in "${loops[@]}"; do kill "$pid"; done
  ctest --test-dir "$build" -L bench -R '_p3$|bench_report' -FA '.*' >&2
  echo "results/$(cat results/.current-run)"
}

quiet=$(sweep quiet)
# One plain process of every cpu candidate, right after (what a user timing them once would see).
mkdir -p "$quiet/checks"
"$build/modebench" run --modes cpu --profile quick --benchmark_min_time=0.25 --out "$quiet/checks/plain.json" >&2 || true
busy=$(sweep busy)
python3 - "$quiet" "$busy" <<'EOF'
import re
import sys

sys.path.insert(0, "report")
from modebench_report.groups import Group
from modebench_report.lines import line_points
from modebench_report.load import load_set
from modebench_report.statistical_units import process_medians

quiet, busy = sys.argv[1], sys.argv[2]
failures = []
summary = open(f"{busy}/report/summary.md").read()
if "Contended processes" not in summary or not re.search(r"\| [a-z0-9]+\.cpu\.p2\.json \|", summary):
    failures.append("the busy run's report does not flag process 2 as contended")


def choices(path):
    """{case: [mode/impl, ...]} of the verdict, or 'not enough quiet runs'."""
    out = {}
    for line in open(path).read().splitlines():
        if re.match(r"- (\S+): not enough quiet runs", line):
            out[line[2:].split(":")[0]] = "not enough quiet runs"
        m = re.match(r"- (\S+): use (.*)$", line)
        if m:
            out[m.group(1)] = "not enough quiet runs" if "not enough quiet runs" in m.group(2) else re.findall(r"(\S+/\S+) at batch", m.group(2))
    return out


q, b = choices(f"{quiet}/report/summary.md"), choices(f"{busy}/report/summary.md")
for case, want in q.items():
    got = b.get(case)
    if got != want and got != "not enough quiet runs":
        failures.append(f"{case}: quiet run chose {want}, busy run {got}")

g = Group("busy", load_set(busy).processes)
for (op, case), lines in g.cases.items():
    for line, by_batch in lines.items():
        for pt in line_points(by_batch):
            quiet_medians = process_medians(by_batch[pt["batch"]])
            if pt["band"] and (pt["hi"] > max(quiet_medians) * (1 + 1e-9) or pt["lo"] < min(quiet_medians) * (1 - 1e-9)):
                failures.append(f"{op}/{case} {line} batch {pt['batch']}: band wider than the uncontended processes")
import json

plain = {}
for e in json.load(open(f"{quiet}/checks/plain.json"))["benchmarks"]:
    if "error_message" not in e:
        op, case, mode, impl, batch = re.match(r"(\w+)/(\w+)/mode:([\w-]+)/impl:(\w+)/batch:(\d+)", e["name"]).groups()
        plain.setdefault((op, case, int(batch)), {})[f"{mode}/{impl}"] = e["real_time"]
for rule in json.load(open(f"{quiet}/report/policy.json"))["rules"]:
    for r in rule["ranges"]:
        for b in map(int, r.get("median_ms", {})):
            times = plain.get((rule["op"], rule["case"], b), {})
            chosen = times.get(f"{r['mode']}/{r['impl']}")
            if chosen and chosen > 2 * min(times.values()):
                fastest = min(times, key=times.get)
                failures.append(f"{rule['op']}/{rule['case']} batch {b}: the policy chose {r['mode']}/{r['impl']}, "
                                f"{chosen / times[fastest]:.1f}x slower than {fastest} in a plain process")
print(f"quiet run: {quiet}\nbusy run: {busy}")
print("\n".join(failures) or "contention check: passed")
sys.exit(1 if failures else 0)
EOF
