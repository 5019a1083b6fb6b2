#!/usr/bin/env bash
# Nightly comparison of CUDA toolkits, or of torch builds (and commits) on one GPU box.
#
#   ci/nightly.sh --toolkits "/usr/local/cuda-12.6 /usr/local/cuda-12.8 none" \
#                 --processes 9 --profile quick --out nightly/2026-11-22
#   ci/nightly.sh --torch "/opt/venv-cu126 /opt/venv-cu128" --processes 9
#
# For each toolkit (a CUDA root, or "none" for a CPU-only build) it builds modebench
# in its own folder (one per variant index, so the same toolkit twice is an A/A). With --torch
# the variants are Python environments instead, each with its own torch wheel: modebench is
# built once (on the first --toolkits entry, else the toolkit the build finds) and
# modebench-torch once per environment beside a copy of it; only the torch impls run. It
# runs the suite as K separate processes per variant interleaved
# across variants (A B B A ...) so drift hits all alike, compares every variant with
# the first one and with this host's history (the store's earlier runs of the variant, when it
# holds 5) or else its stored baseline, stores the night's runs, and writes the HTML report,
# summary.md and compare JSON under --out. With --confirm-budget, series that look
# slower but are not confirmed run again as extra processes and are decided again
# (sequential confirmation, alpha split over the looks). Exit 1 on a confirmed regression,
# 2 on bad arguments or results of the simulated device (device=sim), 0 otherwise. A variant
# that fails to build is reported in the summary and the others still run.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'USAGE'
usage: ci/nightly.sh --toolkits "PATH|none ..." | --torch "ENV ..." [--processes K] [--profile quick|full]
                     [--ops a,b] [--modes a,b] [--run-args "..."] [--out DIR] [--baseline DIR]
                     [--confirm-budget SECONDS] [--confirm-processes N] [--builds DIR]
                     [--candidate-env "VAR=VALUE ..."] [--no-report] [--fuzz SECONDS]
  --toolkits   CUDA toolkit roots (e.g. /usr/local/cuda-12.8) or "none" (CPU-only build);
               the same one twice is an A/A (each variant index has its own build folder)
  --torch      Python environments (a venv or prefix with bin/python3, or a python executable),
               each with its own torch wheel: the variants are these torch builds (named
               torch-<version>), on one modebench build of the first --toolkits entry (default:
               the toolkit the build finds); the selection is the torch impls unless --run-args
               names --impls
  --processes  processes per variant (default 7: fewer can never confirm a change
               at p < 0.01 after Benjamini-Hochberg over ~10 series; 9 for ~100). Detection
               needs more on a noisy box: on the 2-core development box ~50 for +10 % in
               90 % of series (README "Nightly"); ci/power_study.py sizes it for a box
  --profile    quick (default) or full
  --ops/--modes  selection passed to modebench run
  --run-args   extra modebench run arguments (e.g. "--cases square_1024 --batches 1,8")
  --out        output folder (default results/nightly-<UTC time>)
  --baseline   baseline root (default results/baselines); compared when this host has one
  --confirm-budget  seconds for sequential confirmation (default 0: none). With a budget,
               the series that compare finds suspicious but not confirmed are re-run as
               extra processes (interleaved across variants) and every comparison decides
               again on all the data. Two looks, each at alpha/2 (Bonferroni over looks).
  --confirm-processes  extra processes per variant at most (default: --processes)
  --builds     folder for the variant builds (default: --out); an up-to-date build is reused
  --candidate-env  environment for every variant but the first, e.g.
               "MODEBENCH_SLOWDOWN=linear/*=0.05" (ci/power_study.py measures detection with it)
  --no-report  skip the HTML report (the comparisons are still written)
  --fuzz       after everything was timed, fuzz every parser for SECONDS per target (ci/fuzz.sh,
               its corpus under --builds/fuzz, growing night after night); a finding exits 1
USAGE
}
die() { echo "nightly: error: $*" >&2; exit 2; }

toolkits="" torch_envs="" processes=7 profile=quick ops="" modes="" run_args="" out="" baseline_root="$here/results/baselines"
confirm_budget=0 confirm_processes="" builds="" candidate_env="" render_report=1 fuzz_seconds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --confirm-budget) confirm_budget=${2-}; shift 2 || die "--confirm-budget needs a value" ;;
    --confirm-processes) confirm_processes=${2-}; shift 2 || die "--confirm-processes needs a value" ;;
    --builds) builds=${2-}; shift 2 || die "--builds needs a value" ;;
    --candidate-env) candidate_env=${2-}; shift 2 || die "--candidate-env needs a value" ;;
    --no-report) render_report=0; shift ;;
    --fuzz) fuzz_seconds=${2-}; shift 2 || die "--fuzz needs a value" ;;
    --toolkits) toolkits=${2-}; shift 2 || die "--toolkits needs a value" ;;
    --torch) torch_envs=${2-}; shift 2 || die "--torch needs a value" ;;
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
[ -n "$toolkits" ] || [ -n "$torch_envs" ] || die "--toolkits is required (CUDA roots or 'none'), or --torch"
[[ "$processes" =~ ^[1-9][0-9]*$ ]] || die "--processes must be a positive integer, got '$processes'"
[[ "$profile" == quick || "$profile" == full ]] || die "--profile must be quick or full, got '$profile'"
[[ "$fuzz_seconds" =~ ^[0-9]+$ ]] || die "--fuzz must be a whole number of seconds, got '$fuzz_seconds'"
[[ "$confirm_budget" =~ ^[0-9]+$ ]] || die "--confirm-budget must be a whole number of seconds, got '$confirm_budget'"
confirm_processes=${confirm_processes:-$processes}
[[ "$confirm_processes" =~ ^[1-9][0-9]*$ ]] || die "--confirm-processes must be a positive integer, got '$confirm_processes'"
read -ra candidate_assignments <<<"$candidate_env"
for kv in "${candidate_assignments[@]}"; do
  [[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--candidate-env takes VAR=VALUE words, got '$kv'"
done
out=${out:-"$here/results/nightly-$(date -u +%Y%m%d-%H%M%S)"}
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
builds=${builds:-$out}
mkdir -p "$builds" || die "cannot create $builds"
builds=$(cd "$builds" && pwd)
# Sequential confirmation: planned looks, fixed before any data (the alpha split rests on it).
looks=1
[ "$confirm_budget" -gt 0 ] && looks=2

# Variant name from a toolkit root: "cuda-12.8" from its nvcc version, or "cpu-only"; "auto" is
# whatever toolkit the build finds.
variant_name() {
  local tk=$1
  if [ "$tk" = none ]; then echo cpu-only; return; fi
  if [ "$tk" = auto ]; then echo default-toolkit; return; fi
  local v
  v=$("$tk/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  echo "cuda-${v:-unknown-$(basename "$tk")}"
}

# The configure arguments of a toolkit (see variant_name).
toolkit_args() {
  case $1 in
    none) echo -DMODEBENCH_CUDA=OFF ;;
    auto) ;;
    *) echo -DMODEBENCH_CUDA=ON "-DCMAKE_CUDA_COMPILER=$1/bin/nvcc" "-DCUDAToolkit_ROOT=$1" ;;
  esac
}

# The Python of a torch environment: ENV itself when it is an executable, else ENV/bin/python3.
env_python() {
  if [ -f "$1" ] && [ -x "$1" ]; then echo "$1"; return; fi
  for p in "$1/bin/python3" "$1/bin/python"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  return 1
}

# Variant name of a torch environment: "torch-2.5.1+cu124" from its torch.__version__.
torch_variant_name() {
  local py v=""
  py=$(env_python "$1") && v=$("$py" -c "import torch; print(torch.__version__)" 2>/dev/null | tail -1)
  echo "torch-${v:-unknown-$(basename "$1")}"
}

summary="$out/summary.md"
log() { echo "$*" | tee -a "$summary"; }
: >"$summary"
log "# modebench nightly $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log ""
log "commit $(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown), profile $profile, $processes processes per variant"
[ ${#candidate_assignments[@]} -gt 0 ] && log "" && log "Environment of every variant but the first: ${candidate_assignments[*]}"
log ""

# 1. Build every variant in its own folder, one per variant index: the same toolkit twice
#    (an A/A) gives two builds and two result folders (the second named <name>.2).
variants=() binaries=() index=0
unique_name() {  # unique_name NAME: NAME, or NAME.<index> when an earlier variant has it
  local name=$1
  for seen in "${variants[@]}"; do
    [ "$seen" = "$name" ] && name="$name.$index"
  done
  echo "$name"
}
configure_args=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF)
if [ -z "$torch_envs" ]; then
  for tk in $toolkits; do
    index=$((index + 1))
    name=$(unique_name "$(variant_name "$tk")")
    build="$builds/build-$index-$name"
    # shellcheck disable=SC2207
    args=("${configure_args[@]}" $(toolkit_args "$tk") -DMODEBENCH_TORCH=OFF)
    echo "nightly: building $name ($tk)"
    if cmake -S "$here" -B "$build" "${args[@]}" >"$out/build-$name.log" 2>&1 &&
       cmake --build "$build" --target modebench --parallel "$(nproc)" >>"$out/build-$name.log" 2>&1; then
      variants+=("$name"); binaries+=("$build/modebench")
      log "- $name: built ($tk)"
    else
      log "- **$name: build FAILED** ($tk), see build-$name.log; the other variants still run"
    fi
  done
else
  # Torch builds: modebench once, then per environment modebench-torch (the nested build of
  # cmake/ModebenchTorch.cmake, against that environment's wheel) beside a copy of it.
  read -ra tks <<<"$toolkits"
  base_tk=${tks[0]:-auto}
  base_name=$(variant_name "$base_tk")
  base="$builds/build-base-$base_name"
  # shellcheck disable=SC2207
  tk_args=($(toolkit_args "$base_tk"))
  echo "nightly: building modebench ($base_name) for the torch variants"
  if ! { cmake -S "$here" -B "$base" "${configure_args[@]}" "${tk_args[@]}" -DMODEBENCH_TORCH=OFF &&
         cmake --build "$base" --target modebench --parallel "$(nproc)"; } >"$out/build-base.log" 2>&1; then
    log "- **modebench ($base_name): build FAILED**, see build-base.log"; log ""; log "No variant built: nothing to run."
    exit 1
  fi
  log "Torch builds on modebench built with $base_name ($base_tk)"
  log ""
  for env in $torch_envs; do
    index=$((index + 1))
    name=$(unique_name "$(torch_variant_name "$env")")
    build="$builds/build-$index-$name"
    echo "nightly: building $name ($env)"
    if py=$(env_python "$env") &&
       { cmake -S "$here" -B "$build" "${configure_args[@]}" "${tk_args[@]}" -DMODEBENCH_TORCH=ON \
               "-DMODEBENCH_TORCH_PYTHON=$py" &&
         cmake --build "$build" --target modebench_torch_child --parallel "$(nproc)" &&
         cp "$base/modebench" "$build/modebench"; } >"$out/build-$name.log" 2>&1; then
      variants+=("$name"); binaries+=("$build/modebench")
      log "- $name: built ($env)"
    else
      log "- **$name: build FAILED** ($env: no Python there, no torch in it, or see build-$name.log); the other variants still run"
    fi
  done
fi
[ ${#variants[@]} -gt 0 ] || { log ""; log "No variant built: nothing to run."; exit 1; }

# 2. K processes per variant, interleaved A B B A ... so slow drift hits every variant alike.
selection=(--profile "$profile")
[ -n "$ops" ] && selection+=(--ops "$ops")
[ -n "$modes" ] && selection+=(--modes "$modes")
# shellcheck disable=SC2206
[ -n "$run_args" ] && selection+=($run_args)
# Torch builds differ in the torch impls only: those run (whichever the selection has).
if [ -n "$torch_envs" ] && [[ " $run_args " != *" --impls"* ]]; then
  torch_impls=$("${binaries[0]}" list "${selection[@]}" 2>/dev/null | sed -n 's|.*/impl:\(torch[a-z_]*\)/.*|\1|p' | sort -u | paste -sd, -)
  [ -n "$torch_impls" ] || { log ""; log "The selection has no torch impl: nothing to compare."; exit 1; }
  selection+=(--impls "$torch_impls")
  log ""
  log "Torch impls run: $torch_impls"
fi
run_failed=()
# A variant whose environment had one more variable (the power study's injector) ran
# OpenBLAS's sgemv at B = 1 7-12 % slower in 4 of 5 runs; the likely cause is the known one,
# the environment's size moving the initial stack and the alignment of stack buffers. Every
# process gets a pad of random length, so layout luck is noise both sides share, not a bias
# of one of them (it cut that bias to 1 run in 4, not to none: README "Nightly").
env_pad() { head -c $((RANDOM % 4096)) /dev/zero | tr '\0' x; }
run_variant() {  # run_variant INDEX OUTFILE [extra run args]: one process of one variant
  local i=$1 file=$2 name=${variants[$1]}
  shift 2
  local envs=("MODEBENCH_ENV_PAD=$(env_pad)")
  [ "$i" -gt 0 ] && envs+=("${candidate_assignments[@]}")
  mkdir -p "$out/$name"
  if ! env "${envs[@]}" "${binaries[$i]}" run "${selection[@]}" "$@" --out "$out/$name/$file" >>"$out/run-$name.log" 2>&1; then
    run_failed+=("$name:$file")
  fi
}
interleaved() {  # interleaved ROUND: the variant indices in this round's order (reversed every other round)
  if (($1 % 2 == 0)); then printf '%s\n' "${!variants[@]}" | sort -rn; else printf '%s\n' "${!variants[@]}"; fi
}
for ((r = 1; r <= processes; r++)); do
  for i in $(interleaved "$r"); do
    echo "nightly: ${variants[$i]} process $r/$processes"
    run_variant "$i" "process-$r.json"
  done
done
log ""
if [ ${#run_failed[@]} -gt 0 ]; then
  log "Runs that exited non-zero (wrong results or harness errors): ${run_failed[*]} (see run-*.log)"
fi

report=("$here/report/modebench-report")
status=0
comparisons=()  # "BASE CAND LABEL" per comparison, in the order they are logged
compare() {  # compare BASE CAND LABEL LOOK: writes compare-LABEL[.lookN].{md,json}; sets $rc
  local base=$1 cand=$2 label=$3 look=$4 stem="$out/compare-$3"
  local flags=(--looks "$looks" --look "$look" --suspicious-out "$out/suspicious-$label.args")
  if [ "$look" -lt "$looks" ]; then stem="$stem.look$look"; fi
  if [ "$look" -gt 1 ]; then flags+=(--previous "$out/compare-$label.look$((look - 1)).json"); fi
  local sides=("$base" "$cand")
  [ "$base" = history ] && sides=(--history "$cand")  # the store's earlier runs are the baseline
  "${report[@]}" compare "${flags[@]}" "${sides[@]}" --md "$stem.md" --json "$stem.json" >/dev/null 2>"$out/compare-$label.err"
  rc=$?
}
log_comparison() {  # log_comparison LABEL: the final look's outcome
  local label=$1
  case $rc in
    0) log "- $label: no regression ([details](compare-$label.md))" ;;
    1) log "- **$label: REGRESSION** ([details](compare-$label.md))"; status=1 ;;
    *) log "- $label: compare could not run ($(head -1 "$out/compare-$label.err"))" ;;
  esac
}

# 3. Every variant against the first (a plain compare: one host, so the same toolkit twice,
#    an A/A, compares too), then against this host's baseline.
for ((i = 1; i < ${#variants[@]}; i++)); do
  comparisons+=("$out/${variants[0]}|$out/${variants[$i]}|${variants[0]}-vs-${variants[$i]}")
done
baseline_notes=()
for name in "${variants[@]}"; do
  first=$(ls "$out/$name"/*.json 2>/dev/null | head -1)
  if [ -z "$first" ]; then baseline_notes+=("- $name: no results"); continue; fi
  key=$("${report[@]}" hostkey "$first" 2>"$out/hostkey-$name.err") || key=""
  # A simulated device's run (device=sim, a -DMODEBENCH_CUDA=SIM build) holds no GPU timing:
  # nothing of it is compared (compare refuses it too) and this night is bad input.
  if grep -q '(device=sim)' "$out/hostkey-$name.err"; then
    log ""; log "$name: $(head -1 "$out/hostkey-$name.err")"
    die "$name: results of the simulated device (device=sim): its timings are not GPU timings; nothing compared"
  fi
  if [ -z "$key" ]; then baseline_notes+=("- $name: cannot form the host key"); continue; fi
  # History first: with enough earlier runs of this host and variant in the store (compare
  # --history: 5), they are the baseline distribution; else the promoted baseline files.
  "${report[@]}" compare --history "$out/$name" --json "$out/history-check-$name.json" >/dev/null 2>"$out/history-check-$name.err"
  if [ $? -ne 2 ]; then
    comparisons+=("history|$out/$name|history-vs-$name")
    continue
  fi
  baseline_notes+=("- $name: history not used ($(head -1 "$out/history-check-$name.err" | sed 's/^modebench-report: error: //'))")
  base="$baseline_root/$key/$name"
  if [ -d "$base" ] && ls "$base"/*.json >/dev/null 2>&1; then
    comparisons+=("$base|$out/$name|baseline-vs-$name")
  else
    baseline_notes+=("- $name: no baseline for host \`$key\` yet (promote with: ci/promote-baseline.sh $out)")
  fi
done

# 3a. Sequential confirmation: look 1 marks suspicious series; they run again as extra
#     processes of every variant, interleaved, while the budget lasts; look 2 decides on all.
if [ "$looks" -gt 1 ]; then
  rerun_prefix='--benchmark_filter=^(' rerun_suffix=')(/[a-z_]+)?$'
  alternatives=()
  for c in "${comparisons[@]}"; do
    IFS='|' read -r base cand label <<<"$c"
    compare "$base" "$cand" "$label" 1
    [ $rc -eq 1 ] && status=1
    # compare writes PREFIX name|name|... SUFFIX (compare.py RERUN_PREFIX, RERUN_SUFFIX),
    # or an empty line: collect the names.
    line=$(cat "$out/suspicious-$label.args" 2>/dev/null)
    names=${line#"$rerun_prefix"}
    names=${names%"$rerun_suffix"}
    [ -n "$line" ] && [ "$names" != "$line" ] && alternatives+=("$names")
  done
  log ""
  log "## Sequential confirmation"
  if [ ${#alternatives[@]} -eq 0 ]; then
    log "- look 1 found no suspicious series; nothing re-run"
  else
    # The union over comparisons, each series once (names hold no '|').
    names=$(printf '%s\n' "${alternatives[@]}" | tr '|' '\n' | sort -u)
    n_series=$(printf '%s\n' "$names" | wc -l)
    filter="$rerun_prefix$(printf '%s\n' "$names" | paste -sd '|')$rerun_suffix"
    started=$SECONDS round_s=0 extra=0
    for ((r = 1; r <= confirm_processes; r++)); do
      # Start a round only if one more (as long as the last) fits in the budget.
      if (( SECONDS - started + round_s > confirm_budget )); then break; fi
      t0=$SECONDS
      for i in $(interleaved "$r"); do
        echo "nightly: confirmation ${variants[$i]} process $r/$confirm_processes"
        run_variant "$i" "process-c$r.json" "$filter"
      done
      round_s=$((SECONDS - t0)) extra=$r
    done
    log "- $n_series suspicious series re-run as $extra extra process(es) per variant in $((SECONDS - started)) s (budget ${confirm_budget} s)"
  fi
  log "- every look tests at alpha/$looks (Bonferroni over the $looks planned looks); an alert of look 1 stands"
fi

log ""
log "## Variants against ${variants[0]}"
if [ ${#variants[@]} -eq 1 ]; then log "- only one variant built"; fi
for c in "${comparisons[@]}"; do
  IFS='|' read -r base cand label <<<"$c"
  case $label in baseline-vs-* | history-vs-*) continue ;; esac
  compare "$base" "$cand" "$label" "$looks"
  log_comparison "$label"
done
log ""
log "## Against history (the store's earlier runs) or the stored baseline"
for line in "${baseline_notes[@]}"; do log "$line"; done
for c in "${comparisons[@]}"; do
  IFS='|' read -r base cand label <<<"$c"
  case $label in baseline-vs-* | history-vs-*) ;; *) continue ;; esac
  compare "$base" "$cand" "$label" "$looks"
  log_comparison "$label"
done

# 3b. Every variant's run remembered: into $MODEBENCH_HISTORY_DB, else results/history.sqlite.
log ""
log "## History store"
for name in "${variants[@]}"; do
  if ! ls "$out/$name"/*.json >/dev/null 2>&1; then continue; fi
  if "${report[@]}" ingest "$out/$name" >"$out/ingest-$name.log" 2>&1; then
    log "- $name: $(tail -1 "$out/ingest-$name.log" | sed 's/^modebench-report: //')"
  else
    log "- **$name: not stored**: $(tail -1 "$out/ingest-$name.log" | sed 's/^modebench-report: //')"
  fi
done

# 4. One report over all variants, side by side.
dirs=()
for name in "${variants[@]}"; do dirs+=("$out/$name"); done
if [ "$render_report" = 0 ]; then
  log ""; log "Report: not rendered (--no-report)"
elif "${report[@]}" render "${dirs[@]}" --out "$out/report" >"$out/render.log" 2>&1; then
  log ""; log "Report: report/index.html"
else
  log ""; log "Report could not be rendered: $(tail -1 "$out/render.log")"
fi

# 5. The parsers fuzzed (--fuzz), last: nothing else runs while the suite is timed.
if [ "$fuzz_seconds" -gt 0 ]; then
  log ""
  log "## Fuzzing ($fuzz_seconds s per parser)"
  if MODEBENCH_FUZZ_SECONDS=$fuzz_seconds MODEBENCH_FUZZ_DIR="$builds/fuzz" bash "$here/ci/fuzz.sh" >"$out/fuzz.log" 2>&1; then
    log "- no crash, sanitizer report or disagreement ([log](fuzz.log))"
  else
    log "- **FUZZING FAILED** (see fuzz.log; the inputs are in $builds/fuzz/crashes/)"
    status=1
  fi
  grep '^fuzz: ' "$out/fuzz.log" | sed 's/^fuzz: /    /' >>"$summary"
fi
echo "nightly: summary in $summary"
exit $status
