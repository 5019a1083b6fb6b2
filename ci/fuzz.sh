#!/usr/bin/env bash
# Fuzzes every parser of outside input for a bounded time (issue 23), seeded from real files:
#   policy_cpp  include/modebench/policy.hpp           libFuzzer, ASan + UBSan   tests/fuzz/policy_fuzz.cpp
#   binary      probe --binary's ELF/fatbin reader     libFuzzer, ASan + UBSan   tests/fuzz/binary_fuzz.cpp
#   policy_py   python/modebench_policy's reader       atheris (libFuzzer)       tests/fuzz/policy_fuzz.py
#   report      report/modebench_report/load.py        atheris (libFuzzer)       tests/fuzz/report_fuzz.py
# then replays the C++ policy corpus through both policy readers (tests/fuzz/policy_differential.py:
# the same outcome and decisions on every input). Prints one line of figures per target (inputs
# tried, seconds, coverage: edges and features as libFuzzer counts them, corpus size) and exits 1 on
# any crash, sanitizer report, broken property or disagreement (the input is kept under
# $MODEBENCH_FUZZ_DIR/crashes/), 2 on bad arguments.
#
#   bash ci/fuzz.sh                              # 30 s per target (ci/test.sh)
#   MODEBENCH_FUZZ_SECONDS=600 bash ci/fuzz.sh   # a longer run; the corpus folder grows across runs
#
# The C++ targets are built with clang (clang-14 and libclang-rt-14-dev: ci/setup.sh) from the parser
# sources only, in their own folder (MODEBENCH_FUZZ_DIR, default build-fuzz/), never the main build.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
seconds=${MODEBENCH_FUZZ_SECONDS:-30}
dir=${MODEBENCH_FUZZ_DIR:-build-fuzz}
jobs=${MODEBENCH_FUZZ_JOBS:-$(nproc)}
targets=${MODEBENCH_FUZZ_TARGETS:-policy_cpp binary policy_py report}
die() { echo "fuzz: error: $*" >&2; exit 2; }
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "MODEBENCH_FUZZ_SECONDS must be a positive whole number, got '$seconds'"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "MODEBENCH_FUZZ_JOBS must be a positive whole number, got '$jobs'"
for t in $targets; do
  case $t in policy_cpp | binary | policy_py | report) ;; *) die "unknown target '$t' in MODEBENCH_FUZZ_TARGETS" ;; esac
done
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)

# ---- build: the parser sources only, -O1 with both sanitizers; ccache when there is one
cxx=${MODEBENCH_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++)} || die "no clang++ (ci/setup.sh installs clang-14)"
launcher=()
command -v ccache >/dev/null && launcher=(ccache)
# shellcheck disable=SC2054  # (commas inside one flag)
flags=(-std=c++20 -O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -I"$here")
build() {  # build NAME SOURCE...: objects in $dir/obj, the target in $dir/NAME
  local name=$1 objs=() src obj
  shift
  mkdir -p "$dir/obj"
  for src in "$@"; do
    obj="$dir/obj/$(echo "$src" | tr / _).o"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find include probe cuda_rules -name '*.hpp' -newer "$obj" 2>/dev/null | head -1)" ]; then
      "${launcher[@]}" "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || return 1
    fi
    objs+=("$obj")
  done
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "${objs[@]}" -pthread -o "$dir/$name"
}
t0=$SECONDS
# The two C++ targets build side by side (policy_fuzz is one large translation unit).
pids=()
case " $targets " in *" policy_cpp "*)
  build policy_fuzz tests/fuzz/policy_fuzz.cpp &
  pids+=($!) ;;
esac
case " $targets " in *" binary "*)
  build binary_fuzz tests/fuzz/binary_fuzz.cpp probe/binary/file.cpp probe/binary/elf.cpp probe/binary/fatbin.cpp \
    probe/binary/scan.cpp probe/binary/verdict.cpp cuda_rules/arch.cpp &
  pids+=($!) ;;
esac
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "fuzz: building the C++ targets failed" >&2; exit 1; }
done
case " $targets " in *" policy_py "* | *" report "*)
  python3 -c "import atheris" 2>/dev/null || die "atheris is not installed (ci/setup.sh installs it from ci/requirements-test.txt)" ;;
