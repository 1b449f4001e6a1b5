#!/bin/sh
# Runs the rules scale scenarios of docs/matching.md, one process each (so
# peak RSS belongs to one size), then the Google Benchmark figures.
# Usage: perf/rules/run_scale.sh [BUILD_DIR]   (default: build)
set -eu
B=${1:-build}
S="$B/bin/rules_scale"
for args in "--numbers 1000000" \
            "--numbers 10000000" \
            "--numbers 0 --prefixes 100000" \
            "--numbers 0 --ranges 100000" \
            "--numbers 0 --regexes 1000" \
            "--numbers 1000000 --dnc 100000 --prefixes 1000 --ranges 100 --regexes 1000"; do
  # shellcheck disable=SC2086
  "$S" $args
done
"$B/bin/bench_rules" --benchmark_min_time=2 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true
