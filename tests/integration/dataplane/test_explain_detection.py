#!/usr/bin/env python3
"""`sipwallctl rules explain --format json` replays detection on a capture's
clock (docs/detection.md "Replaying a capture"); no root, no DPDK.

tests/data/make_behaviour_pcap.py writes a call bomber, a one-ring caller, a
mass caller and busy benign callers (responses from the core side included)
on one timeline; through rules/examples/behaviour.yaml each pattern must be
caught at the right call, and nothing else blocked:

  * call bombing: the 11th call of the pair (count 11), and the 12th;
  * one-ring: the 22nd INVITE (21 one-ring calls completed before it);
  * mass calling: the 101st distinct callee, and the 102nd;
  * 60 benign calls (20 callers, answered, BYE after a minute): all pass;
  * one object per INVITE, each with call_id, action, rule, detector.

The same frames 10 minutes apart each (timestamps rewritten) block nothing:
the counts run on the capture's timestamps, not on the replay's speed.
"""
import json
import os
import struct
import subprocess

import harness as h


def explain(t, rules, pcap):
    r = subprocess.run([t.args.sipwallctl, "rules", "explain", "--format", "json", "--rules", rules, pcap],
                       capture_output=True, text=True, timeout=120)
    t.eq(r.returncode, 0, f"rules explain {pcap}: {r.stderr}")
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def main():
    with h.Test("explain_detection", __doc__, needs_root=False) as t:
        src = t.args.source_dir
        gen = os.path.join(src, "tests", "data", "make_behaviour_pcap.py")
        rules = os.path.join(src, "rules", "examples", "behaviour.yaml")
        pcap = t.path("behaviour.pcap")
        subprocess.run(["python3", gen, "--scenario", "bomber", "--scenario", "onering", "--scenario", "masscall",
                        "--scenario", "benign", pcap], check=True, capture_output=True)
        lines = explain(t, rules, pcap)
        t.eq(len(lines), 12 + 22 + 102 + 60, "one object per INVITE")
        t.check(all({"call_id", "action", "rule", "detector"} <= set(x) for x in lines), "every object has the fields")
        decided = [(x["call_id"].split("@")[0], x["action"], x["rule"], x["detector"], x["detector_count"])
                   for x in lines if x["detector"]]
        t.eq(decided, [("bomb-11", "reject", "call-bombing", "call_bombing", 11),
                       ("bomb-12", "reject", "call-bombing", "call_bombing", 12),
                       ("ring-22", "drop", "one-ring", "one_ring", 21),
                       ("mass-101", "reject", "mass-calling", "mass_calling", 101),
                       ("mass-102", "reject", "mass-calling", "mass_calling", 102)],
             "each pattern caught at the right call, nothing else")
        benign = [x for x in lines if x["call_id"].startswith("ok-")]
        t.eq(len(benign), 60, "the benign calls")
        t.eq({x["action"] for x in benign}, {"pass"}, "benign calls all pass")
        t.check(all(x["time"] > 1.7e9 for x in lines), "times are the capture's")

        # The capture's clock decides: the same frames 10 minutes apart each
        # (the capture's timestamps rewritten) stay under every threshold.
        slow = t.path("slow.pcap")
        data = bytearray(open(pcap, "rb").read())
        off, k = 24, 0
        while off + 16 <= len(data):
            sec, usec, incl, _ = struct.unpack_from("<IIII", data, off)
            struct.pack_into("<I", data, off, sec + 600 * k)  # every frame 10 minutes after the one before
            k += 1
            off += 16 + incl
        open(slow, "wb").write(data)
        lines = explain(t, rules, slow)
        t.eq([x["call_id"] for x in lines if x["detector"]], [], "spread over hours, nothing is detected")


if __name__ == "__main__":
    main()
