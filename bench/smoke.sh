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
# The skipped queries must say so in the JSON rather than fail or vanish.
grep -q '"query":"Q3".*"skipped":true' "$work/bench.json"
grep -q '"query":"Q7".*"skipped":true' "$work/bench.json"
