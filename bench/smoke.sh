#!/bin/sh
# smoke.sh: the bench_smoke ctest entry: asserts no timing; checks only that ember-bench
# (every query, the CLI runs, the limits) and the Q1 baseline run to exit status 0 on a tiny file.
# Usage: smoke.sh BUILD_DIR WORK_DIR
set -eu
build=$1
work=$2
mkdir -p "$work"
"$build/ember_gen" --rows 2000 --output "$work/sales.csv"
"$build/ember_gen" --rows 2000 --skew 1.1 --output "$work/sales_zipf.csv"
"$build/ember-bench" --trials 1 --zipf "$work/sales_zipf.csv" --json "$work/bench.json" \
    "$work/sales.csv"
"$build/ember-baseline-q1" "$work/sales.csv"
# Every query ran and checked its own result (Q7 against the closed form of its sum).
for q in Q1 Q2 Q3 Q4 Q5 Q6 Q7 Q1z; do
    grep -q "\"query\":\"$q\",\"mode\":\"in_process\".*\"valid\":true" "$work/bench.json"
done
