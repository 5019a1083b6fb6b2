"""modebench-report render | compare | policy (docs/contract.md, "`report/modebench-report`")."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

# numpy, scipy and matplotlib are imported by the subcommands that use them, not here:
# `ingest` (every main job and nightly) would pay seconds of imports for 0.2 s of work.
from . import load
from .escape import md
from .load import BadInput, load_sets, read_json

EXIT_OK, EXIT_ALERT, EXIT_BAD = 0, 1, 2


def write_atomic(path: str, data) -> None:
    """Temp file in the target folder, then rename: a reader never sees partial output."""
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _processes(sets):
    return [p for s in sets for p in s.processes]


# ---------------------------------------------------------------- render
def cmd_render(a) -> int:
    from . import probe_view, profile_view, render  # matplotlib: only for this subcommand
    from .groups import make_groups
    from .limits import load_limits

    # A simulated run renders (statuses only, render.py); compare and policy refuse it.
    sets = load_sets(a.results, a.allow_test_device, allow_simulated=True)
    probes = [probe_view.load_probe(p) for p in a.probe or ()]
    profiles = [profile_view.load_profile(p) for p in a.profile or ()]
    page, summary, files = render.build(make_groups(sets, load_limits(a.limits)), probes, profiles)
    # Everything is computed before the first write.
    for name, data in files.items():
        write_atomic(os.path.join(a.out, name), data)
    write_atomic(os.path.join(a.out, "summary.md"), summary)
    write_atomic(os.path.join(a.out, "index.html"), page)
    print(f"modebench-report: wrote {os.path.join(a.out, 'index.html')}")
    return EXIT_OK


# ---------------------------------------------------------------- compare
def _side(name, procs):
    return {
        "name": name,
        "processes": len(procs),
        "hosts": sorted({p.host for p in procs}),
        "toolkits": sorted({p.build for p in procs}),
        "git_sha": sorted({str(p.context.get("git_sha", "?")) for p in procs}),
    }


def _ci_text(row) -> str:
    from .statistical_units import not_enough_runs

    if row["ci"] is None:
        return not_enough_runs(f"{row['n_baseline']}/{row['n_candidate']}")
    return f"[{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"


def compare_markdown(doc) -> str:
    m = ["# modebench compare", ""]
    for side in ("baseline", "candidate"):
        s = doc[side]
        m.append(
            f"- {side}: `{md(s['name'])}` — {s['processes']} process(es), toolkit {md(', '.join(s['toolkits']))}, "
            f"git {md(', '.join(s['git_sha']))}"
        )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(doc["counts"].items()))
    m += ["", f"**{doc['alerts']} alert(s)** — {counts}", ""]
    if doc["weaker"]:
        m.append(
            "> Some sides have too few processes for the per-process test to reach p < 0.01: those "
            "verdicts (unit = repetition) pool Google Benchmark repetitions and are weaker — "
            "repetitions hide run-to-run variance. Run more processes per side for a real verdict."
        )
        m.append("")
    if doc.get("notes"):
        m += [f"> {md(n)}" for n in doc["notes"]] + [""]
    head = "| series | verdict | ratio | 99% CI | threshold | p (BH) | unit (n) |"
    for g in doc["groups"]:
        m += [f"## {md(g['group'])}", ""]
        shown = [r for r in g["series"] if r["verdict"] != "same" or r.get("suspicious")]
        same = len(g["series"]) - len(shown)
        if shown:
            m += [head, "|---|---|---|---|---|---|---|"]
            for r in sorted(shown, key=lambda r: (not r["alert"], r["series"])):
                verdict = ("**ALERT** " if r["alert"] else "") + r["verdict"]
                if r.get("alerted_at_look"):
                    verdict += f" (look {r['alerted_at_look']})"
                if r.get("suspicious"):
                    verdict += " (suspicious: worth more processes)"
                if "ratio" in r:
                    m.append(
                        f"| {md(r['series'])} | {md(verdict)} | {r['ratio']:.3f} | {_ci_text(r)} "
                        f"| ±{r['threshold']:.1%} | {r['p_adjusted']:.2g} | {r['unit']} ({r['n_baseline']}/{r['n_candidate']}) |"
                    )
                else:
                    msg = r.get("message", "")
                    m.append(f"| {md(r['series'])} | {md(verdict)} | | | | | {md(msg)} |")
        m += ["", f"{same} series unchanged (same).", ""]
    return "\n".join(m) + "\n"


def _power_note(doc, alpha):
    """Says when the samples cannot confirm anything, whatever the data."""
    from .stats import min_attainable_p

    timed = [r for g in doc["groups"] for r in g["series"] if "p" in r]
    m = len(timed)
    blind = [r for r in timed if min_attainable_p(r["n_baseline"], r["n_candidate"]) * m > alpha]
    if not blind:
        return None
    need = next(n for n in range(2, 200) if min_attainable_p(n, n) * m <= alpha)
    return (
        f"{len(blind)} of {m} series have too few samples to ever be confirmed at p < {alpha} after "
        f"Benjamini-Hochberg over {m} series: run at least {need} processes per side "
        "(or add --benchmark_repetitions for a weaker verdict)"
    )


def _look_alpha(a) -> float:
    from . import compare

    if a.looks < 1 or not 1 <= a.look <= a.looks:
        raise BadInput("(arguments)", f"--look must be between 1 and --looks ({a.looks}), got {a.look}")
    return compare.look_alpha(a.alpha, a.looks)


def _read_previous_look(path) -> dict:
    from . import compare

    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("schema") != compare.SCHEMA or not isinstance(doc.get("groups"), list):
        raise BadInput(path, f"not a {compare.SCHEMA} document (compare --json output)")
    return doc


def _finish_compare(a, doc) -> int:
    from . import compare

    alpha = _look_alpha(a)
    previous = _read_previous_look(a.previous) if a.previous else None  # bad input before any write
    doc.update(look=a.look, looks=a.looks, alpha=a.alpha, alpha_look=alpha)
    if a.looks > 1:
        doc["notes"].append(
            f"look {a.look} of {a.looks}: each look tests at alpha/{a.looks} = {alpha:g} (Bonferroni over the "
            "planned looks), so the false-alarm rate stays at alpha across them; an earlier look's alert stands"
        )
    compare.record_look(doc["groups"], a.look, previous)
    doc["suspicious"] = compare.mark_suspicious(doc["groups"])
    note = _power_note(doc, alpha)
    if note:
        doc["notes"].append(note)
    doc["counts"] = compare.summary_counts(doc["groups"])
    doc["alerts"] = sum(r["alert"] for g in doc["groups"] for r in g["series"])
    doc["weaker"] = any(r.get("weaker") for g in doc["groups"] for r in g["series"])
    doc["exit_code"] = compare.exit_code(doc["groups"])
    text = compare_markdown(doc)
    if a.suspicious_out:
        write_atomic(a.suspicious_out, compare.rerun_arguments(doc["suspicious"]) + "\n")
    if a.json:
        write_atomic(a.json, json.dumps(doc, indent=2) + "\n")
    if a.md:
        write_atomic(a.md, text)
    sys.stdout.write(text)
    return doc["exit_code"]


def cmd_history_compare(a) -> int:
    """CANDIDATE against the stored earlier runs of its host and build (the nightly's baseline
    from history): at least HISTORY_MIN_RUNS of them, the newest --history-runs."""
    from . import compare, store

    if len(a.sets) != 1:
        raise BadInput("(arguments)", "compare --history takes CANDIDATE only")
    (cand,) = load_sets(a.sets, a.allow_test_device)
    cp = cand.processes
    builds = {(p.host, p.build) for p in cp}
    if len(builds) != 1:
        raise BadInput(a.sets[0], "compare --history takes one host and one build")
    host, build = next(iter(builds))
    url = store.resolve_url(a.db)
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):  # no store yet: no history
        raise BadInput(store.redact(url), f"{store.NOT_ENOUGH_HISTORY}: 0 earlier run(s) of {host} | {build}, "
                       f"{store.HISTORY_MIN_RUNS} needed")
    db = store.Store(a.db, write=False)
    bp = db.baseline_processes(host, build, store.run_key(cp), a.history_runs)
    runs = len({p.path.split("/")[0] for p in bp})
    if runs < store.HISTORY_MIN_RUNS:
        raise BadInput(db.shown, f"{store.NOT_ENOUGH_HISTORY}: {runs} earlier run(s) of {host} | {build}, "
                       f"{store.HISTORY_MIN_RUNS} needed")
    doc = {"schema": compare.SCHEMA, "view": "history", "baseline": _side(f"history ({runs} runs)", bp),
           "candidate": _side(cand.name, cp)}
    doc["groups"] = compare.compare_sets(bp, cp, lambda p: p.host, _look_alpha(a), a.min_ratio)
    doc["notes"] = [f"baseline: the {len(bp)} processes of the newest {runs} stored runs of this host and build"]
    return _finish_compare(a, doc)


def cmd_compare(a) -> int:
    from . import compare

    if a.history:
        return cmd_history_compare(a)
    if a.toolkit_view:
        return cmd_toolkit_view(a)
    if len(a.sets) != 2:
        raise BadInput("(arguments)", "compare takes BASELINE and CANDIDATE (or --toolkit-view RESULTS...)")
    base, cand = load_sets(a.sets, a.allow_test_device)
    bp, cp = base.processes, cand.processes
    notes = []
    if not ({p.host for p in bp} & {p.host for p in cp}):
        notes.append("baseline and candidate share no host: nothing is compared across hosts (all new/missing)")
    doc = {"schema": compare.SCHEMA, "view": "commits", "baseline": _side(base.name, bp), "candidate": _side(cand.name, cp)}
    doc["groups"] = compare.compare_sets(bp, cp, lambda p: p.host, _look_alpha(a), a.min_ratio)
    doc["notes"] = notes
    return _finish_compare(a, doc)


def cmd_toolkit_view(a) -> int:
    """Same host and commit, several toolkits or torch builds: each against the reference one."""
    from . import compare

    sets = load_sets(a.sets, a.allow_test_device)
    procs = _processes(sets)
    by: dict = {}
    for p in procs:
        by.setdefault((p.host, str(p.context.get("git_sha", "?"))), {}).setdefault(p.build, []).append(p)
    groups, notes, base_all, cand_all = [], [], [], []
    for (host, sha), tks in sorted(by.items()):
        if len(tks) < 2:
            notes.append(f"{host} @ {sha}: only toolkit {next(iter(tks))}; nothing to compare")
            continue
        ref = a.reference_toolkit if a.reference_toolkit in tks else next(iter(tks))
        for tk, ps in tks.items():
            if tk == ref:
                continue
            for g in compare.compare_sets(tks[ref], ps, lambda p: p.host, _look_alpha(a), a.min_ratio):
                g["group"] = f"{g['group']} @ {sha}: toolkit {ref} -> {tk}"
                groups.append(g)
            base_all += tks[ref]
            cand_all += ps
    if not groups:
        raise BadInput(" ".join(a.sets), "toolkit view needs one host and commit measured with two toolkits")
    doc = {
        "schema": compare.SCHEMA,
        "view": "toolkits",
        "baseline": _side("reference toolkit", base_all),
        "candidate": _side("other toolkits", cand_all),
        "groups": groups,
        "notes": notes,
    }
    return _finish_compare(a, doc)


# ---------------------------------------------------------------- policy
def cmd_policy(a) -> int:
    from . import policy
    from .load import group_series, host_and_toolkit
    from .statistical_units import not_enough_runs

    sets = load_sets(a.results, a.allow_test_device)
    procs = _processes(sets)
    groups = group_series(procs, host_and_toolkit)
    if a.host:
        if a.host not in groups:
            raise BadInput(" ".join(a.results), f"no results for --host '{a.host}' (have: {'; '.join(sorted(groups))})")
        key = a.host
    elif len(groups) > 1:
        raise BadInput(
            " ".join(a.results),
            f"results from {len(groups)} host/toolkit groups; pick one with --host (have: {'; '.join(sorted(groups))})",
        )
    else:
        key = next(iter(groups))
    context = next(p.context for p in procs if host_and_toolkit(p) == key)
    doc = policy.build_policy(groups[key], context, key)
    write_atomic(a.out, json.dumps(doc, indent=2) + "\n")
    for r in doc["rules"]:
        ranges = ", ".join(
            f"{x['batch_min']}..{x['batch_max'] if x['batch_max'] is not None else 'inf'}: {x['mode']}/{x['impl']}"
            + (f" (provisional: {not_enough_runs(x['processes'])})" if x["provisional"] else f" ({x['confidence']:.2f})")
            for x in r["ranges"]
        )
        print(f"{r['op']}/{r['case']}: {ranges or 'no usable mode'}" + (f"; excluded {len(r['excluded'])}" if r["excluded"] else ""))
    for m in doc["models"]:
        lo = m["loco"]
        check = (f"held-out error {lo['median_rel_error']:.0%} over {lo['cases']} cases" if lo
                 else f"no held-out check ({len(m['cases'])} case)")
        print(f"cost model {m['op']} {m['mode']}/{m['impl']}: {check}")
    return EXIT_OK


def cmd_hostkey(a) -> int:
    proc = load.load_process(a.result, allow_test_device=a.allow_test_device)
    load.refuse_simulated([proc])  # the key names a baseline folder (ci/promote-baseline.sh)
    print(load.host_slug(load.host_key(proc.context)))
    return EXIT_OK


# ---------------------------------------------------------------- history store
def cmd_ingest(a) -> int:
    from . import store

    # Every run is read and checked before the store is opened: bad input writes nothing.
    runs = [store.load_run(r, a.allow_test_device) for r in a.results]
    db = store.Store(a.db)
    for source, stored in db.ingest(runs):
        print(f"modebench-report: {'stored' if stored else 'already stored'}: {source}")
    return EXIT_OK


def cmd_history(a) -> int:
    from . import history, store

    db = store.Store(a.db, write=False)
    page = history.build(db, host=a.host, series=a.series, device="sim" if a.simulated else "real")
    for name, data in page.files.items():
        write_atomic(os.path.join(a.out, name), data)
    write_atomic(os.path.join(a.out, "history.json"), json.dumps(page.doc, indent=2) + "\n")
    write_atomic(os.path.join(a.out, "index.html"), page.html)
    print(f"modebench-report: wrote {os.path.join(a.out, 'index.html')}: {page.summary}")
    return EXIT_ALERT if page.doc["alerts"] else EXIT_OK


def cmd_acknowledge(a) -> int:
    from . import store

    db = store.Store(a.db)
    chosen = [s for s in db.series_list(a.host) if not a.series or s[3] in a.series]
    if not chosen:
        raise BadInput("--series", "no stored series matches")
    through = db.latest_run()
    db.acknowledge([None] if not a.series and not a.host else [s[0] for s in chosen], through, a.note)
    print(f"modebench-report: acknowledged change points through run {through} of {len(chosen)} series")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="modebench-report", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument(
            "--allow-test-device", action="store_true", help="accept records labelled device=test (tests of this tool only)"
        )

    r = sub.add_parser("render", help="HTML page, Markdown summary, PNG/SVG charts")
    r.add_argument("results", nargs="+", help="result files or folders; each argument is one set")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--limits", help="machine_limits JSON: peak_gflops / mem_gbps / pcie_gbps, and quiet / load_avg_1m / cpus")
    r.add_argument("--probe", action="append", metavar="FILE",
                   help="JSON of modebench probe --binary ... --json FILE: show its binary verdict table (repeatable)")
    r.add_argument("--profile", action="append", metavar="FILE",
                   help="modebench-profile/1 JSON of modebench_policy.profile(..., out=FILE): a model's layer table "
                        "and plan, predicted against measured (repeatable)")
    common(r)
    r.set_defaults(func=cmd_render)

    c = sub.add_parser("compare", help="regression verdicts: BASELINE CANDIDATE")
    c.add_argument("sets", nargs="+", metavar="BASELINE CANDIDATE")
    c.add_argument("--md", help="also write the Markdown here")
    c.add_argument("--json", help="write the verdicts as JSON here")
    c.add_argument("--toolkit-view", action="store_true", help="compare toolkits of one host and commit within the inputs")
    c.add_argument("--reference-toolkit", help="toolkit the others are compared against (default: first seen)")
    c.add_argument("--looks", type=int, default=1, help="planned looks of a sequential confirmation (default 1); each tests at alpha/LOOKS")
    c.add_argument("--look", type=int, default=1, help="which look this is (1..LOOKS)")
    c.add_argument("--previous", help="compare --json output of the previous look: its alerts stand")
    c.add_argument("--suspicious-out", help="write the modebench run arguments that re-run the suspicious, unconfirmed series")
    c.add_argument("--history", action="store_true",
                   help="compare CANDIDATE with the stored earlier runs of its host and build (the history store)")
    c.add_argument("--history-runs", type=int, default=20, help="with --history: the newest N earlier runs (default 20)")
    c.add_argument("--db", help="with --history: the store (default $MODEBENCH_HISTORY_DB, else results/history.sqlite)")
    c.add_argument("--alpha", type=float, default=0.01, help=argparse.SUPPRESS)
    c.add_argument("--min-ratio", type=float, default=0.03, help=argparse.SUPPRESS)
    common(c)
    c.set_defaults(func=cmd_compare)

    p = sub.add_parser("policy", help="fallback thresholds and cost model (policy JSON)")
    p.add_argument("results", nargs="+")
    p.add_argument("--out", required=True, help="policy JSON file")
    p.add_argument("--host", help="host/toolkit group to use when the results hold several")
    common(p)
    p.set_defaults(func=cmd_policy)

    h = sub.add_parser("hostkey", help="the baseline folder name of the host that produced RESULT")
    h.add_argument("result", help="one result file")
    common(h)
    h.set_defaults(func=cmd_hostkey)

    db_help = "store: a SQLite file or sqlite:///PATH, or postgresql://... (default $MODEBENCH_HISTORY_DB, else results/history.sqlite)"
    i = sub.add_parser("ingest", help="store runs in the history database")
    i.add_argument("results", nargs="+", help="run folders or result files; each argument is one run")
    i.add_argument("--db", help=db_help)
    common(i)
    i.set_defaults(func=cmd_ingest)

    hi = sub.add_parser("history", help="trends and change points of the stored runs: HTML, PNG, SVG")
    hi.add_argument("--db", help=db_help)
    hi.add_argument("--host", help="only this host (its key, or a part of it)")
    hi.add_argument("--series", action="append", help="only this series, op/case/mode:M/impl:I/batch:B (repeatable)")
    hi.add_argument("--simulated", action="store_true", help="the simulated device's runs (device=sim) instead of the real ones")
    hi.add_argument("--out", required=True, help="output folder")
    hi.set_defaults(func=cmd_history)

    ak = sub.add_parser("acknowledge", help="acknowledge the change points found so far (they stop alerting)")
    ak.add_argument("--db", help=db_help)
    ak.add_argument("--host", help="only this host's series")
    ak.add_argument("--series", action="append", help="only this series (repeatable); default every series")
    ak.add_argument("--note", default="", help="why (kept with the acknowledgement)")
    ak.set_defaults(func=cmd_acknowledge)
    return ap


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    try:
        return a.func(a)
    except BadInput as e:
        print(f"modebench-report: error: {e}", file=sys.stderr)
        return EXIT_BAD
    except OSError as e:  # an output path that cannot be written
        print(f"modebench-report: error: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD
