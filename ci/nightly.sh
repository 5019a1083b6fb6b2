#!/usr/bin/env bash
# Nightly comparison of CUDA toolkits (and commits) on one GPU box.
#
#   ci/nightly.sh --toolkits "/usr/local/cuda-12.6 /usr/local/cuda-12.8 none" \
#                 --processes 9 --profile quick --out nightly/2026-11-22
#
# For each toolkit (a CUDA root, or "none" for a CPU-only build) it builds modebench
# in its own folder, runs the suite as K separate processes per variant interleaved
# across variants (A B B A ...) so drift hits all alike, compares every variant with
# the first one and with this host's stored baseline, and writes the HTML report,
# summary.md and compare JSON under --out. Exit 1 on a confirmed regression,
# 2 on bad arguments, 0 otherwise. A variant that fails to build is reported in the
# summary and the others still run.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'USAGE'
usage: ci/nightly.sh --toolkits "PATH|none ..." [--processes K] [--profile quick|full]
                     [--ops a,b] [--modes a,b] [--run-args "..."] [--out DIR] [--baseline DIR]
  --toolkits   CUDA toolkit roots (e.g. /usr/local/cuda-12.8) or "none" (CPU-only build)
  --processes  processes per variant (default 7: fewer can never confirm a change
               at p < 0.01 after Benjamini-Hochberg over ~10 series; 9 for ~100)
  --profile    quick (default) or full
  --ops/--modes  selection passed to modebench run
  --run-args   extra modebench run arguments (e.g. "--cases square_1024 --batches 1,8")
  --out        output folder (default results/nightly-<UTC time>)
  --baseline   baseline root (default results/baselines); compared when this host has one
USAGE
}
die() { echo "nightly: error: $*" >&2; exit 2; }

toolkits="" processes=7 profile=quick ops="" modes="" run_args="" out="" baseline_root="$here/results/baselines"
while [ $# -gt 0 ]; do
  case "$1" in
    --toolkits) toolkits=${2-}; shift 2 || die "--toolkits needs a value" ;;
    --processes) processes=${2-}; shift 2 || die "--processes needs a value" ;;
    --profile) profile=${2-}; shift 2 || die "--profile needs a value" ;;
    --ops) ops=${2-}; shift 2 || die "--ops needs a value" ;;
    --modes) modes=${2-}; shift 2 || die "--modes needs a value" ;;
    --run-args) run_args=${2-}; shift 2 || die "--run-args needs a value" ;;
    --out) out=${2-}; shift 2 || die "--out needs a value" ;;
    --baseline) baseline_root=${2-}; shift 2 || die "--baseline needs a value" ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[ -n "$toolkits" ] || die "--toolkits is required (CUDA roots or 'none')"
[[ "$processes" =~ ^[1-9][0-9]*$ ]] || die "--processes must be a positive integer, got '$processes'"
[[ "$profile" == quick || "$profile" == full ]] || die "--profile must be quick or full, got '$profile'"
out=${out:-"$here/results/nightly-$(date -u +%Y%m%d-%H%M%S)"}
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)

# Variant name from a toolkit root: "cuda-12.8" from its nvcc version, or "cpu-only".
variant_name() {
  local tk=$1
  if [ "$tk" = none ]; then echo cpu-only; return; fi
  local v
  v=$("$tk/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  echo "cuda-${v:-unknown-$(basename "$tk")}"
}

summary="$out/summary.md"
log() { echo "$*" | tee -a "$summary"; }
: >"$summary"
log "# modebench nightly $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log ""
log "commit $(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown), profile $profile, $processes processes per variant"
log ""

# 1. Build every variant in its own folder.
variants=() binaries=()
for tk in $toolkits; do
  name=$(variant_name "$tk")
  build="$out/build-$name"
  args=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF)
  if [ "$tk" = none ]; then
    args+=(-DMODEBENCH_CUDA=OFF)
  else
    args+=(-DMODEBENCH_CUDA=ON -DCMAKE_CUDA_COMPILER="$tk/bin/nvcc" -DCUDAToolkit_ROOT="$tk")
  fi
  echo "nightly: building $name ($tk)"
  if cmake -S "$here" -B "$build" "${args[@]}" >"$out/build-$name.log" 2>&1 &&
     cmake --build "$build" --target modebench --parallel "$(nproc)" >>"$out/build-$name.log" 2>&1; then
    variants+=("$name"); binaries+=("$build/modebench")
    log "- $name: built ($tk)"
  else
    log "- **$name: build FAILED** ($tk), see build-$name.log; the other variants still run"
  fi
