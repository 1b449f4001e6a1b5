#!/usr/bin/env bash
# Kept for old habits: a thin wrapper around perf/run, which now runs every
# benchmark in perf/ (and its references) in one go and writes the report.
#
#   sudo perf/run_all.sh [--build DIR] [--no-build] [--skip-pipeline] [--quick] [other perf/run options]
#
# --skip-pipeline  no DPDK or Kamailio runs: only the floor and the pieces
#                  (perf/run --only floor,pieces; no root needed then)
# --seconds, --log are accepted and ignored (perf/run picks its phase lengths
# and keeps its log in its work directory).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --skip-pipeline) args+=(--only floor,pieces); shift ;;
    --seconds|--log) echo "run_all.sh: $1 is ignored (perf/run chooses)" >&2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exec "$ROOT/perf/run" --help ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$ROOT/perf/run" "${args[@]}"
