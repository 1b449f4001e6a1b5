#!/usr/bin/env python3
"""From the INVITE that crosses a threshold to every worker acting on it,
with two workers (issue 14, docs/detection.md "Across workers").

Two workers share CPU 1 (eal.lcores "0@0,(1-2)@1": this VM has two CPUs).
net_af_packet with qpairs=2 spreads frames over the workers by flow hash, so
a call bomber that sends every INVITE from its own UDP source port lands on
both: neither worker alone ever sees more than about half of the calls. The
`bombing` detector blocks a caller+callee pair over 10 INVITEs in 60 s.

The bomber (in a namespace, through the data plane to a far end in another)
sends 40 INVITEs, one every 10 ms, each from a new source port with a new
Call-ID. The far end records which INVITEs reached it; the bomber records
which got 608. Checks:
  * every INVITE is accounted for: forwarded or answered 608, never both,
    never neither; INVITEs 1..10 are all forwarded (counts across workers
    never over-count);
  * both workers received the bomber's INVITEs (worker_load rx_packets);
  * the last INVITE that still passed after the crossing (the 11th) was sent
    at most 200 ms after it: from then on every INVITE, whichever worker got
    it, was rejected. The figure is printed (the issue's aim is 200 ms: the
    merge every 50 ms, the main lcore's turn and one poll loop bound it);
  * `detections` holds the pair, counted over both workers (never over the
    INVITEs sent, under by less than the reports' 1/8).
Needs root (namespaces, DPDK); exit 77 without.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
import netns  # noqa: E402

BOMBER, BOMBED = "+8613800001111", "+8613900002222"
CALLS = 40
GAP_S = 0.010
THRESHOLD = 10
RULES = """\
version: "it-detect-workers.1"
name: it-detect-workers
dial_plan: {preset: china}
defaults: {action: pass}
detectors:
  - {name: bombing, key: caller_callee, count: invites, window: 60s, block: 10, block_for: 10m}
rules:
  - id: stop-bombing
    match: {detector: bombing}
    action:
      reject: {code: 608, reason: "Call bombing"}
"""

# The far end: every datagram's Call-ID, until quiet for argv[3] s.
RECEIVER = r"""
import re, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
s.settimeout(float(sys.argv[3]))
ids = []
try:
    while True:
        m = re.search(rb"\r\nCall-ID: ([^\r]+)", s.recvfrom(65535)[0])
        if m:
            ids.append(m.group(1).decode())
except socket.timeout:
    pass
