#!/usr/bin/env python3
"""A fragmented INVITE through sipwall-dataplane on net_af_packet (issue 17).

DPDK's net_af_packet asks the kernel to reassemble IPv4 fragments
(PACKET_FANOUT_FLAG_DEFRAG), so a 2,296-byte INVITE sent in two fragments
arrives as one datagram. With the driver's default 2,048-byte ring frames it
is cut (bad_ip_header) and never reaches the core; with framesz=61440 it
arrives whole (framesz=61440: why not more in
dataplane/app/af_packet_ring.h), the data plane parses it and sends it on in fragments of the
core port's MTU, and the core's kernel puts it together again.

Two network namespaces (caller and core) joined by veths to the root
namespace, where the data plane opens both root-side ends (tests/e2e/netns.py).
The caller sends with an ordinary UDP socket (its kernel fragments at MTU
1500); the core receives with one. Run twice: the old ring (the start-up
check must warn, the INVITE must be lost) and the fixed one (no warning, the
INVITE arrives byte for byte). Needs root (namespaces, DPDK); exit 77 without.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
import netns  # noqa: E402

FIXED_RING = "framesz=61440,blocksz=61440,framecnt=256"
BIG_DATAGRAM = 2296  # IP datagram length, as in tests/data/sample.pcap


def invite(call_id, datagram_len):
    """An INVITE whose IPv4 datagram is `datagram_len` bytes (0: no padding)."""
    head = ("INVITE sip:+8613912345678@10.77.0.2 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 10.77.0.1:5060;branch=z9hG4bK-%s\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:+8613512345678@10.77.0.1>;tag=af1\r\n"
            "To: <sip:+8613912345678@10.77.0.2>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:+8613512345678@10.77.0.1:5060>\r\n"
            "Content-Type: application/sdp\r\n") % (call_id, call_id)
    sdp = "v=0\r\no=- 1 1 IN IP4 10.77.0.1\r\ns=-\r\nc=IN IP4 10.77.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    if datagram_len:
        # The body length that makes 20 (IP) + 8 (UDP) + the message exact.
        n = next(n for n in range(datagram_len, 0, -1)
                 if 28 + len(head) + len("Content-Length: %d\r\n\r\n" % n) + n == datagram_len)
        while n - len(sdp) > 72:
            sdp += "a=x:" + "p" * 60 + "\r\n"
        sdp += "a=y:" + "q" * (n - len(sdp) - 6) + "\r\n"
    msg = head + "Content-Length: %d\r\n\r\n" % len(sdp) + sdp
    return msg.encode()


RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
s.settimeout(float(sys.argv[3]))
got = []
try:
    while True:
        got.append(s.recvfrom(65535)[0])
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(b"\0\0\0\0".join(got))
"""

SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: fragment, DF clear
s.bind((sys.argv[1], 5060))
for path in sys.argv[3:]:
    s.sendto(open(path, "rb").read(), (sys.argv[2], 5060))
"""


def one_run(t, topo, tag, ring_args, want_whole):
    vdev = lambda n, ifname: "net_af_packet%d,iface=%s,qpairs=1%s" % (n, ifname, "," + ring_args if ring_args else "")
    ports = [("trunk", vdev(0, topo.dp_trunk), "trunk"), ("core", vdev(1, topo.dp_core), "core")]
    with harness.Dataplane(t, tag, ports, memory_mb=512) as dp:
        check = subprocess.run([t.args.dataplane, "--check", dp.config], capture_output=True, text=True, timeout=30)
        t.eq(check.returncode, 0, "%s: --check exit code" % tag)
        warned = "arrives cut and is counted bad_ip_header" in check.stdout
        if want_whole:
            t.check(not warned, "%s: --check warns about the af_packet frame size:\n%s" % (tag, check.stdout))
        else:
            t.check(warned and "framesz=61440,blocksz=61440" in check.stdout,
                    "%s: --check does not warn that a reassembled datagram is cut:\n%s" % (tag, check.stdout))
        dp.start()
        t.check(("framesz=61440" in dp.log()) != want_whole,
                "%s: the start-up warning in the log is %s:\n%s" % (tag, "present" if want_whole else "absent",
                                                                     dp.log()))
        small = t.write(tag + "-small.sip", "")
        big = t.write(tag + "-big.sip", "")
        small_msg, big_msg = invite(tag + "-small", 0), invite(tag + "-big", BIG_DATAGRAM)
        t.eq(len(big_msg) + 28, BIG_DATAGRAM, "%s: size of the big INVITE's datagram" % tag)
        open(small, "wb").write(small_msg)
        open(big, "wb").write(big_msg)
        got_path = t.path(tag + "-received.bin")
        recv = subprocess.Popen(["ip", "netns", "exec", topo.ns_uas, sys.executable, "-c", RECEIVER, topo.ip_uas,
                                 got_path, "4"])
        time.sleep(0.5)
        subprocess.run(["ip", "netns", "exec", topo.ns_uac, sys.executable, "-c", SENDER, topo.ip_uac, topo.ip_uas,
                        small, big], check=True, timeout=20)
        recv.wait(timeout=30)
        got = open(got_path, "rb").read().split(b"\0\0\0\0") if os.path.getsize(got_path) else []
        rc = dp.stop()
        t.eq(rc, 0, "%s: sipwall-dataplane exit code" % tag)
        st = dp.final_stats()
        c = st["counters"] if "counters" in st else st
        t.check(small_msg in got, "%s: the small INVITE reached the core (got %d datagrams)" % (tag, len(got)))
        if want_whole:
            t.check(big_msg in got, "%s: the 2,296-byte INVITE reached the core whole (got %d datagrams of %s bytes)"
                    % (tag, len(got), [len(g) for g in got]))
            t.eq(c.get("oversize_refragmented"), 1, "%s: oversize_refragmented" % tag)
            t.eq(st["decode_errors"].get("bad_ip_header", 0), 0, "%s: bad_ip_header" % tag)
        else:
            t.check(big_msg not in got, "%s: the cut INVITE cannot have reached the core" % tag)
            t.check(st["decode_errors"].get("bad_ip_header", 0) >= 1,
                    "%s: bad_ip_header counts the cut datagram (%s)" % (tag, st["decode_errors"]))


def main():
    with harness.Test("af_packet_fragments", __doc__) as t:
        for tool in ("ip", "ethtool"):
            if subprocess.run(["which", tool], capture_output=True).returncode != 0:
                print("SKIP af_packet_fragments: %s not installed" % tool)
                sys.exit(harness.SKIP)
        topo = netns.Topology("f%d" % (os.getpid() % 10000))
        try:
            topo.up()
            one_run(t, topo, "default-ring", "", want_whole=False)
            one_run(t, topo, "large-ring", FIXED_RING, want_whole=True)
        finally:
            topo.down()


if __name__ == "__main__":
    main()
