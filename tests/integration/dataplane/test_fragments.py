#!/usr/bin/env python3
"""Fragmented INVITEs (IPv4 and IPv6): reassembled, classified, then re-fragmented.

Input fragments are cut at 1500 (IPv4) / 1280 (IPv6); the core port's MTU is
1400, so a passed datagram must leave in *new* fragments of at most 1400 IP
bytes whose reassembly equals the input datagram byte for byte (also after
out-of-order arrival and behind a VLAN tag), as few as the MTU allows: a
datagram the sender cut at 576 leaves in larger pieces, or whole if it fits
(IPv6: as one atomic fragment, which is what rte_ipv6_fragment_packet makes).
Fragments keep the sender's Identification. Blocked datagrams: a reject is
answered with one (unfragmented) 603/608 and nothing reaches the core; a drop
leaves nothing. A tag verdict on a fragmented INVITE is forwarded untagged and
counted (tag_skipped_fragmented). Non-SIP fragments are reassembled and
re-fragmented too. A datagram whose last fragment never comes is freed when
the reassembly timeout (200 ms here) expires and counted in reassembly_failed.
"""
import time

import harness as h
import traffic as tr

with h.Test("fragments", __doc__) as t:
    s = h.sippcap()
    C = []
    fr = tr.frag_invite_case
    C.append(fr("v4-pass", h.CALLER_CLEAN, ident=0x1001))
    C.append(fr("v4-pass-reversed", h.CALLER_CLEAN, ident=0x1002, order="reverse"))
    C.append(fr("v4-pass-middle-first", h.CALLER_CLEAN, ident=0x1003, order=[1, 0, 2]))
    C.append(fr("v4-vlan-pass", h.CALLER_CLEAN, vlans=(100,), ident=0x1004))
    C.append(fr("v4-608", h.CALLER_608, ident=0x1005))
    C.append(fr("v4-603-qinq", h.CALLER_603, vlans=(200, 100), ident=0x1006))
    C.append(fr("v4-drop", h.CALLER_DROP, ident=0x1007))
    C.append(fr("v4-tag-untagged", h.CALLER_TAG, ident=0x1008))
    C.append(fr("v6-pass", h.CALLER_CLEAN, src=h.PEER6, ident=0x2001))
    C.append(fr("v6-pass-reversed", h.CALLER_CLEAN, src=h.PEER6, ident=0x2002, order="reverse"))
    C.append(fr("v6-qinq-pass", h.CALLER_CLEAN, src=h.PEER6, vlans=(200, 120), ident=0x2003))
    C.append(fr("v6-608", h.CALLER_608, src=h.PEER6, ident=0x2004))
    C.append(fr("v6-603", h.CALLER_603, src=h.PEER6, ident=0x2005))
    C.append(fr("v6-drop", h.CALLER_DROP, src=h.PEER6, ident=0x2006))
    # Cut small (576) by the sender: leaves in fewer, larger pieces -- whole,
    # if it fits the core MTU (IPv6: one atomic fragment, DPDK's way).
    C.append(fr("v4-576-whole", h.CALLER_CLEAN, mtu=576, sdp_pad=0, ident=0x100B))
    C.append(fr("v4-576-larger", h.CALLER_CLEAN, mtu=576, ident=0x100C))
    C.append(fr("v6-576-atomic", h.CALLER_CLEAN, src=h.PEER6, mtu=576, sdp_pad=0, ident=0x2007))
    # Non-SIP UDP datagram in fragments (port 9999): reassembled, forwarded re-fragmented.
    junk = bytes(range(256)) * 12
    C.append(tr.Case("v4-non-sip", "refrag", junk,
                     lambda p: s.udp_fragments_v4(h.PEER4, h.CORE4, 40000, 9999, p, ident=0x1009),
                     sport=40000, dport=9999, fragments=True))
    # An INVITE that needs no fragmentation passes unchanged in between.
    C.append(tr.udp_invite_case("whole-pass", h.CALLER_CLEAN))
    # Last fragment missing: absorbed, nothing leaves; the timeout frees it.
    lost = tr.frag_invite_case("v4-incomplete", h.CALLER_CLEAN, ident=0x100A)
    lost.frames = lost.frames[:-1]
    lost.expect = "drop"
    C.append(lost)
    C.append(tr.udp_invite_case("whole-pass-last", h.CALLER_CLEAN))

    frames = [f for c in C for f in c.frames]
    n_frags = sum(len(c.frames) for c in C if c.fragments)
    art = t.compile_rules("rules", h.packet_rules())
    rx = t.path("frag-in.pcap")
    s.write_pcap(rx, frames)
    trunk_out, core_out = t.path("frag-trunk-out.pcap"), t.path("frag-core-out.pcap")
    with h.Dataplane(t, "frag", [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
                                 ("core", f"net_pcap1,tx_pcap={core_out}", "core", 1400)],
                     artifact=art, extra_yaml="fragments:\n  timeout_ms: 200\n") as dp:
        dp.start()
        dp.wait_rx(len(frames))
        # Let the reassembly timeout expire for the incomplete datagram.
        end = time.monotonic() + 10
        while dp.stats()["counters"]["reassembly_failed"] == 0 and time.monotonic() < end:
            time.sleep(0.05)
        t.eq(dp.stop(), 0, "exit code after SIGTERM")
        st = dp.final_stats()
    out_t, out_c = s.read_pcap(trunk_out), s.read_pcap(core_out)
    h.check_counters(t, "frag", st, sent=len(frames), trunk_out=trunk_out, core_out=core_out)
    tr.check_outputs(t, "frag", C, out_t, out_c, trunk_out, core_out, core_mtu=1400)

    c = st["counters"]
    n = lambda e: sum(1 for x in C if x.expect == e and x.fragments)  # noqa: E731
    datagrams = sum(1 for x in C if x.fragments) - 1  # all but the incomplete one
    t.eq(c["fragments_in"], n_frags, "fragments_in")
    t.eq(c["absorbed"], n_frags, "absorbed (every fragment goes into reassembly)")
    t.eq(c["reassembled"], datagrams, "reassembled datagrams")
    t.eq(c["reassembled_forwarded"], n("refrag"), "reassembled_forwarded")
    t.eq(c["reassembled_dropped"], n("reject") + n("drop") - 1, "reassembled_dropped (rejects + drops)")
    t.eq(c["reassembly_failed"], len(lost.frames), "reassembly_failed (fragments of the incomplete datagram)")
    t.eq(c["tag_skipped_fragmented"], 1, "tag_skipped_fragmented")
    t.eq(c["tagged"], 0, "tagged")
    t.eq(c["replies_sent"], n("reject"), "replies_sent")
    t.eq(c["refragment_failed"], 0, "refragment_failed")
    t.eq(c["forwarded"], 2, "forwarded (the two whole INVITEs)")
    t.eq(c["rejected"], 0, "rejected (fragmented rejects count as absorbed + reassembled_dropped)")
    t.eq(c["dropped"], 0, "dropped")
    # Every re-fragment leaves on the core port.
    pieces = sum(tr.refrag_pieces(x, 1400) for x in C if x.expect == "refrag")
    t.eq(st["ports"][1]["tx_packets"], pieces + 2, "core tx = re-fragments + the two whole INVITEs")
