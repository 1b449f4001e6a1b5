#!/usr/bin/env bash
# The main job on the bundled sample, no NIC needed: installs what is missing,
# builds into build/, compiles the example rule set, runs sipwall-dataplane as
# a bump in the wire between two DPDK net_pcap ports fed with
# tests/data/sample.pcap, and shows the verdicts, the counters and what came
# out of each port.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
OUT=out/demo
RULES=rules/examples/demo.yaml
SAMPLE=tests/data/sample.pcap

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$JOBS" --target sipwallctl sipwall-dataplane

rm -rf "$OUT"
mkdir -p "$OUT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. What the filter sees in $SAMPLE (sipwallctl parse: numbers normalised to E.164, China dial plan)"
build/bin/sipwallctl parse --format table "$SAMPLE"

say "2. Check and compile the rule set $RULES (sipwallctl rules compile)"
build/bin/sipwallctl rules compile "$RULES" -o "$OUT/demo.swr"

say "3. Filter the sample: sipwall-dataplane on two net_pcap ports (deploy/examples/pcap-demo.yaml)"
echo "   trunk port reads $SAMPLE and writes replies to $OUT/trunk-out.pcap; core port writes $OUT/core-out.pcap"
build/bin/sipwall-dataplane -c deploy/examples/pcap-demo.yaml --print-trace --stats-json "$OUT/stats.json" 2>"$OUT/dataplane.log" \
  || { cat "$OUT/dataplane.log"; exit 1; }

say "4. What left toward the trunks ($OUT/trunk-out.pcap): the 603/608 answers, as tshark reads them"
tshark -r "$OUT/trunk-out.pcap" -T fields -E separator=' ' -e ip.dst -e ipv6.dst -e sip.Status-Line -e sip.Call-ID 2>/dev/null | sed 's/^/   /'

say "5. What reached the core ($OUT/core-out.pcap)"
tshark -r "$OUT/core-out.pcap" -Y sip 2>/dev/null | sed 's/^/   /'
echo "   tagged INVITEs carry:"
tshark -r "$OUT/core-out.pcap" -Y 'sip.msg_hdr contains "X-Sipwall-Risk"' -T fields -e sip.Call-ID -e sip.msg_hdr 2>/dev/null \
  | python3 -c 'import sys
for line in sys.stdin:
    call_id, hdrs = line.rstrip("\n").split("\t", 1)
    tags = [h for h in hdrs.split("\\r\\n") if h.startswith("X-Sipwall-Risk")]
    print("     %s  %s" % (call_id, "; ".join(tags)))'

say "6. Behavioural detection: a call bomber (rules/examples/behaviour.yaml, docs/detection.md)"
echo "   tests/data/make_behaviour_pcap.py writes one caller calling one callee 12 times, 2 s apart;"
echo "   the call-bombing detector blocks a caller+callee pair over 10 calls in 60 s, held for 10 minutes"
python3 tests/data/make_behaviour_pcap.py --requests-only "$OUT/bomber.pcap" | sed 's/^/   /'
python3 tests/data/make_behaviour_pcap.py --scenario bomber --scenario benign "$OUT/behaviour-full.pcap" | sed 's/^/   /'
build/bin/sipwallctl rules compile rules/examples/behaviour.yaml -o "$OUT/behaviour.swr" | sed 's/^/   /'
build/bin/sipwall-dataplane -c deploy/examples/pcap-behaviour.yaml --print-trace 2>"$OUT/behaviour.log" \
  | sed -n '/^verdict trace/,/^ports:/p' | sed '$d' | sed 's/^/   /' \
  || { cat "$OUT/behaviour.log"; exit 1; }
echo "   the same capture with the core's responses, replayed on its own timestamps"
echo "   (sipwallctl rules explain --format json: one object per INVITE; the calls a detector decided):"
build/bin/sipwallctl rules explain --format json --rules rules/examples/behaviour.yaml "$OUT/behaviour-full.pcap" \
  | python3 -c 'import json, sys
for line in sys.stdin:
    v = json.loads(line)
    if v["detector"]:
        print("     %-28s %-7s rule %-16s detector %s (count %s, %s)" % (v["call_id"], v["action"], v["rule"],
              v["detector"], v["detector_count"], v["detector_level"]))'

say "Next: the same rules explained call by call:  build/bin/sipwallctl rules explain --rules $RULES $SAMPLE"
echo "      docs/operations.md runs it on real ports; docs/rules.md is the rule reference."
