#!/usr/bin/env bash
# Where the worker's cycles go: valgrind --tool=callgrind on bench_pipeline
# (the product's worker_main on net_ring, the full rule set, the perf/run mix)
# and the top functions by instruction count (Ir), inclusive and exclusive,
# per INVITE. Instruction counts do not depend on the machine's load, so this
# is the stable view on a shared VM.
#
#   sudo perf/profile.sh [--build DIR] [--seconds S] [--numbers N] [--prefixes N]
#                        [--regexes N] [--top K] [--work DIR] [--flood] [--detect] [--cache-sim]
#                        [--fresh-call-ids] [--records] [--fail-closed]
#
# --flood: every INVITE from a listed caller (all rejected with 603/608):
# where the cycles go when a robocall flood hits the block list.
# --detect: the set with rules/examples/behaviour.yaml's detectors added
# (perf/detect/with_detectors.py) and a new Call-ID per INVITE, as perf/run's
# detection section runs it; run once with and once without to compare.
# --fresh-call-ids: a new Call-ID per INVITE (every INVITE a new call), as
# perf/run's records section runs its "off" side; --records: the same with
# call records on (its "on" side): run once with each to compare.
# --fail-closed: the set with defaults.malformed: fail_closed, under which
# the worker parses every value of an INVITE before its verdict
# (sip::Depth::full) instead of leaving Via, Contact and Max-Forwards to a
# response (Depth::verdict, fail_open): the parse-depth saving in one build
# (docs/sip-parser.md, "Parse depth").
# --cache-sim: valgrind's cache simulation too (about 2x slower): data-cache
# and last-level misses per INVITE, as repeatable as the instruction counts
# (what the detection work changes is mostly misses, not instructions).
# Defaults: build/ (release), 20 s of saturation under callgrind (~20-40k
# INVITEs: valgrind runs the worker ~50x slower), 1M numbers + 100k prefixes
# + 1k regexes, top 25. Writes WORK/callgrind.out and WORK/profile.txt and
# prints the tables. Bounded: about 3-5 minutes.
#
# Hyperscan databases are built for the CPU they are compiled on; valgrind's
# virtual CPU has no AVX-512, so the artifact is compiled under valgrind too
# (valgrind --tool=none sipwallctl rules compile).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
SECS=20
NUMBERS=1000000
PREFIXES=100000
REGEXES=1000
TOP=25
WORK=/tmp/sipwall-profile-$(date -u +%Y%m%dT%H%M%SZ)
MIX=()
MIXNAME="the perf/run INVITE mix"
DETECT=0
FAIL_CLOSED=0
CACHE=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --numbers) NUMBERS=$2; shift 2 ;;
    --prefixes) PREFIXES=$2; shift 2 ;;
    --regexes) REGEXES=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --flood) MIX=(--caller-hit 1.0 --prefix-hit 0 --agent-hit 0 --name-hit 0)
             MIXNAME="the perf/run INVITE mix with every caller listed (--flood)"; shift ;;
    --detect) DETECT=1; shift ;;
    --cache-sim) CACHE=(--cache-sim=yes); shift ;;
    --fail-closed) FAIL_CLOSED=1; MIXNAME="$MIXNAME, malformed: fail_closed (full-depth parse)"; shift ;;
    --fresh-call-ids) MIX+=(--fresh-call-ids); MIXNAME="$MIXNAME, a new Call-ID per INVITE"; shift ;;
    --records) MIX+=(--fresh-call-ids --records); MIXNAME="$MIXNAME, a new Call-ID per INVITE, call records on"; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/bin
[[ $EUID -eq 0 ]] || { echo "profile.sh: needs root (DPDK EAL)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "profile.sh: valgrind not installed (perf/install-perf-deps.sh)" >&2; exit 1; }
for t in bench_pipeline sipwallctl; do
  [[ -x $BIN/$t ]] || { echo "profile.sh: $BIN/$t not built (cmake --build $BUILD --target bench_pipeline sipwallctl)" >&2; exit 1; }
done
mkdir -p "$WORK"
echo "profile.sh: work dir $WORK"
python3 "$ROOT/perf/pipeline/gen_ruleset.py" "$WORK/set" --numbers "$NUMBERS" --prefixes "$PREFIXES" --regexes "$REGEXES" >/dev/null
SET_YAML=$WORK/set/full.yaml
if [[ $FAIL_CLOSED -eq 1 ]]; then
  sed 's/malformed: fail_open/malformed: fail_closed/' "$SET_YAML" >"$WORK/set/full-closed.yaml"
  grep -q 'malformed: fail_closed' "$WORK/set/full-closed.yaml" || { echo "profile.sh: no malformed policy to change in $SET_YAML" >&2; exit 1; }
  SET_YAML=$WORK/set/full-closed.yaml
fi
if [[ $DETECT -eq 1 ]]; then
  python3 "$ROOT/perf/detect/with_detectors.py" "$SET_YAML" "$WORK/set/full-detect.yaml" >/dev/null
  SET_YAML=$WORK/set/full-detect.yaml
  MIX+=(--fresh-call-ids)
  MIXNAME="$MIXNAME, with the example detectors and a new Call-ID per INVITE (--detect)"
fi
valgrind --tool=none -q "$BIN/sipwallctl" rules compile "$SET_YAML" -o "$WORK/set/full-vg.swr" >/dev/null
# --fair-sched=yes: valgrind runs one thread at a time, and without it the
# worker's busy poll can starve the generator thread (a run that counted
# no INVITE at all).
# Only the worker's packet processing is counted (--toggle-collect): every
# Ir below is inside process_burst (decode, parse, classify, act, TX), so
# total / INVITEs = instructions per INVITE. No warm-up, so (almost) every
# INVITE the worker took is in the measured phase's count.
timeout $((SECS * 4 + 600)) valgrind --tool=callgrind --fair-sched=yes "${CACHE[@]}" --toggle-collect='*process_burst*' \
  --callgrind-out-file="$WORK/callgrind.out" \
  "$BIN/bench_pipeline" --artifact "$WORK/set/full-vg.swr" --hits "$WORK/set" --phases saturation \
  --seconds "$SECS" --warmup 0 --json "$WORK/pipeline.json" "${MIX[@]}" >"$WORK/bench.log" 2>&1 || {
  echo "profile.sh: bench_pipeline under callgrind failed, see $WORK/bench.log" >&2; exit 1; }

python3 - "$WORK" "$TOP" "$NUMBERS" "$PREFIXES" "$REGEXES" "$MIXNAME" <<'EOF' | tee "$WORK/profile.txt"
import json, re, subprocess, sys
work, top = sys.argv[1], int(sys.argv[2])
n, p, r = sys.argv[3:6]
ph = json.load(open(f"{work}/pipeline.json"))["phases"][0]

# The denominator: calls of classify::InFlight::verdict (the worker takes
# one verdict per INVITE through it; classify::classify is counted too, for
# trees from before InFlight) counted by callgrind itself, inside the same collection window
# as the instructions. The phase's own INVITE count covers a different window
# and, on a loaded machine, only part of what the worker processed.
def classify_calls(path):
    names, cur, calls = {}, None, {}
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
                if m:
                    if m.group(2):
                        names[m.group(1)] = m.group(2)
                    cur = m.group(1) if line.startswith("cfn=") else cur
            elif line.startswith("calls=") and cur is not None:
                calls[cur] = calls.get(cur, 0) + int(line.split("=", 1)[1].split()[0])
                cur = None
    return sum(n for i, n in calls.items()
               if names.get(i, "").startswith(("sipwall::classify::classify(", "sipwall::classify::InFlight::verdict(")))

counted = classify_calls(f"{work}/callgrind.out")
invites = counted or ph["invites"] or 1

def rows(inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=99.9",
                          "--show=Ir", f"{work}/callgrind.out"], capture_output=True, text=True).stdout
    res, total = [], 0
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(\S.*)$", line)
        if not m:
            continue
        ir, f = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in f:
            total = ir
        elif not f.startswith("Ir") and ":" in f:
            res.append((ir, f))
    return total, res

def short(f):
    f = re.sub(r"\s*\[[^\]]*\]\s*$", "", f)                 # [binary]
    f = re.sub(r"^(\?\?\?|/[^:]*|[\w.+-]+\.(?:c|cc|cpp|h|S|s)):", "", f)  # file:
    f = f.replace("(anonymous namespace)", "{anon}")
    f = re.sub(r"\(.*$", "()", f)                            # argument lists
    if f.startswith("0x"):
        f += " (no symbol: inside Hyperscan)"
    return f[:90]

total, exc = rows(False)
_, inc = rows(True)
print(f"callgrind, perf/profile.sh: bench_pipeline (worker_main on net_ring), {n} numbers + {p} prefixes + {r} regexes,")
print(f"{sys.argv[6]}; counted inside process_burst only; {invites:,} INVITEs "
      + (f"(verdicts callgrind counted; the phase counted {ph['invites']:,})" if counted
         else "(the phase's count: callgrind counted no verdict call)"))
print(f"\nprocess_burst: {total / invites:,.0f} instructions (Ir) per INVITE")
# With --cache-sim: the totals line of the output file has every event.
ev, tot = None, None
with open(f"{work}/callgrind.out", errors="replace") as f:
    for line in f:
        if line.startswith("events:"):
            ev = line.split()[1:]
        elif line.startswith("totals:"):
            tot = [int(x) for x in line.split()[1:]]
if ev and tot and "DLmr" in ev:
    e = dict(zip(ev, tot))
    d1 = e.get("D1mr", 0) + e.get("D1mw", 0)
    ll = e.get("DLmr", 0) + e.get("DLmw", 0)
    print(f"cache simulation: {d1 / invites:,.2f} L1d misses and {ll / invites:,.2f} last-level misses per INVITE "
          f"({e.get('DLmr', 0) / invites:,.2f} reads, {e.get('DLmw', 0) / invites:,.2f} writes)")
print()
print(f"Top {top} by inclusive Ir (the function and what it calls):")
print(f"{'Ir/INVITE':>10} {'share':>6}  function")
seen = set()
k = 0
for ir, f in inc:
    s = short(f)
    if s in seen or re.search(r"clone|start_thread|worker_main|eal_thread", s) or (ir == total and "process_burst" not in s):
        continue
    seen.add(s)
    print(f"{ir / invites:10,.0f} {ir / total:6.1%}  {s}")
    k += 1
    if k >= top:
        break
print(f"\nTop {top} by exclusive (self) Ir:")
print(f"{'Ir/INVITE':>10} {'share':>6}  function")
for ir, f in exc[:top]:
    print(f"{ir / invites:10,.0f} {ir / total:6.1%}  {short(f)}")
EOF
echo "profile.sh: full data: callgrind_annotate --inclusive=yes --tree=calling $WORK/callgrind.out | less"
