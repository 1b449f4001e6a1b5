#!/usr/bin/env python3
"""HEPv3 export to a collector (docs/export.md), decoded by tshark.

A Python UDP socket is the collector. The data plane (trunk and core ports
on FIFOs, calls.py) exports the calls of one caller (export.hep.match:
caller): an answered call (INVITE, 180, 200, ACK, BYE, 200), a cancelled one
(INVITE, 180, CANCEL, 200, 487, ACK) and one the core refuses (INVITE, 486,
ACK), and an answered one whose 200 OK (a 3 KB SDP) the core sends in IPv4
fragments (one HEP packet: the whole message); the same four calls of
another caller pass too and must not be exported. Then SIP over TCP (calls.tcp_calls): on one connection an
answered and a cancelled call of the watched caller and a refused one of a
third caller, the answered INVITE in two segments, most segments carrying
messages of two calls: each watched message arrives as one HEP packet with
IP protocol 6 and the connection's ports, nothing of the third caller's.
What the collector received is written into a pcap (UDP/IP framing added
here) and read by tshark with the HEPv3 dissector of
tests/tools/hep3.lua (Debian 12's Wireshark has none): every packet of the
watched calls is there once, with its Call-ID as the correlation id, and
nothing of the others; the chunks carry the agent id, the auth key, SIP as
the protocol type, the addresses and ports of the packet and its time. The
`stats` reply counts what was sent.

The same again with HEP sent over TCP, to a collector that starts listening
only after the calls passed: the data plane's connection attempts fail and
are retried with a back-off (counted), the HEP packets wait in its buffer,
and once the collector listens they all arrive, whole, in one connection.
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
OTHER_TCP = "+8613311112222"  # passed by the default action, not exported
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


class TcpCollector(threading.Thread):
    """A HEP collector on TCP that starts listening only when told to: the
    data plane must retry its connection (back-off) until then. HEP is
    self-delimiting ("HEP3", 16-bit length): the stream is cut into packets."""

    def __init__(self):
        super().__init__(daemon=True)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.listening = threading.Event()
        self.stop = threading.Event()
        self.got = []
        self.error = None

    def run(self):
        try:
            self.listening.wait()
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
                srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                srv.bind(("127.0.0.1", self.port))
                srv.listen(1)
                srv.settimeout(0.2)
                buf = b""
                conn = None
                while not self.stop.is_set():
                    if conn is None:
                        try:
                            conn, _ = srv.accept()
                            conn.settimeout(0.2)
                        except socket.timeout:
                            continue
                    try:
                        chunk = conn.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        conn.close()
                        conn = None
                        continue
                    buf += chunk
                    while len(buf) >= 6:
                        if buf[:4] != b"HEP3":
                            raise RuntimeError(f"stream out of step: {buf[:16]!r}")
                        n = int.from_bytes(buf[4:6], "big")
                        if len(buf) < n:
                            break
                        self.got.append(buf[:n])
                        buf = buf[n:]
        except Exception as e:  # reported by the main thread
            self.error = e


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


def tcp_watched(call):
    """The messages of a tcp_calls() connection the caller watch exports."""
    return [m for m in calls.messages(call) if "-w-" in m[0]]


def scenario_of(tag):
    out = []
    for caller, who in ((WATCHED, "w"), (OTHER, "o")):
        out.append((caller, calls.answered(caller, f"hep-{tag}-{who}-answered@it.sipwall")))
        out.append((caller, calls.cancelled(caller, f"hep-{tag}-{who}-cancelled@it.sipwall")))
        out.append((caller, calls.refused_by_core(caller, f"hep-{tag}-{who}-busy@it.sipwall")))
        out.append((caller, calls.answered_fragmented(caller, f"hep-{tag}-{who}-big@it.sipwall",
                                                      ident=0x4300 + len(out))))
    return out


def run(t, art, transport):
    """One data plane exporting over `transport`; returns (stats, datagrams got, collector port, scenario)."""
    col = Collector() if transport == "udp" else TcpCollector()
    col.start()
    extra = f"""export:
  hep:
    collector: "127.0.0.1:{col.port}"
    transport: {transport}
    agent_id: {AGENT_ID}
    auth_key: "{AUTH_KEY}"
    match: caller
    value: "{WATCHED}"
