#!/usr/bin/env python3
"""Writes the seed corpora of the frame fuzzers from tests/data/sample.pcap.

  seeds/frame_decode/sample-NN   every frame of the sample (IPv4/IPv6, VLAN/QinQ,
                                 UDP, TCP, fragments, ARP), one file each
  seeds/tcp_stream/...           scripts for fuzz_tcp_stream: records of
                                 [op][a][b][len hi][len lo][frame]; the sample's
                                 TCP segments under each operation, and short
                                 conversations (client and core segments with
                                 consistent numbers: forward, remove, tag, hold)

Run from anywhere; the seeds are committed, so only rerun this when the sample
or the record format changes:
  python3 tests/fuzz/make_net_seeds.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import sippcap as sp  # noqa: E402

CLIENT, CORE = "192.0.2.11", "10.10.0.10"
CLIENT6, CORE6 = "2001:db8:a::11", "2001:db8:c0::10"


def record(op, a, b, frame):
    return bytes([op, a, b]) + struct.pack("!H", len(frame)) + frame


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def invite(n, src=CLIENT):
    return sp.invite(ruri=f"sip:13600136000@{CORE}", from_uri=f"sip:+8613800138000@{src}",
                     to_uri=f"sip:13600136000@{CORE}", call_id=f"seed-{n}@x", src=src, sdp=n % 2 == 0,
                     transport="TCP")


def tcp(src, dst, sport, dport, payload, seq, ack, flags=0x18, vlans=()):
    seg = sp.tcp(src, dst, sport, dport, payload, seq=seq, ack=ack, flags=flags)
    if ":" in src:
        return sp.ether(sp.ipv6(src, dst, 6, seg), sp.ETH_IPV6, vlans)
    return sp.ether(sp.ipv4(src, dst, 6, seg), sp.ETH_IPV4, vlans)


def main():
    frames = sp.read_pcap(os.path.join(ROOT, "tests", "data", "sample.pcap"))
    fd = os.path.join(HERE, "seeds", "frame_decode")
    for i, f in enumerate(frames):
        write(fd, "sample-%02d" % (i + 1), f)
    ts = os.path.join(HERE, "seeds", "tcp_stream")
    tcp_frames = [f for f in frames if len(f) > 23 and f[12:14] == b"\x08\x00" and f[23] == 6]
    for k, f in enumerate(tcp_frames):
        for op in range(8):
            write(ts, "sample%d-op%d" % (k + 1, op), record(op, 40, 200, f))

    # Conversations: the client sends two INVITEs in one segment and one in
    # two segments; the core acknowledges; edits in between.
    a, b, c = invite(1), invite(2), invite(3)
    cs, ss = 1000, 5000  # client and server initial numbers
    one = tcp(CLIENT, CORE, 40001, 5060, a + b, cs, ss)
    ack1 = tcp(CORE, CLIENT, 5060, 40001, b"", ss, cs + len(a) + len(b), flags=0x10)
    half = len(c) // 2
    p1 = tcp(CLIENT, CORE, 40001, 5060, c[:half], cs + len(a) + len(b), ss)
    p2 = tcp(CLIENT, CORE, 40001, 5060, c[half:], cs + len(a) + len(b) + half, ss, flags=0x19)
    write(ts, "conv-remove-then-ack", record(1, 0, 0, one) + record(3, 0, 255, one) + record(0, 0, 0, ack1))
    write(ts, "conv-tag-then-forward", record(1, 0, 0, one) + record(2, 120, 30, one) + record(0, 0, 0, ack1)
          + record(0, 0, 0, p1))
    write(ts, "conv-hold-two-parts", record(5, 0, 0, p1) + record(5, 0, 0, p2) + record(0xE6, 10, 0, p1))
    write(ts, "conv-cut-and-remove", record(4, 0, 120, one) + record(3, 10, 90, one) + record(3, 0, 200, p2))
    v6 = tcp(CLIENT6, CORE6, 40002, 5060, a, 7000, 9000, vlans=(120,))
    v6ack = tcp(CORE6, CLIENT6, 5060, 40002, b"", 9000, 7000 + len(a), flags=0x10)
    write(ts, "conv-ipv6-vlan", record(1, 0, 0, v6) + record(0x13, 0, 255, v6) + record(0, 0, 0, v6ack))
    syn = tcp(CLIENT, CORE, 40003, 5060, b"", 2999, 0, flags=0x02)
    rst = tcp(CLIENT, CORE, 40003, 5060, b"", 3000, 0, flags=0x04)
    write(ts, "conv-syn-rst", record(1, 0, 0, syn) + record(1, 0, 0, rst) + record(0, 0, 0, one))
    write(ts, "plan-units", record(7, 0, 0, bytes([3, 20, 30, 10, 1, 12, 0, 8, 1, 5, 0x80])) +
          record(7, 0, 0, bytes([1, 60, 0, 20, 0, 20, 1, 20, 2])))
    print(f"seeds written: {len(frames)} frames in {fd}, {len(os.listdir(ts))} scripts in {ts}")


if __name__ == "__main__":
    main()
