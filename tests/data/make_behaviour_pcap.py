#!/usr/bin/env python3
"""Writes a capture of behavioural-detection traffic: the patterns the
example detectors of rules/examples/behaviour.yaml catch, between benign calls.

Scenarios (any of them, in the order given, on one timeline):

  bomber     one caller calls one callee 12 times, 2 s apart (each call
             answered 486 Busy): call bombing fires at the 11th INVITE
  masscall   one caller calls 102 distinct callees, 0.1 s apart: mass
             calling fires at the 101st INVITE
  onering    one caller rings 22 distinct callees: INVITE, 180 after 0.2 s,
             CANCEL 1 s after the 180; one-ring fires at the 22nd INVITE
             (the 21st one-ring call is complete when it arrives)
  benign     20 callers each make 3 normal calls (answered, BYE after 60 s)

Requests come from the trunk (TRUNK -> CORE), responses from the core, as a
capture on the appliance's wire would show them. The timestamps are the
capture's clock (`sipwallctl rules explain` replays on them).

Usage: tests/data/make_behaviour_pcap.py [--scenario NAME ...] [--requests-only | --responses-only] OUT.pcap
  --requests-only   only trunk-side requests (INVITE, CANCEL, ACK, BYE): what a
                    net_pcap trunk port replays into the data plane
  --responses-only  only the core side's responses: what a core port replays
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sippcap as sp  # noqa: E402

TRUNK, CORE = "192.0.2.11", "10.10.0.10"
BOMBER, BOMBED = "+8613800001111", "+8613900002222"
MASS = "+8613700003333"
RINGER = "+8618600004444"
START = 1764320400.0


class Timeline:
    def __init__(self):
        self.events = []  # (time, seq, frame, from the trunk side)

    def add(self, t, frame, trunk_side=True):
        self.events.append((t, len(self.events), frame, trunk_side))

    def frames(self):
        return sorted(self.events)


def sip_uri(number, host):
    return f"sip:{number}@{host};user=phone"


def invite(tl, t, caller, callee, call_id):
    payload = sp.invite(ruri=sip_uri(callee, CORE), from_uri=sip_uri(caller, TRUNK), to_uri=sip_uri(callee, CORE),
                        call_id=call_id, src=TRUNK)
    tl.add(t, sp.udp_frame(TRUNK, CORE, 5060, 5060, payload))


def from_trunk(tl, t, method, callee, call_id, cseq=1):
    payload = sp.request(method, ruri=sip_uri(callee, CORE), call_id=call_id, src=TRUNK, cseq=cseq)
    tl.add(t, sp.udp_frame(TRUNK, CORE, 5060, 5060, payload))


def from_core(tl, t, code, reason, call_id, method="INVITE", cseq=1):
    payload = sp.response(code, reason, call_id=call_id, src=TRUNK, cseq=cseq, method=method)
    tl.add(t, sp.udp_frame(CORE, TRUNK, 5060, 5060, payload), trunk_side=False)


def bomber(tl, t0):
    for i in range(12):
        t, cid = t0 + 2 * i, f"bomb-{i + 1:02d}@sipwall.example"
        invite(tl, t, BOMBER, BOMBED, cid)
        from_core(tl, t + 0.02, 100, "Trying", cid)
        from_core(tl, t + 0.5, 486, "Busy Here", cid)
        from_trunk(tl, t + 0.52, "ACK", BOMBED, cid)
    return t0 + 30


def masscall(tl, t0):
    for i in range(102):
        t, cid = t0 + 0.1 * i, f"mass-{i + 1:03d}@sipwall.example"
        invite(tl, t, MASS, f"+86139{10000000 + i:08d}", cid)
        from_core(tl, t + 0.02, 100, "Trying", cid)
        from_core(tl, t + 0.05, 404, "Not Found", cid)
        from_trunk(tl, t + 0.06, "ACK", f"+86139{10000000 + i:08d}", cid)
    return t0 + 15


def onering(tl, t0):
    for i in range(22):
        t, cid, callee = t0 + 3 * i, f"ring-{i + 1:02d}@sipwall.example", f"+86135{20000000 + i:08d}"
        invite(tl, t, RINGER, callee, cid)
        from_core(tl, t + 0.02, 100, "Trying", cid)
        from_core(tl, t + 0.2, 180, "Ringing", cid)
        from_trunk(tl, t + 1.2, "CANCEL", callee, cid)
        from_core(tl, t + 1.22, 200, "OK", cid, method="CANCEL")
        from_core(tl, t + 1.24, 487, "Request Terminated", cid)
        from_trunk(tl, t + 1.26, "ACK", callee, cid)
    return t0 + 3 * 22 + 5


def benign(tl, t0):
    for c in range(20):
        for k in range(3):
            t = t0 + c * 0.7 + k * 20
            cid, caller, callee = f"ok-{c:02d}-{k}@sipwall.example", f"+86131{30000000 + c:08d}", \
                f"+86132{40000000 + c * 3 + k:08d}"
            invite(tl, t, caller, callee, cid)
            from_core(tl, t + 0.02, 100, "Trying", cid)
            from_core(tl, t + 2, 180, "Ringing", cid)
            from_core(tl, t + 6, 200, "OK", cid)
            from_trunk(tl, t + 6.05, "ACK", callee, cid)
            from_trunk(tl, t + 66, "BYE", callee, cid, cseq=2)
            from_core(tl, t + 66.02, 200, "OK", cid, method="BYE", cseq=2)
    return t0 + 90


SCENARIOS = {"bomber": bomber, "masscall": masscall, "onering": onering, "benign": benign}


def write(path, events):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, _, fr, _ in events:
            us = int(round((START + t) * 1e6))
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            f.write(fr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: bomber")
    side = ap.add_mutually_exclusive_group()
    side.add_argument("--requests-only", action="store_true", help="only the trunk side's requests")
    side.add_argument("--responses-only", action="store_true", help="only the core side's responses")
    ap.add_argument("out")
    a = ap.parse_args()
    tl, t = Timeline(), 0.0
    for name in a.scenario or ["bomber"]:
        t = SCENARIOS[name](tl, t)
    events = tl.frames()
    if a.requests_only:
        events = [e for e in events if e[3]]
    elif a.responses_only:
        events = [e for e in events if not e[3]]
    write(a.out, events)
    print(f"{a.out}: {len(events)} frames")


if __name__ == "__main__":
    main()