"""
    dp, cl = calls.data_plane(t, "hep-" + transport, extra_yaml=extra, artifact=art)
    scenario = scenario_of(transport)
    tcp = calls.tcp_calls(WATCHED, OTHER_TCP, transport)
    with dp:
        cl.open()
        dp.start()
        cl.wait_open()
        if transport == "tcp":
            # Nobody listens yet: the data plane keeps trying, backing off.
            end = time.monotonic() + 10
            while time.monotonic() < end and dp.stats()["watch"]["hep"]["connect_failures"] < 2:
                time.sleep(0.05)
            hep = dp.stats()["watch"]["hep"]
            t.check(hep["connect_failures"] >= 2 and not hep["connected"],
                    f"tcp: refused connections retried while the collector is away: {hep}")
        for _, call in scenario:
            cl.play(call)
        cl.play(tcp)
        if transport == "tcp":
            col.listening.set()  # queued HEP goes out once the back-off lets it reconnect
        n_expected = sum(len(calls.messages(call)) for caller, call in scenario if caller == WATCHED) + len(
            tcp_watched(tcp))
        end = time.monotonic() + 15
        while len(col.got) < n_expected and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3)  # anything more that would (wrongly) come
        st = dp.stats()
        cl.close()
        t.eq(dp.stop(), 0, f"{transport}: exit code after SIGTERM")
    col.stop.set()
    col.join(2)
    if getattr(col, "error", None):
        t.check(False, f"{transport} collector: {col.error}")
    return st, col.got, col.port, scenario, tcp, n_expected


def check_run(t, transport, st, got, port, scenario, tcp, n_expected, t0):
    w = st.get("watch", {})
    hep = w.get("hep") or {}
    t.eq((hep.get("collector"), hep.get("transport")), (f"127.0.0.1:{port}", transport), f"{transport}: stats watch.hep")
    t.eq(hep.get("sent"), n_expected, f"{transport}: stats: HEP packets sent")
    t.eq((hep.get("dropped"), hep.get("too_large"), hep.get("not_decoded")), (0, 0, 0),
         f"{transport}: stats: nothing lost")
    if transport == "tcp":
        t.eq((hep.get("connected"), hep.get("connects"), hep.get("queued_bytes")), (True, 1, 0),
             f"{transport}: connected once, nothing left queued")
    c = st["counters"]
    t.eq(c["watch_marked"], 6, f"{transport}: counters: watch_marked (the six INVITEs of the watched caller)")
    t.eq(c["watch_copied"], n_expected, f"{transport}: counters: watch_copied")
    t.eq((c["watch_ring_full"], c["watch_no_mbuf"], c["watch_evicted"]), (0, 0, 0),
         f"{transport}: counters: no copy lost")

    sp = h.sippcap()
    pcap = t.path(f"collector-{transport}.pcap")
    sp.write_pcap(pcap, [sp.udp_frame("127.0.0.1", "127.0.0.1", 40000, port, d) for d in got])
    rows = tshark_hep(t, pcap, port)
    t.eq(len(rows), len(got), f"{transport}: every HEP packet the collector got decodes as HEP carrying SIP")
    have = sorted((r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"]) for r in rows)
    want = [(cid, wh) for caller, call in scenario if caller == WATCHED for cid, _, wh in calls.messages(call)]
    want_tcp = sorted((cid, wh) for cid, _, wh in tcp_watched(tcp))
    t.eq(have, sorted(want + want_tcp),
         f"{transport}: the packets of the watched calls, each once (Call-ID, method or status)")
    have_tcp = sorted((r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"]) for r in rows
                      if r["hep3.ip_proto"] == "6")
    t.eq(have_tcp, want_tcp,
         f"{transport}: the SIP-over-TCP messages of the watched calls, each one HEP packet, protocol TCP")
    for r in rows:
        t.eq(r["hep3.correlation_id"], r["sip.Call-ID"], "correlation id = Call-ID")
        on_tcp = r["sip.Call-ID"].startswith("tcp-")
        t.eq((r["hep3.agent_id"], r["hep3.auth_key"], r["hep3.proto_type"], r["hep3.ip_proto"]),
             (str(AGENT_ID), AUTH_KEY, "1", "6" if on_tcp else "17"), "agent id, auth key, protocol type SIP, UDP/TCP")
        from_trunk = r["sip.Method"] in ("INVITE", "ACK", "BYE", "CANCEL")
        want_ips = (h.PEER4, h.CORE4) if from_trunk else (h.CORE4, h.PEER4)
        client = str(calls.TCP_CLIENT_PORT) if on_tcp else "5060"
        want_ports = (client, "5060") if from_trunk else ("5060", client)
        t.eq((r["hep3.src_ip4"], r["hep3.dst_ip4"], r["hep3.src_port"], r["hep3.dst_port"]),
             want_ips + want_ports, f"addresses and ports of {r['sip.Call-ID']} {r['sip.Method']}")
        t.check(t0 - 5 <= int(r["hep3.time_sec"] or 0) <= time.time() + 5, f"HEP time {r['hep3.time_sec']} is now")


with h.Test("hep_export", __doc__) as t:
    art = t.compile_rules("rules", h.packet_rules(version="hep-1"))
    t0 = int(time.time())
    for transport in ("udp", "tcp"):
        check_run(t, transport, *run(t, art, transport), t0)
