#!/usr/bin/env python3
"""HEPv3 export to a collector (docs/export.md), decoded by tshark.

A Python UDP socket is the collector. The data plane (trunk and core ports
on FIFOs, calls.py) exports the calls of one caller (export.hep.match:
caller): an answered call (INVITE, 180, 200, ACK, BYE, 200), a cancelled one
(INVITE, 180, CANCEL, 200, 487, ACK) and one the core refuses (INVITE, 486,
ACK); the same three calls of another caller pass too and must not be
exported. What the collector received is written into a pcap (UDP/IP
framing added here) and read by tshark with the HEPv3 dissector of
tests/tools/hep3.lua (Debian 12's Wireshark has none): every packet of the
watched calls is there once, with its Call-ID as the correlation id, and
nothing of the others; the chunks carry the agent id, the auth key, SIP as
the protocol type, the addresses and ports of the packet and its time. The
`stats` reply counts what was sent.
"""
import os
import socket
import subprocess
import threading
import time

import calls
import harness as h

WATCHED = h.CALLER_CLEAN     # "+8613512345678": passed by the rules
OTHER = h.CALLER_TAG         # tagged, not exported
AGENT_ID = 2001
AUTH_KEY = "it-hep-key"


class Collector(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.got.append(data)


def tshark_hep(t, pcap, port):
    lua = os.path.join(t.args.source_dir, "tests", "tools", "hep3.lua")
    fields = ["hep3.correlation_id", "sip.Call-ID", "sip.Method", "sip.Status-Code", "hep3.agent_id",
              "hep3.auth_key", "hep3.proto_type", "hep3.src_ip4", "hep3.dst_ip4", "hep3.src_port",
              "hep3.dst_port", "hep3.time_sec", "hep3.ip_proto"]
    cmd = [t.args.tshark, "-X", f"lua_script:{lua}", "-r", pcap, "-d", f"udp.port=={port},hep3", "-Y", "sip",
           "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    t.check(r.returncode == 0, f"tshark on the HEP capture: {r.returncode} {r.stderr}")
    return [dict(zip(fields, line.split("|"))) for line in r.stdout.splitlines() if line]


with h.Test("hep_export", __doc__) as t:
    art = t.compile_rules("rules", h.packet_rules(version="hep-1"))
    col = Collector()
    col.start()
    extra = f"""export:
  hep:
    collector: "127.0.0.1:{col.port}"
    transport: udp
    agent_id: {AGENT_ID}
    auth_key: "{AUTH_KEY}"
    match: caller
    value: "{WATCHED}"
"""
    dp, cl = calls.data_plane(t, "hep", extra_yaml=extra, artifact=art)
    scenario = []
    for caller, tag in ((WATCHED, "w"), (OTHER, "o")):
        scenario.append((caller, calls.answered(caller, f"hep-{tag}-answered@it.sipwall")))
        scenario.append((caller, calls.cancelled(caller, f"hep-{tag}-cancelled@it.sipwall")))
        scenario.append((caller, calls.refused_by_core(caller, f"hep-{tag}-busy@it.sipwall")))
    t0 = int(time.time())
    with dp:
        cl.open()
        dp.start()
        cl.wait_open()
        for _, call in scenario:
            cl.play(call)
        n_expected = sum(len(call) for caller, call in scenario if caller == WATCHED)
        end = time.monotonic() + 10
        while len(col.got) < n_expected and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3)  # anything more that would (wrongly) come
        st = dp.stats()
        cl.close()
        t.eq(dp.stop(), 0, "exit code after SIGTERM")
    col.stop.set()
    col.join(2)

    w = st.get("watch", {})
    hep = w.get("hep") or {}
    t.eq((hep.get("collector"), hep.get("transport")), (f"127.0.0.1:{col.port}", "udp"), "stats: watch.hep")
    t.eq(hep.get("sent"), n_expected, "stats: HEP packets sent")
    t.eq((hep.get("dropped"), hep.get("too_large"), hep.get("not_decoded")), (0, 0, 0), "stats: nothing lost")
    c = st["counters"]
    t.eq(c["watch_marked"], 3, "counters: watch_marked (the three INVITEs of the watched caller)")
    t.eq(c["watch_copied"], n_expected, "counters: watch_copied")
    t.eq((c["watch_ring_full"], c["watch_no_mbuf"], c["watch_evicted"]), (0, 0, 0), "counters: no copy lost")

    sp = h.sippcap()
    pcap = t.path("collector.pcap")
    sp.write_pcap(pcap, [sp.udp_frame("127.0.0.1", "127.0.0.1", 40000, col.port, d) for d in col.got])
    rows = tshark_hep(t, pcap, col.port)
    t.eq(len(rows), len(col.got), "every datagram the collector got decodes as HEP carrying SIP")
    got = sorted((r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"]) for r in rows)
    want = sorted((cid, what) for caller, call in scenario if caller == WATCHED
                  for cid, what in ((calls.call_id_of(fr), wh) for _, fr, wh in call))
    t.eq(got, want, "the packets of the watched calls, each once (Call-ID, method or status)")
    for r in rows:
        t.eq(r["hep3.correlation_id"], r["sip.Call-ID"], "correlation id = Call-ID")
        t.eq((r["hep3.agent_id"], r["hep3.auth_key"], r["hep3.proto_type"], r["hep3.ip_proto"]),
             (str(AGENT_ID), AUTH_KEY, "1", "17"), "agent id, auth key, protocol type SIP, UDP")
        from_trunk = r["sip.Method"] in ("INVITE", "ACK", "BYE", "CANCEL")
        want_ips = (h.PEER4, h.CORE4) if from_trunk else (h.CORE4, h.PEER4)
        t.eq((r["hep3.src_ip4"], r["hep3.dst_ip4"], r["hep3.src_port"], r["hep3.dst_port"]),
             want_ips + ("5060", "5060"), f"addresses and ports of {r['sip.Call-ID']} {r['sip.Method']}")
        t.check(t0 - 5 <= int(r["hep3.time_sec"] or 0) <= time.time() + 5, f"HEP time {r['hep3.time_sec']} is now")
