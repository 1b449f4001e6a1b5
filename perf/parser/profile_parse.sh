#!/usr/bin/env bash
# Instructions per INVITE of the parser and of its floors on the same INVITEs
# (valgrind --tool=callgrind on parse_profile): memchr for every LF, one AVX2
# pass for the LF mask, parse (as the data plane, sip::Depth::verdict), parse
# in full (parse_full), the parse of an INVITE that gets a 603/608 (reply:
# the verdict parse and parse_top_via), parse + normalise; and the top functions of
# the parse. Instruction counts do not depend on the load of a shared
# machine, so this is the before/after view to trust there. Valgrind's
# virtual CPU has no AVX-512, so the AVX-512BW floor is timed by bench_parse
# only.
#
#   perf/parser/profile_parse.sh [--build DIR] [--pcap FILE] [--passes N] [--work DIR]
#
# Default pcap: perf/run's INVITE mix (2048 INVITEs), written by
# `bench_pipeline --write-pcap` from the hit lists of perf/run's base rule set
# (gen_ruleset.py defaults: 1M numbers + 100k prefixes + 1k regexes); --pcap
# takes another (tests/data/sample.pcap: the bundled 24 INVITEs). Default 20
# passes. Bounded: about a minute on the mix.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build
PCAP=
PASSES=20
WORK=/tmp/sipwall-profile-parse-$(date -u +%Y%m%dT%H%M%SZ)
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --pcap) PCAP=$2; shift 2 ;;
    --passes) PASSES=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "profile_parse.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "profile_parse.sh: valgrind not installed (perf/install-perf-deps.sh)" >&2; exit 1; }
DRV=$BUILD/bin/parse_profile
[[ -x $DRV ]] || { echo "profile_parse.sh: $DRV missing (cmake --build $BUILD --target parse_profile)" >&2; exit 1; }
mkdir -p "$WORK"
if [[ -z $PCAP ]]; then
  [[ -x $BUILD/bin/bench_pipeline ]] || { echo "profile_parse.sh: no --pcap and no $BUILD/bin/bench_pipeline to write the mix" >&2; exit 1; }
  timeout 300 python3 "$ROOT/perf/pipeline/gen_ruleset.py" "$WORK/set" >/dev/null  # perf/run's base set: the same mix
  timeout 120 "$BUILD/bin/bench_pipeline" --hits "$WORK/set" --write-pcap "$WORK/mix.pcap" >/dev/null
  PCAP=$WORK/mix.pcap
fi
declare -A IR
for mode in memchr avx2 parse parse_full reply norm; do
  out=$WORK/callgrind.$mode
  if ! timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="run_$mode" \
      "$DRV" "$mode" "$PASSES" "$PCAP" >"$WORK/$mode.txt" 2>"$WORK/$mode.err"; then
    echo "$mode: not measured ($(tail -1 "$WORK/$mode.err"))"
    continue
  fi
  invites=$(sed -n 's/^invites=\([0-9]*\).*/\1/p' "$WORK/$mode.txt")
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  IR[$mode]=$((total / (invites * PASSES)))
done
echo "INVITEs of $PCAP, $PASSES passes; instructions per INVITE (callgrind):"
for mode in memchr avx2 parse parse_full reply norm; do
  [[ -n ${IR[$mode]:-} ]] || continue
  line=$(printf '%-10s %7d' "$mode" "${IR[$mode]}")
  for f in memchr avx2; do
    [[ -n ${IR[$f]:-} && ${IR[$f]} -gt 0 ]] && line+=$(awk -v a="${IR[$mode]}" -v b="${IR[$f]}" -v f="$f" 'BEGIN {printf "  %6.2fx %s", a / b, f}')
  done
  echo "$line"
done
echo
echo "Top functions of the parse, inclusive (callgrind_annotate $WORK/callgrind.parse):"
callgrind_annotate --inclusive=yes "$WORK/callgrind.parse" 2>/dev/null | grep 'sipwall::' | head -12
echo "(raw output in $WORK)"
