#!/usr/bin/env bash
# Promotes a nightly run's results to this host's baseline:
#   ci/promote-baseline.sh results/nightly-20261122-020000 [--baseline results/baselines]
# Copies each variant's process files to <baseline>/<host-key>/<variant>/, replacing
# what was there. The host key comes from the results' context (GPU, driver, CPU, BLAS).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: ci/promote-baseline.sh NIGHTLY_DIR [--baseline DIR]" >&2; exit 2; }
src=$1; shift
root="$here/results/baselines"
if [ "${1-}" = --baseline ]; then root=${2:?--baseline needs a value}; fi
[ -d "$src" ] || { echo "promote: error: no folder $src" >&2; exit 2; }
n=0
for dir in "$src"/*/; do
  name=$(basename "$dir")
  ls "$dir"/process-*.json >/dev/null 2>&1 || continue
  first=$(ls "$dir"/process-*.json | head -1)
  key=$("$here/report/modebench-report" hostkey "$first")
  dest="$root/$key/$name"
  tmp="$dest.tmp$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  cp "$dir"/process-*.json "$tmp"/
  rm -rf "$dest"; mv "$tmp" "$dest"
  echo "promote: $name -> $dest"
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "promote: error: no variant folders with process-*.json in $src" >&2; exit 2; }