open(sys.argv[2], "w").write("\n".join(ids))
"""

# The bomber: CALLS INVITEs, each from its own socket (source port), GAP_S
# apart; then collects the answers. Writes {call_id: [send time, code]}.
SENDER = r"""
import json, re, select, socket, sys, time
src, dst, out, calls, gap, caller, callee = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
socks, sent = [], {}
for i in range(1, calls + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    port = s.getsockname()[1]
    cid = "workers-%02d@sipwall.example" % i
    msg = ("INVITE sip:%s@%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;rport;branch=z9hG4bK-w%02d\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:%s@%s>;tag=w%02d\r\n"
           "To: <sip:%s@%s>\r\n"
           "Call-ID: %s\r\n"
           "CSeq: 1 INVITE\r\n"
           "Contact: <sip:%s@%s:%d>\r\n"
           "Content-Length: 0\r\n\r\n") % (callee, dst, src, port, i, caller, src, i, callee, dst, cid,
                                           caller, src, port)
    due = time.monotonic() if i == 1 else t0 + (i - 1) * gap
    while time.monotonic() < due:
        time.sleep(0.0005)
    if i == 1:
        t0 = time.monotonic()
    s.sendto(msg.encode(), (dst, 5060))
    sent[cid] = [time.monotonic() - t0, None]
    socks.append(s)
end = time.monotonic() + 1.5
while time.monotonic() < end:
    r, _, _ = select.select(socks, [], [], 0.1)
    for s in r:
        data = s.recv(65535)
        m = re.match(rb"SIP/2.0 (\d+)", data)
        c = re.search(rb"\r\nCall-ID: ([^\r]+)", data)
        if m and c and c.group(1).decode() in sent:
            sent[c.group(1).decode()][1] = int(m.group(1))
json.dump(sent, open(out, "w"))
"""


def main():
    with harness.Test("detection_workers", __doc__) as t:
        for tool in ("ip", "ethtool"):
            if subprocess.run(["which", tool], capture_output=True).returncode != 0:
                print("SKIP detection_workers: %s not installed" % tool)
                sys.exit(harness.SKIP)
        art = t.compile_rules("bombing", RULES)
        topo = netns.Topology("w%d" % (os.getpid() % 10000))
        try:
            topo.up()
            vdev = lambda n, ifname: "net_af_packet%d,iface=%s,qpairs=2" % (n, ifname)
            ports = [("trunk", vdev(0, topo.dp_trunk), "trunk"), ("core", vdev(1, topo.dp_core), "core")]
            with harness.Dataplane(t, "dp", ports, artifact=art, memory_mb=512, workers=2) as dp:
                dp.start()
                st = dp.request({"v": 1, "cmd": "status"})
                t.eq(len(st.get("workers", [])), 2, "status: two workers (%s)" % st.get("workers"))
                before = {w["worker"]: w["rx_packets"] for w in dp.stats()["worker_load"]}
                got_path, sent_path = t.path("core-received.txt"), t.path("bomber.json")
                recv = subprocess.Popen(["ip", "netns", "exec", topo.ns_uas, sys.executable, "-c", RECEIVER,
                                         topo.ip_uas, got_path, "3"])
                time.sleep(0.5)
                subprocess.run(["ip", "netns", "exec", topo.ns_uac, sys.executable, "-c", SENDER, topo.ip_uac,
                                topo.ip_uas, sent_path, str(CALLS), str(GAP_S), BOMBER, BOMBED],
                               check=True, timeout=60)
                recv.wait(timeout=30)
                after = {w["worker"]: w["rx_packets"] for w in dp.stats()["worker_load"]}
                d = dp.request({"v": 1, "cmd": "detections"})
                rc = dp.stop()
                t.eq(rc, 0, "sipwall-dataplane exit code")

            sent = json.load(open(sent_path))
            forwarded = set(open(got_path).read().split())
            order = sorted(sent, key=lambda c: sent[c][0])
            t.eq(len(order), CALLS, "the bomber sent every INVITE")
            fates = []
            for cid in order:
                passed, code = cid in forwarded, sent[cid][1]
                t.check(passed != (code == 608),
                        "%s: forwarded or rejected, exactly one (forwarded %s, answer %s)" % (cid, passed, code))
                fates.append("pass" if passed else "reject")
            print("fates in send order:", " ".join("P" if f == "pass" else "R" for f in fates))
            t.eq(fates[:THRESHOLD], ["pass"] * THRESHOLD, "INVITEs 1..10 pass (no worker over-counts)")
            crossing = sent[order[THRESHOLD]][0]
            late = [i for i in range(THRESHOLD, CALLS) if fates[i] == "pass"]
            delay_ms = round((sent[order[late[-1]]][0] - crossing) * 1000) if late else 0
            print("crossing (INVITE %d) -> every worker acting: the last INVITE that passed was sent %d ms after "
                  "it (%d of the %d after it passed)" % (THRESHOLD + 1, delay_ms, len(late), CALLS - THRESHOLD))
            t.check(delay_ms <= 200, "every worker acted within 200 ms of the crossing: %d ms" % delay_ms)
            t.check(fates[-1] == "reject", "the last INVITE was rejected")
            got = {w: after[w] - before.get(w, 0) for w in after}
            print("frames received per worker during the run:", got)
            t.check(len(got) == 2 and min(got.values()) >= 5,
                    "both workers received the bomber's INVITEs (%s)" % got)
            rows = [x for x in d.get("detections", []) if x["detector"] == "bombing"]
            t.eq(len(rows), 1, "detections: the bombing pair is held (%s)" % d)
            if rows:
                t.eq((rows[0]["key"], rows[0]["level"]), (f"{BOMBER} -> {BOMBED}", "block"), "detections: the pair")
                # Workers report a count again once it rose by 1/8 (docs/detection.md "Across workers"):
                # the merged count is never over, and under by less than 1/8 per worker.
                t.check(CALLS * 7 // 8 <= rows[0]["count"] <= CALLS,
                        "detections: counted over both workers, within the reports' 1/8: %d of %d"
                        % (rows[0]["count"], CALLS))
        finally:
            topo.down()


if __name__ == "__main__":
    main()
