#!/bin/sh
# profile.sh: where each ember-bench query spends its CPU time, from `perf record`: samples grouped
# into CSV parsing (libcsv, ember's own scanning, callbacks and numbers), OpenCL kernels (pocl's
# compiled kernels and runtime), the OS (page faults, mmap) and the rest; then the top symbols.
# Usage: bench/profile.sh BUILD_DIR FILE [ZIPF_FILE] [QUERIES]
# QUERIES: comma-separated, default Q1,Q2,Q4,Q5,Q6,Q1z,B1 (B1: the Q1 baseline program).
set -eu
build=$1
file=$2
zipf=${3:-}
queries=${4:-Q1,Q2,Q4,Q5,Q6,Q1z,B1}
for tool in perf /usr/bin/time; do
    command -v $tool >/dev/null || { echo "profile.sh: $tool is not installed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for query in $(echo "$queries" | tr ',' ' '); do
    if [ "$query" = Q1z ] && [ -z "$zipf" ]; then
        continue
    fi
    # Three trials after one warm-up; the warm-up (program load from the disk cache) is in the
    # profile too, a small share of four runs.
    if [ "$query" = B1 ]; then # the plain C baseline of Q1, for comparison
        set -- "$build/ember-baseline-q1" --trials 4
    else
        set -- "$build/ember-bench" --queries "$query" --trials 3 --warmup 1 --no-limits \
            --cli none --baseline none --json /dev/null
        [ -n "$zipf" ] && set -- "$@" --zipf "$zipf"
    fi
    # /usr/bin/time says how many cores the run kept busy (200% = both of a 2-core machine).
    perf record -q -o "$work/perf.data" -F 999 -- /usr/bin/time -o "$work/time.txt" \
        -f "%e s wall, %U s user, %S s sys, %P CPU" "$@" "$file" >/dev/null 2>"$work/record.log" || {
        cat "$work/record.log" >&2
        exit 1
    }
    perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        grep '%' >"$work/report.txt" || true
    echo "== $query: $* $file"
    echo "  whole run (4 runs; for ember 1 warm-up + 3 trials, session open included): $(cat "$work/time.txt")"
    # Columns of a report line: percent, dso, [.] or [k], symbol.
    awk '
        {
            pct = $1; sub("%", "", pct); dso = $2; sym = $4
            if (dso ~ /^libcsv/) group = "parse: libcsv state machine"
            else if (dso ~ /^libember/ && sym ~ /^(on_field|on_record|no_space|scan_plain|ember_parse_|ember_column_append|ember_csv_|csv_|__popcount)/)
                group = "parse: ember (field callbacks, record counting, numbers, column appends)"
            else if (dso ~ /^libember/) group = "host: ember other (gather, merge, tables)"
            else if (dso ~ /^ember-baseline/) group = "baseline: field callback, hash table"
            else if (dso ~ /^(libpocl|libOpenCL|pocl)/) group = "kernels: pocl runtime"
            else if (dso ~ /\.so$/ && dso !~ /^lib/ && dso !~ /^ld-linux/) group = "kernels: compiled OpenCL kernels"
            else if (dso ~ /kernel/) group = "os: page faults, mmap, copies"
            else if (dso ~ /^libc/) group = "libc (memcpy, malloc)"
            else group = "other"
            share[group] += pct
        }
        END { for (g in share) printf "  %6.2f%%  %s\n", share[g], g }
    ' "$work/report.txt" | sort -rn
    echo "  top symbols:"
    head -8 "$work/report.txt" | sed 's/^/  /'
done
