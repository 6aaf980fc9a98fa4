#!/usr/bin/env bash
# Benchmark: csi against pandas/numpy and polars implementations of the same
# index, and against a plain Rust loop that updates the same kind of sums (the
# "floor"), on the example study's structure at larger sizes. Not part of the
# tests or CI. See bench/README.md.
#
#   bash bench/run.sh [RESPONDENTS_PER_WAVE ...]     (default: 100000 1000000)
#   PYTHON=~/.venvs/csi-bench/bin/python bash bench/run.sh 100000
#
# For each size: generates three waves with csi-synth, then times, with wall time
# and peak memory, `csi check` (the engine's streaming pass over every wave),
# `csi build` (check + analyses + site), bench/reference.py (pandas),
# bench/polars_reference.py (polars) and bench/floor (the floor loop). It checks
# that csi, pandas and polars agree on the index of every wave, and pandas and
# polars on the co-moments, then prints one table and the tools' versions.
#
# PYTHON picks the interpreter (default python3). A Python tool whose modules are
# missing is skipped with a note; pandas is not run above 5 000 000 respondents
# in all (it holds every wave in memory).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
PYTHON=${PYTHON:-python3}
PANDAS_MAX=${PANDAS_MAX:-5000000}  # respondents in all; above it pandas is not run
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

# The workspace: csi, csi-synth and the plugins that ship with csi (found beside csi).
cargo build --release --quiet --workspace
cargo build --release --quiet --manifest-path bench/floor/Cargo.toml
csi=target/release/csi
synth=target/release/csi-synth
floor=bench/floor/target/release/floor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have() { "$PYTHON" -c "import $1" 2>/dev/null; }
have_pandas=1 have_polars=1 have_yaml=1
have "pandas, numpy, yaml" || {
  have_pandas=0
  echo "note: $PYTHON lacks pandas, numpy or PyYAML; the pandas reference is skipped"
}
have "polars, numpy, yaml" || {
  have_polars=0
  echo "note: $PYTHON lacks polars, numpy or PyYAML; the polars reference is skipped"
}
have yaml || {
  have_yaml=0
  echo "note: $PYTHON lacks PyYAML, with which the floor loop's column layout is read; the floor loop is skipped"
}

# Runs a command, its output in $work/out; prints "wall_seconds peak_rss_mb".
measure() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    awk '{printf "%s %.0f\n", $1, $2/1024}' "$work/time"
  else
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    end=$(date +%s.%N)
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}') ?"
  fi
}

# Times a tool ($1, then its command) and adds its row to the table.
timed() {
  local tool=$1 t m
  shift
  measure "$@" >"$work/measured" || { echo "error: $tool failed" >&2; exit 1; }
  read -r t m <"$work/measured"
  rows+=("$n $tool $t $m $total")
}

# The index of wave $2 in a reference's output $1 ("wave ID: index X (...)").
index_of() { awk -v w="$2" '$1=="wave" && $2==w":" {print $4}' "$1"; }
# The co-moment checksum of wave $2 ("cross ID: ... covariance checksum X").
cross_of() { awk -v w="$2" '$1=="cross" && $2==w":" {print $NF}' "$1"; }
# Whether $1 and $2 agree to a relative $3, printing "$4: $5 $1, $6 $2, agree".
agree() {
  "$PYTHON" -c "
import sys; a, b, tol = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ok = abs(a - b) <= tol * abs(b)
print(f'  {sys.argv[4]}: {sys.argv[5]} {a:.10g}, {sys.argv[6]} {b:.10g}, {\"agree\" if ok else \"DIFFER\"}')
sys.exit(0 if ok else 1)" "$@"
}

