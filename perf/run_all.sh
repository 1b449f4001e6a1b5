#!/usr/bin/env bash
# Every benchmark in perf/, one after the other, then a summary ready to paste
# into docs/performance.md. An opt-in run (not part of scripts/test.sh): it
# takes a few minutes and its numbers mean something only on a quiet machine.
#
#   sudo perf/run_all.sh [--build DIR] [--seconds S] [--no-build] [--skip-pipeline] [--log FILE]
#
# --build          build directory (default build/, the release preset); built
#                  here if needed (only the benchmark targets, -j${JOBS:-2})
# --seconds        seconds per pipeline phase (default 3)
# --no-build       use the binaries as they are
# --skip-pipeline  no DPDK runs (no root needed for the rest)
# --log FILE       full output (default /tmp/sipwall-perf-<time>.log)
#
# Runs: bench_parse (sample pcap, then the pipeline's INVITE mix); the rules
# benchmarks of perf/rules (its own *.sh if it has one, run from the source
# root with the build directory as argument; else bench_rules and
# rules_scale at the issue's sizes; skipped if absent); perf/pipeline/run_pipeline_bench.sh
# (testpmd I/O baseline + the worker pipeline with 0 / 1 / 1M+100k+1k rule
# sets; needs root).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
SECS=3
DO_BUILD=1
PIPELINE=1
LOG=/tmp/sipwall-perf-$(date -u +%Y%m%dT%H%M%SZ).log
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --skip-pipeline) PIPELINE=0; shift ;;
    --log) LOG=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/bin
main() {

section() { printf '\n######## %s\n' "$*"; }

if [[ $DO_BUILD -eq 1 ]]; then
  section "build ($BUILD, release)"
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    if [[ $BUILD == "$ROOT/build" ]]; then
      (cd "$ROOT" && cmake --preset release) || return 1
    else
      cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release || return 1
    fi
  fi
  targets=(bench_parse sipwallctl)
  for t in bench_pipeline bench_rules rules_scale; do
    cmake --build "$BUILD" --target help 2>/dev/null | grep -q "^$t[: ]" && targets+=("$t")
  done
  cmake --build "$BUILD" --target "${targets[@]}" -j"${JOBS:-2}" || return 1
fi

section "machine"
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:      $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "cpu:         $CPU, $(nproc) CPUs"
echo "packages:    dpdk $(dpkg-query -W -f '${Version}' dpdk 2>/dev/null), hyperscan $(dpkg-query -W -f '${Version}' libhyperscan5 2>/dev/null), gcc $(gcc -dumpfullversion 2>/dev/null)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load:        $LOAD_START (1/5/15 min) at start"

# 1. Parser.
section "bench_parse: parse + normalise vs memchr-per-LF (CPU time, median of 5)"
PARSE_OUT=""
if [[ -x $BIN/bench_parse ]]; then
  for input in "$ROOT/tests/data/sample.pcap" mix; do
    pcap=$input
    if [[ $input == mix ]]; then
      [[ -x $BIN/bench_pipeline ]] || continue
      pcap=$(mktemp --suffix=.pcap)
      "$BIN/bench_pipeline" --write-pcap "$pcap" >/dev/null || continue
    fi
    echo "-- input: $input"
    out=$("$BIN/bench_parse" --pcap "$pcap" --benchmark_color=false 2>&1)
    echo "$out"
    PARSE_OUT+="input: $([[ $input == mix ]] && echo 'pipeline mix (bench_pipeline --write-pcap)' || echo tests/data/sample.pcap)"$'\n'
    PARSE_OUT+=$(echo "$out" | grep -E '^[0-9]+ INVITEs|^BM_|^aim')$'\n'
    [[ $input == mix ]] && rm -f "$pcap"
  done
else
  echo "skipped: $BIN/bench_parse not built"
fi

# 2. Rules (perf/rules, another part's benchmarks: run what is there).
section "rules benchmarks (perf/rules)"
RULES_OUT=""
shopt -s nullglob
scripts=("$ROOT"/perf/rules/*.sh)
shopt -u nullglob
if [[ ${#scripts[@]} -gt 0 ]]; then
  for s in "${scripts[@]}"; do
    echo "-- $s"
    # Convention of perf/rules/run_scale.sh: the build directory as first argument.
    out=$(cd "$ROOT" && BIN=$BIN BUILD_DIR=$BUILD sh "$s" "$BUILD" 2>&1)
    echo "$out"
    RULES_OUT+="$out"$'\n'
  done
else
  if [[ -x $BIN/rules_scale ]]; then
    for args in "--numbers 1000000" "--numbers 10000000" "--numbers 0 --prefixes 100000" "--numbers 0 --regexes 1000" \
                "--numbers 1000000 --prefixes 100000 --regexes 1000"; do
      echo "-- rules_scale $args"
      # shellcheck disable=SC2086
      out=$("$BIN/rules_scale" $args 2>&1)
      echo "$out"
      RULES_OUT+="\$ rules_scale $args"$'\n'"$out"$'\n'
    done
  else
    echo "skipped: rules_scale not built"
  fi
  if [[ -x $BIN/bench_rules ]]; then
    echo "-- bench_rules"
    out=$("$BIN/bench_rules" --benchmark_color=false 2>&1)
    echo "$out"
    RULES_OUT+="\$ bench_rules"$'\n'"$(echo "$out" | grep -E '^(BM_|Benchmark|-)')"$'\n'
  else
    echo "skipped: bench_rules not built"
  fi
fi

# 3. Whole pipeline with the testpmd I/O baseline.
section "whole pipeline (perf/pipeline/run_pipeline_bench.sh)"
PIPE_OUT=""
if [[ $PIPELINE -eq 0 ]]; then
  echo "skipped (--skip-pipeline)"
elif [[ $EUID -ne 0 ]]; then
  echo "skipped: needs root (DPDK EAL); run perf/run_all.sh with sudo"
elif [[ ! -x $BIN/bench_pipeline ]]; then
  echo "skipped: $BIN/bench_pipeline not built (SIPWALL_BUILD_DATAPLANE off?)"
else
  PIPE_OUT=$("$ROOT/perf/pipeline/run_pipeline_bench.sh" --bin "$BIN" --seconds "$SECS" 2>&1)
  echo "$PIPE_OUT"
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
UNDER=""
awk -v a="${LOAD_START%% *}" -v b="${LOAD_END%% *}" 'BEGIN { exit !(a > 1 || b > 1) }' && UNDER=" — UNDER LOAD (1-min load average above 1): other work shared the CPUs"

section "summary (paste into docs/performance.md, 'Results')"
cat <<EOF
Run: \`sudo perf/run_all.sh\` at $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)
Machine: $CPU, $(nproc) CPUs; DPDK $(dpkg-query -W -f '${Version}' dpdk 2>/dev/null), Hyperscan $(dpkg-query -W -f '${Version}' libhyperscan5 2>/dev/null); EAL --no-huge
Load average: $LOAD_START at start, $LOAD_END at end$UNDER

Parser (bench_parse):
\`\`\`
${PARSE_OUT:-not run}
\`\`\`

Rules (perf/rules):
\`\`\`
${RULES_OUT:-not run}
\`\`\`

Whole pipeline (run_pipeline_bench.sh):
\`\`\`
$(echo "${PIPE_OUT:-not run}" | sed -n '/^machine:/,$p')
\`\`\`
Full log: $LOG
EOF
}

main 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
