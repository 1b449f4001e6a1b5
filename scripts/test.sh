#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this and nothing else).
#   1. installs missing Debian packages (scripts/deps.sh), checks formatting
#   2. release build (build/, -O2): every test — unit, corpus, integration, e2e
#   3. ASan+UBSan build (build/asan): the unit and corpus tests again
#   4. fuzz build (build/fuzz, clang libFuzzer): each fuzzer for a short, bounded time
# Exits non-zero on any failure. Options (environment):
#   SIPWALL_FUZZ_SECONDS=N   seconds per fuzzer (default 30; long runs: see docs/testing.md)
#   SIPWALL_SKIP_ASAN=1 / SIPWALL_SKIP_FUZZ=1   developer shortcuts; CI never sets them
#   JOBS=N                   build parallelism (default: number of CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${SIPWALL_FUZZ_SECONDS:-30}
start=$(date +%s)
stage() { printf '\n=== %s (%ds) ===\n' "$*" $(( $(date +%s) - start )); }

stage "dependencies"
scripts/deps.sh

if [ ! -d ../shared/testdata ] && [ -z "${SIPWALL_TESTDATA:-}" ]; then
  echo "test.sh: ../shared/testdata (the external SIP corpora) is missing; the corpus tests need it" >&2
  exit 1
fi

stage "format (.clang-format)"
scripts/check-format.sh

stage "release build (build/)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$JOBS"

stage "release tests"
ctest --preset release -j"$JOBS" --timeout 900

if [ "${SIPWALL_SKIP_ASAN:-0}" != 1 ]; then
  stage "ASan+UBSan build (build/asan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j"$JOBS"
  stage "ASan+UBSan unit and corpus tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan -j"$JOBS" --timeout 900
fi

if [ "${SIPWALL_SKIP_FUZZ:-0}" != 1 ]; then
  stage "fuzz build (build/fuzz)"
  cmake --preset fuzz -DSIPWALL_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
  cmake --build --preset fuzz -j"$JOBS" --target fuzzers
  stage "fuzzers, ${FUZZ_SECONDS}s each"
  ctest --test-dir build/fuzz -L fuzz -j"$JOBS" --output-on-failure
fi

stage "all tests passed"