rows=()
stages=()
failed=0
for n in "${sizes[@]}"; do
  study="$work/telecom-$n"
  mkdir -p "$study"
  cp -r reports/telecom/study.yaml reports/telecom/narrative "$study/"
  "$synth" "$study/study.yaml" --respondents "$n" >/dev/null
  total=$((n * 3))
  echo "$n respondents per wave:"
  timed csi-check "$csi" check "$study/study.yaml"
  # --no-cache: every wave computed from its data (kept sums would skip the read)
  timed csi-build "$csi" build -v "$study/study.yaml" --out "$work/site-$n" --no-cache
  # The build's stages, from its -v lines: the statistics pass of every wave (reading
  # and the statistics are one streaming pass, which also feeds the shipped analyses
  # that read rows; every wave's line gives the time of the passes of all waves
  # computed together, so the largest is taken), the other analyses, the site.
  stages+=("$n $(awk '/respondents in [0-9.]+ s/ {for (i = 1; i < NF; i++) if ($i == "in" && $(i + 1) > s) s = $(i + 1)}
    / analyses in [0-9.]+ s/ {for (i = 1; i < NF; i++) if ($i == "in") a += $(i + 1)}
    /site written in/ {for (i = 1; i < NF; i++) if ($i == "in") w += $(i + 1)}
    END {printf "%.2f %.2f %.2f", s, a, w}' "$work/err")")
  waves=$(ls "$work/site-$n/telecom" | grep -E '^[0-9]')
  ours() { "$PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['series'][0]['values'][0]['score']['mean'])" "$work/site-$n/telecom/$1/results.json"; }
  if [ $have_pandas = 1 ] && [ "$total" -le $PANDAS_MAX ]; then
    timed pandas "$PYTHON" bench/reference.py "$study/study.yaml"
    cp "$work/out" "$work/pandas-$n"
    for w in $waves; do
      agree "$(ours "$w")" "$(index_of "$work/pandas-$n" "$w")" 1e-6 "wave $w index" csi pandas || failed=1
    done
  elif [ $have_pandas = 1 ]; then
    rows+=("$n pandas - - $total")
  fi
  if [ $have_polars = 1 ]; then
    timed polars "$PYTHON" bench/polars_reference.py "$study/study.yaml"
    cp "$work/out" "$work/polars-$n"
    for w in $waves; do
      agree "$(ours "$w")" "$(index_of "$work/polars-$n" "$w")" 1e-6 "wave $w index" csi polars || failed=1
      if [ -f "$work/pandas-$n" ]; then
        agree "$(cross_of "$work/pandas-$n" "$w")" "$(cross_of "$work/polars-$n" "$w")" 1e-9 \
          "wave $w co-moment checksum" pandas polars || failed=1
      fi
    done
  fi
  if [ $have_yaml = 1 ]; then
    mapfile -t layout < <("$PYTHON" bench/study_layout.py "$study/study.yaml")
    timed floor "$floor" "${layout[@]}"
    sed -n 's/^floor: /  floor: /p' "$work/out"
  fi
  if [ $have_polars = 1 ]; then
    # The same waves as Parquet (written by polars, its default row groups), read
    # by csi check and by polars' scan_parquet.
    pq="$work/telecom-$n-parquet"
    mkdir -p "$pq/data"
    cp -r "$study/narrative" "$pq/"
    sed 's|data: data/\(wave-[0-9]*\)\.csv|data: data/\1.parquet|' "$study/study.yaml" >"$pq/study.yaml"
    for f in "$study"/data/*.csv; do
      b=$(basename "$f" .csv)
      "$PYTHON" -c "import polars as pl, sys; pl.scan_csv(sys.argv[1], infer_schema_length=10000).sink_parquet(sys.argv[2])" \
        "$f" "$pq/data/$b.parquet"
    done
    timed csi-check-pq "$csi" check "$pq/study.yaml"
    timed polars-pq "$PYTHON" bench/polars_reference.py "$pq/study.yaml"
    for w in $waves; do
      agree "$(ours "$w")" "$(index_of "$work/out" "$w")" 1e-6 "wave $w index (Parquet)" csi polars || failed=1
    done
    rm -rf "$pq"
  fi
  rm -rf "$study" "$work/site-$n" "$work/pandas-$n" "$work/polars-$n"
done

echo
printf "%-10s %-12s %9s %14s %10s %16s\n" "per wave" "tool" "wall s" "respondents/s" "peak MB" "csi check ÷ tool"
for r in "${rows[@]}"; do
  read -r n tool t m total <<<"$r"
  if [ "$t" = - ]; then
    printf "%-10s %-12s %s\n" "$n" "$tool" "not run: memory (over $PANDAS_MAX respondents in all)"
    continue
  fi
  # Tools reading Parquet (-pq) are compared with csi check on the same Parquet files.
  base=csi-check
  case $tool in *-pq) base=csi-check-pq ;; esac
  c=$(printf '%s\n' "${rows[@]}" | awk -v n="$n" -v b="$base" '$1==n && $2==b {print $3}')
  awk -v n="$n" -v tool="$tool" -v t="$t" -v m="$m" -v total="$total" -v c="$c" 'BEGIN {
    printf "%-10s %-12s %9.2f %14.0f %10s %16s\n", n, tool, t, total / t, m, (tool ~ /^csi/ ? "" : sprintf("%.2f", c / t))
  }'
done
echo
echo "csi check ÷ tool: the ratio of wall times (for -pq rows, csi check on the same Parquet files); below 1, csi check is faster than the tool."
echo
printf "%-10s %28s %12s %8s %14s\n" "per wave" "build: statistics pass s" "analyses s" "site s" "build ÷ check"
for st in "${stages[@]}"; do
  read -r n s a w <<<"$st"
  b=$(printf '%s\n' "${rows[@]}" | awk -v n="$n" '$1==n && $2=="csi-build" {print $3}')
  c=$(printf '%s\n' "${rows[@]}" | awk -v n="$n" '$1==n && $2=="csi-check" {print $3}')
  awk -v n="$n" -v s="$s" -v a="$a" -v w="$w" -v b="$b" -v c="$c" 'BEGIN {
    printf "%-10s %28.2f %12.2f %8.2f %14.2f\n", n, s, a, w, b / c
  }'
done
echo "(the statistics pass reads and accumulates in one stream, so reading is not timed apart, and the analyses that read rows (driver, netscore) run beside it, fed by it; the analyses column is the others', and the fed analyses' work after the last pass; the rest of the build's wall time is hashing the data files for provenance, loading plugins and the summary)"
echo "versions:"
tree="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain -- crates plugins Cargo.toml Cargo.lock 2>/dev/null)" ] \
  || tree="$tree with uncommitted changes in crates/, plugins/ or Cargo.*"
echo "  csi: $("$csi" --version 2>/dev/null || echo unknown) ($tree), built with $(rustc --version)"
[ $have_pandas = 0 ] || echo "  pandas reference: $("$PYTHON" bench/reference.py --version | sed 's/^versions: //'), $("$PYTHON" --version 2>&1)"
[ $have_polars = 0 ] || echo "  polars reference: $("$PYTHON" bench/polars_reference.py --version | sed 's/^versions: //'), $("$PYTHON" --version 2>&1)"
[ $have_yaml = 0 ] || echo "  floor: std only, built with $(rustc --version)"
echo "  machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) at the end"
exit $failed
