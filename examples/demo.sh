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
echo
echo "== ember count $DATA --where \"qty > 10 and region = 'EU'\"   (df.filter(...).count())"
"$BUILD/ember" count "$DATA" --where "qty > 10 and region = 'EU'" --format table
echo
echo "== ember map $DATA --expr \"price * qty\" --as revenue --select id,category   (withColumn)"
"$BUILD/ember" map "$DATA" --expr "price * qty" --as revenue --select id,category --format table | head -n 6
echo "..."
echo
echo "== ember range 0 1000 --slices 50 --map \"value * 2\"   (sc.parallelize(range(1000), 50).map(x * 2))"
"$BUILD/ember" range 0 1000 --slices 50 --map "value * 2" | head -n 5
echo "..."
echo
echo "== ember range 0 1000000000 --slices 64 --map \"value * 2\" --sum"
"$BUILD/ember" range 0 1000000000 --slices 64 --map "value * 2" --sum --verbose