esac
echo "fuzz: built in $((SECONDS - t0)) s"

# ---- seeds: real files, copied afresh each run (the corpus folder keeps what the fuzzer found)
seeds=$dir/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{policy,binary,report}
cp tests/vectors/policy_synthetic_v*.json tests/vectors/policy_hostile/*.json "$seeds/policy/"
cp tests/fuzz/seeds/binary/*.o tests/fuzz/seeds/binary/*.so "$seeds/binary/"
# The build's own CUDA objects, when there are any (a CUDA build) small enough not to be cut: more real fatbins.
find "${BUILD_DIR:-build}" -name '*.cu.o' -size -64k 2>/dev/null | head -8 | while read -r f; do cp "$f" "$seeds/binary/"; done
mapfile -t results < <(find report/tests/fixtures results -name '*.json' 2>/dev/null | sort | head -64)  # enough kinds, bounded time
python3 tests/fuzz/report_seeds.py "$seeds/report" "${results[@]}" || die "cannot write the report's seeds"

# ---- run: each target for $seconds, $jobs at a time
# target -> command, seed folder, dictionary, longest input
declare -A cmd=([policy_cpp]="$dir/policy_fuzz" [binary]="$dir/binary_fuzz"
  [policy_py]="python3 tests/fuzz/policy_fuzz.py" [report]="python3 tests/fuzz/report_fuzz.py")
declare -A seed=([policy_cpp]=policy [binary]=binary [policy_py]=policy [report]=report)
declare -A dict=([policy_cpp]=tests/fuzz/policy.dict [policy_py]=tests/fuzz/policy.dict)
declare -A max_len=([policy_cpp]=16384 [binary]=65536 [policy_py]=16384 [report]=16384)
run_one() {
  local t=$1 extra=()
  mkdir -p "$dir/corpus/$t" "$dir/crashes"
  [ -n "${dict[$t]:-}" ] && extra+=("-dict=${dict[$t]}")
  # shellcheck disable=SC2086
  ${cmd[$t]} -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" "${extra[@]}" \
    "$dir/corpus/$t" "$seeds/${seed[$t]}" >"$dir/$t.log" 2>&1
  echo $? >"$dir/$t.rc"
}
running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ---- figures, and the verdict
status=0
printf 'fuzz: %-10s %10s %6s %7s %8s %7s  %s\n' target inputs s cov ft corpus result
for t in $targets; do
  log=$dir/$t.log rc=$(cat "$dir/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
  # The last status line: "#123 ... cov: 456 ft: 789 corp: 12/3456b ..."
  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")  # stopped early: the last count
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  result=ok
  if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|_fuzz: |Traceback' "$log"; then
    result="FAILED (exit $rc; $log)"
    status=1
  fi
  printf 'fuzz: %-10s %10s %6s %7s %8s %7s  %s\n' "$t" "${runs:-?}" "${secs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
  if [ "$result" != ok ]; then
    grep -E 'ERROR|runtime error|SUMMARY|_fuzz: |Uncaught|^[A-Za-z]*(Error|Exception)\b|Test unit written' "$log" | head -20 |
      sed 's/^/fuzz:   /'
  fi
done

# ---- the two policy readers on every input the C++ fuzzer kept, and the seeds
case " $targets " in *" policy_cpp "*)
  decisions=$dir/policy_decisions.jsonl
  rm -f "$decisions"
  if MODEBENCH_FUZZ_DECISIONS=$decisions "$dir/policy_fuzz" -runs=0 -max_len=16384 -artifact_prefix="$dir/crashes/policy_replay-" "$dir/corpus/policy_cpp" \
      "$seeds/policy" >"$dir/policy_replay.log" 2>&1 &&
    python3 tests/fuzz/policy_differential.py "$decisions" "$dir/corpus/policy_cpp" "$seeds/policy"; then
    :
  else
    echo "fuzz: the two policy readers disagree, or the replay failed ($dir/policy_replay.log)" >&2
    status=1
  fi ;;
esac
echo "fuzz: done in $((SECONDS - t0)) s"
exit $status
