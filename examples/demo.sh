#!/bin/sh
# demo.sh: what `make demo` runs: make a deterministic sample sales CSV, list the OpenCL
# devices, and run the Spark-style flow through the library and through the CLI.
set -eu
BUILD=${1:-build}
mkdir -p "$BUILD/demo"
DATA="$BUILD/demo/sales.csv"
"$BUILD/ember_gen" --rows 200000 --seed 42 --output "$DATA"
echo "== sample data: $DATA ($(wc -c <"$DATA") bytes)"
head -n 4 "$DATA"
echo
echo "== ember devices"
"$BUILD/ember" devices --format table
echo
echo "== the Spark-style flow from C (examples/spark_flow.c)"
"$BUILD/example_spark_flow" "$DATA" 8
echo
echo "== ember count $DATA --partitions 8 --verbose"
"$BUILD/ember" count "$DATA" --partitions 8 --verbose
echo
echo "== ember groupby $DATA --by category --sort   (df.groupBy(\"category\").count())"
"$BUILD/ember" groupby "$DATA" --by category --sort --format table | head -n 8
echo "..."
echo
echo "== ember groupby $DATA --by region --agg count --agg sum:qty --agg mean:price --sort"
"$BUILD/ember" groupby "$DATA" --by region --agg count --agg sum:qty --agg mean:price --sort --format table
