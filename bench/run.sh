#!/usr/bin/env bash
# Benchmark: csi against a pandas/numpy implementation of the same index, on the
# example study's structure at larger sizes. Not part of the tests or CI.
#
#   bash bench/run.sh [RESPONDENTS_PER_WAVE ...]     (default: 100000 1000000)
#
# For each size: generates three waves with csi-synth, times `csi check` (the
# engine's streaming pass over every wave), `csi build` (check + analyses + site)
# and bench/reference.py (pandas), with wall time and peak memory, and checks that
# csi and pandas agree on the index of every wave.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

cargo build --release --quiet -p csi-cli -p csi-synth
csi=target/release/csi
synth=target/release/csi-synth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_python=1
python3 -c "import pandas, numpy, yaml" 2>/dev/null || {
  have_python=0
  echo "note: python3 with pandas, numpy and PyYAML not found; the Python reference is skipped"
}

# Runs a command, prints "wall_seconds peak_rss_mb".
measure() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    awk '{printf "%s %.0f\n", $1, $2/1024}' "$work/time"
  else
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) ?"
  fi
}

rows=()
for n in "${sizes[@]}"; do
  study="$work/telecom-$n"
  mkdir -p "$study"
  cp -r reports/telecom/study.yaml reports/telecom/narrative "$study/"
  "$synth" "$study/study.yaml" --respondents "$n" >/dev/null
  total=$((n * 3))
  read -r t_check m_check < <(measure "$csi" check "$study/study.yaml")
  read -r t_build m_build < <(measure "$csi" build "$study/study.yaml" --out "$work/site-$n")
  rows+=("$n csi-check $t_check $m_check $total")
  rows+=("$n csi-build $t_build $m_build $total")
  if [ $have_python = 1 ]; then
    read -r t_py m_py < <(measure python3 bench/reference.py "$study/study.yaml")
    cp "$work/out" "$work/py-$n"
    rows+=("$n pandas $t_py $m_py $total")
    # Same index, wave by wave.
    for w in $(ls "$work/site-$n/telecom" | grep -E '^[0-9]'); do
      ours=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['series'][0]['values'][0]['score']['mean'])" "$work/site-$n/telecom/$w/results.json")
      theirs=$(awk -v w="$w" '$1=="wave" && $2==w":" {print $4}' "$work/py-$n")
      python3 -c "
import sys; a, b = float(sys.argv[1]), float(sys.argv[2])
assert abs(a - b) <= 1e-6 * abs(b), (a, b)
print(f'  wave {sys.argv[3]}: csi {a:.8f}  pandas {b:.8f}  agree')" "$ours" "$theirs" "$w"
    done
  fi
  rm -rf "$study" "$work/site-$n"
done

echo
printf "%-10s %-10s %9s %14s %10s\n" "per wave" "tool" "wall s" "respondents/s" "peak MB"
for r in "${rows[@]}"; do
  read -r n tool t m total <<<"$r"
  printf "%-10s %-10s %9.2f %14.0f %10s\n" "$n" "$tool" "$t" "$(echo "$total / $t" | bc -l)" "$m"
done
if [ $have_python = 1 ]; then
  echo
  for n in "${sizes[@]}"; do
    c=$(printf '%s\n' "${rows[@]}" | awk -v n="$n" '$1==n && $2=="csi-check" {print $3}')
    p=$(printf '%s\n' "${rows[@]}" | awk -v n="$n" '$1==n && $2=="pandas" {print $3}')
    echo "$n per wave: csi check is $(echo "scale=1; $p / $c" | bc)x faster than pandas"
  done
fi