done
[ ${#variants[@]} -gt 0 ] || { log ""; log "No variant built: nothing to run."; exit 1; }

# 2. K processes per variant, interleaved A B B A ... so slow drift hits every variant alike.
selection=(--profile "$profile")
[ -n "$ops" ] && selection+=(--ops "$ops")
[ -n "$modes" ] && selection+=(--modes "$modes")
# shellcheck disable=SC2206
[ -n "$run_args" ] && selection+=($run_args)
run_failed=()
for ((r = 1; r <= processes; r++)); do
  order=("${!variants[@]}")
  if ((r % 2 == 0)); then order=($(printf '%s\n' "${order[@]}" | sort -rn)); fi
  for i in "${order[@]}"; do
    name=${variants[$i]}
    mkdir -p "$out/$name"
    echo "nightly: $name process $r/$processes"
    if ! "${binaries[$i]}" run "${selection[@]}" --out "$out/$name/process-$r.json" >>"$out/run-$name.log" 2>&1; then
      run_failed+=("$name#$r")
    fi
  done
done
log ""
if [ ${#run_failed[@]} -gt 0 ]; then
  log "Runs that exited non-zero (wrong results or harness errors): ${run_failed[*]} (see run-*.log)"
fi

report=("$here/report/modebench-report")
status=0
compare() {  # compare BASE CAND LABEL [extra compare flags]
  local base=$1 cand=$2 label=$3 rc
  shift 3
  "${report[@]}" compare "$@" "$base" "$cand" --md "$out/compare-$label.md" --json "$out/compare-$label.json" \
    >/dev/null 2>"$out/compare-$label.err"
  rc=$?
  case $rc in
    0) log "- $label: no regression ([details](compare-$label.md))" ;;
    1) log "- **$label: REGRESSION** ([details](compare-$label.md))"; status=1 ;;
    *) log "- $label: compare could not run ($(head -1 "$out/compare-$label.err"))" ;;
  esac
}

# 3. Every variant against the first, then against this host's baseline.
log ""
log "## Toolkits against ${variants[0]}"
if [ ${#variants[@]} -eq 1 ]; then log "- only one variant built"; fi
for ((i = 1; i < ${#variants[@]}; i++)); do
  # Same host, same commit, two toolkits: the report's toolkit view pairs them.
  compare "$out/${variants[0]}" "$out/${variants[$i]}" "${variants[0]}-vs-${variants[$i]}" --toolkit-view
done

log ""
log "## Against the stored baseline"
for name in "${variants[@]}"; do
  first=$(ls "$out/$name"/*.json 2>/dev/null | head -1)
  if [ -z "$first" ]; then log "- $name: no results"; continue; fi
  key=$("${report[@]}" hostkey "$first" 2>/dev/null) || key=""
  if [ -z "$key" ]; then log "- $name: cannot form the host key"; continue; fi
  base="$baseline_root/$key/$name"
  if [ -d "$base" ] && ls "$base"/*.json >/dev/null 2>&1; then
    compare "$base" "$out/$name" "baseline-vs-$name"
  else
    log "- $name: no baseline for host \`$key\` yet (promote with: ci/promote-baseline.sh $out)"
  fi
done

# 4. One report over all variants, side by side.
dirs=()
for name in "${variants[@]}"; do dirs+=("$out/$name"); done
if "${report[@]}" render "${dirs[@]}" --out "$out/report" >"$out/render.log" 2>&1; then
  log ""; log "Report: report/index.html"
else
  log ""; log "Report could not be rendered: $(tail -1 "$out/render.log")"
fi
echo "nightly: summary in $summary"
exit $status
