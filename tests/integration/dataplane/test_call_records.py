#!/usr/bin/env python3
"""Call records leave the data plane without ever costing a packet
(docs/records.md), on net_pcap.

1. Records flow: 40 INVITEs (one caller dropped by a rule) with a consumer on
   records.socket that reads: exactly 40 invite records arrive, in valid
   frames, with the right Call-IDs, callers, source, trunk and verdict;
   call_records = 40, call_records_dropped = 0.
2. A flood that outruns the consumer: 3000 INVITEs with records.ring_size 64
   and a consumer that connects and never reads (a stopped sipwall-control).
   Every INVITE is forwarded (core port: 3000 frames; the counters add up),
   and every record is either written into the ring or dropped and counted:
   call_records + call_records_dropped = 3000, dropped > 0.
"""
import socket
import struct
import time

import harness as h
import traffic as tr

RULES = """\
version: "it-records.1"
name: it-records
dial_plan: {preset: china}
defaults: {action: pass}
trunks:
  peer: {class: international, sources: [192.0.2.0/24]}
rules:
  - id: drop-one
    match: {caller: {prefix: ["+8613700137000"]}}
    action: drop
"""

REC = 400
HDR = struct.Struct("<IHHII")


def records_from(frames):
    out = []
    for f in frames:
        magic, version, count, size, _ = HDR.unpack_from(f)
        assert magic == 0x31524353 and version == 1 and size == REC, (magic, version, size)
        assert len(f) == HDR.size + count * REC, "frame length"
        for i in range(count):
            r = f[HDR.size + i * REC: HDR.size + (i + 1) * REC]
            text = lambda a, n: r[a:a + n].split(b"\0")[0].decode("utf-8", "replace")  # noqa: E731
            # dataplane/protocol/call_record.h: kind at 24, action 29, src 56..72 (IPv4 mapped),
            # trunk 72, rule 104, caller 232, call_id 336.
            out.append({"kind": r[24], "action": r[29], "src": ".".join(str(b) for b in r[68:72]),
                        "trunk": text(72, 32), "rule": text(104, 64), "caller": text(232, 20),
                        "call_id": text(336, 64)})
    return out


def connect(path, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def invites(n, prefix, drop_every=0):
    frames = []
    for i in range(n):
        caller = h.CALLER_DROP if drop_every and i % drop_every == 0 else h.CALLER_CLEAN
        payload = tr.invite(caller, call_id=f"{prefix}-{i}@records.example")
        frames += tr.udp_builder(h.PEER4, h.CORE4)(payload)
    return frames


def run(t, tag, frames, art, ring, read):
    sp = h.sippcap()
    rx = t.path(tag + "-in.pcap")
    sp.write_pcap(rx, frames)
    trunk_out, core_out = t.path(tag + "-trunk-out.pcap"), t.path(tag + "-core-out.pcap")
    sock = t.path(tag + "-records.sock")
    extra = f"records:\n  enabled: true\n  ring_size: {ring}\n  socket: {sock}\n"
    ports = [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
             ("core", f"net_pcap1,tx_pcap={core_out}", "core")]
    got = []
    with h.Dataplane(t, tag, ports, artifact=art, extra_yaml=extra) as dp:
        dp.start()
        c = connect(sock)
        dp.wait_rx(len(frames))
        if read:
            c.settimeout(0.2)
            end = time.monotonic() + 10
            while time.monotonic() < end and len(records_from(got)) < len(frames):
                try:
                    got.append(c.recv(70000))
                except socket.timeout:
                    pass
        else:
            time.sleep(0.5)  # the records pile up against a consumer that does not read
        st = dp.stats()
        rc = dp.stop()
        t.eq(rc, 0, f"{tag}: exit code after SIGTERM")
        c.close()
        final = dp.final_stats()
    h.check_counters(t, tag, final, sent=len(frames), trunk_out=trunk_out, core_out=core_out)
    return records_from(got), st, final, len(sp.read_pcap(core_out))


def main():
    with h.Test("call_records", __doc__) as t:
        art = t.compile_rules("records", RULES)

        recs, st, final, core = run(t, "flow", invites(40, "flow", drop_every=10), art, 16384, read=True)
        c = final["counters"]
        t.eq((c["call_records"], c["call_records_dropped"]), (40, 0), "flow: 40 records written, none dropped")
        t.eq(len(recs), 40, "flow: 40 records received")
        t.eq(sorted(r["call_id"] for r in recs), sorted(f"flow-{i}@records.example" for i in range(40)),
             "flow: one record per Call-ID")
        t.check(all(r["kind"] == 1 for r in recs), "flow: invite records")
        dropped = [r for r in recs if r["action"] != 0]
        t.eq(sorted(r["call_id"] for r in dropped), sorted(f"flow-{i}@records.example" for i in range(0, 40, 10)),
             "flow: the dropped caller's four calls carry the drop verdict")
        t.check(all(r["rule"] == "drop-one" and r["caller"] == h.CALLER_DROP for r in dropped), f"flow: {dropped[:1]}")
        t.check(all(r["trunk"] == "peer" and r["src"] == h.PEER4 for r in recs), f"flow: trunk and source: {recs[:1]}")
        t.eq(core, 36, "flow: 36 INVITEs reached the core")
        t.eq((st["records"]["enabled"], st["records"]["consumer"]), (True, True), "flow: stats shows the consumer")

        n = 3000
        recs, st, final, core = run(t, "flood", invites(n, "flood"), art, 64, read=False)
        c = final["counters"]
        t.eq(core, n, "flood: every INVITE reached the core (no packet lost for a record)")
        t.eq(c["forwarded"], n, "flood: forwarded")
        t.eq(c["invites"], n, "flood: classified")
        t.check(c["call_records_dropped"] > 0, f"flood: records dropped and counted: {c['call_records_dropped']}")
        t.eq(c["call_records"] + c["call_records_dropped"], n, "flood: every record written or counted as dropped")
        print(f"flood: {c['call_records']} records written, {c['call_records_dropped']} dropped, "
              f"{st['records']['sent']} sent before the consumer's socket filled")


if __name__ == "__main__":
    main()
