#!/usr/bin/env python3
"""Frames over 2 KB: inspected like any other (issue 12, item 8).

net_pcap (like any PMD with scatter RX) hands the worker a frame longer than
one pool mbuf -- 2048 bytes of data room (RTE_MBUF_DEFAULT_BUF_SIZE) -- as a
chain of mbufs. Chains used to be forwarded uninspected and counted non_sip,
under fail_closed too and before the deny_sources check. Now a chain is
copied into one mbuf of the worker's jumbo pool and handled as if it had
arrived whole; one too large for any mbuf (over 65,407 bytes) gets the deny
check and then the malformed policy (docs/packet-handling.md §0).

Every input frame but `small-pass` is over 2048 bytes. Run under fail_open and
fail_closed, ports at MTU 1500:
  big-pass    3 KB INVITE, clean caller          -> forwarded byte-identical
  big-608     3 KB INVITE, 608 caller            -> 608 on the trunk port, nothing at the core
  big-drop    3 KB INVITE, drop caller           -> nothing anywhere
  big-tag     3 KB INVITE, tag caller            -> forwarded untagged (over the MTU: tag_skipped_mtu)
  via30-pass  30 Via headers, clean caller       -> forwarded byte-identical
  via30-608   30 Via headers, 608 caller         -> reject verdict; the response carries 30 Via and
                                                    is over the MTU: reply_failed, INVITE dropped
  hdr120      120 header lines                   -> too_many_headers: forwarded (fail_open) / dropped
  denied-big  3 KB INVITE from a denied prefix   -> dropped (source_denied)
  tcp-two     [clean INVITE][608 INVITE], one 2.3 KB segment -> the 608 removed and answered
              over TCP, the clean one goes on alone with the segment's numbers
  tcp-cut     [608 INVITE][clean 2.6 KB INVITE][608 INVITE], one segment -> two edits, so
              the segment is cut in two (at most one edit per piece); the piece with
              the clean INVITE is bigger than a pool mbuf and is cut into a jumbo
              mbuf: it reaches the core alone, seq moved back; both 608s answered
  huge        a 65,549-byte frame (IPv4 datagram of 65,535 bytes to 5060) -> multiseg_too_large:
              forwarded (fail_open) / dropped (fail_closed)
  huge-denied the same from a denied prefix      -> dropped by deny_sources first
  small-pass  a normal INVITE last               -> forwarded byte-identical
And once more at MTU 9000 on both ports (fail_open): big-tag is tagged (equal
to a fresh build) and via30-608 is answered (a 2.3 KB response, built in a
jumbo mbuf).

Counters: multiseg_linearised = the chains inspected, multiseg_too_large,
source_denied, parse_errors, verdicts; the invariant rx = forwarded + dropped +
rejected + absorbed + held; tshark finds every output frame well-formed.
"""
import harness as h
import traffic as tr

PSH_ACK, ACK = 0x18, 0x10
DENIED_SRC = "198.51.100.77"
DENY = "deny_sources:\n  - {cidr: 198.51.100.0/24, id: big-senders}\n"
MBUF_DATA_ROOM = 2048

with h.Test("multiseg", __doc__) as t:
    s = h.sippcap()

    def big(caller, **kw):
        return tr.invite(caller, sdp_pad=30, **kw)

    def vias(n):
        return [f"Via: SIP/2.0/UDP 10.20.{i}.1:5060;branch=z9hG4bK-hop{i}" for i in range(1, n)]

    def cases(policy, mtu):
        """(cases checked by traffic.check_outputs, TCP flows checked here, huge frames)."""
        fwd_or_drop = "forward" if policy == "fail_open" else "drop"
        C = [
            tr.Case("big-pass", "forward", big(h.CALLER_CLEAN), tr.udp_builder(h.PEER4, h.CORE4)),
            tr.Case("big-608", "reject", big(h.CALLER_608), tr.udp_builder(h.PEER4, h.CORE4), code=608),
            tr.Case("big-drop", "drop", big(h.CALLER_DROP), tr.udp_builder(h.PEER4, h.CORE4)),
            tr.Case("big-tag", "tag" if mtu > 1500 else "forward", big(h.CALLER_TAG),
                    tr.udp_builder(h.PEER4, h.CORE4)),
            tr.Case("via30-pass", "forward", tr.invite(h.CALLER_CLEAN, extra=vias(30)),
                    tr.udp_builder(h.PEER4, h.CORE4)),
            tr.Case("via30-608", "reject" if mtu > 1500 else "drop", tr.invite(h.CALLER_608, extra=vias(30)),
                    tr.udp_builder(h.PEER4, h.CORE4), code=608),
            tr.Case("hdr120", fwd_or_drop,
                    tr.invite(h.CALLER_CLEAN, extra=[f"X-Filler-{i}: {'f' * 8}" for i in range(106)]),
                    tr.udp_builder(h.PEER4, h.CORE4)),
            tr.Case("denied-big", "drop", big(h.CALLER_CLEAN, src=DENIED_SRC), tr.udp_builder(DENIED_SRC, h.CORE4),
                    src=DENIED_SRC),
        ]
        return C

    # TCP flows (client port -> input segment), built once: the same under every run.
    two_clean, two_608 = (tr.invite(h.CALLER_CLEAN, transport="TCP", sdp_pad=8),
                          tr.invite(h.CALLER_608, transport="TCP", sdp_pad=8))
    tcp_two = dict(port=41001, seq=1000, ack=2001, payload=two_clean + two_608)
    cut_608, cut_clean, cut_608b = (tr.invite(h.CALLER_608, transport="TCP"),
                                    tr.invite(h.CALLER_CLEAN, transport="TCP", sdp_pad=22),
                                    tr.invite(h.CALLER_608, transport="TCP", cseq=2))
    tcp_cut = dict(port=41002, seq=5000, ack=6001, payload=cut_608 + cut_clean + cut_608b)
    for f in (tcp_two, tcp_cut):
        f["frame"] = tr.tcp_builder(h.PEER4, h.CORE4, f["port"], 5060, seq=f["seq"], ack=f["ack"])(f["payload"])[0]

    # Frames too large for one mbuf: an IPv4 datagram of 65,535 bytes.
    def huge(src):
        return s.ether(s.ipv4(src, h.CORE4, 17, s.udp(src, h.CORE4, 5060, 5060, b"J" * (65535 - 28))), s.ETH_IPV4)
    huge_ok, huge_denied = huge(h.PEER4), huge(DENIED_SRC)
    small = tr.Case("small-pass", "forward", tr.invite(h.CALLER_CLEAN), tr.udp_builder(h.PEER4, h.CORE4))

    def run(policy, mtu):
        tag = f"{policy}-mtu{mtu}"
        C = cases(policy, mtu)
        udp_frames = [f for c in C for f in c.frames]
        for c in C:
            t.check(all(len(f) > MBUF_DATA_ROOM for f in c.frames),
                    f"{tag}: {c.label}: {len(c.frames[0])} bytes, more than one mbuf holds")
        frames = udp_frames + [tcp_two["frame"], tcp_cut["frame"], huge_ok, huge_denied] + small.frames
        t.check(all(len(f) > MBUF_DATA_ROOM for f in frames[len(udp_frames):-1]), f"{tag}: TCP and huge frames are chains")
        art = t.compile_rules(f"rules-{tag}", h.packet_rules(version=f"it-{tag}", malformed=policy) + DENY)
        out_t, out_c, st, _ = h.run_pcap(t, tag, frames, art, core_mtu=mtu if mtu != 1500 else None,
                                         trunk_mtu=mtu if mtu != 1500 else None)
        cn = st["counters"]

        # Split the outputs: UDP cases, the two TCP flows, the huge frames, the last INVITE.
        def kind(raw):
            f = h.decode(raw)
            if f.proto == 6:
                return f.sport if f.sport != 5060 else f.dport
            if f.payload.startswith(b"JJJJ"):
                return "huge"
            return "udp"
        by = {}
        for side, out in (("trunk", out_t), ("core", out_c)):
            for raw in out:
                by.setdefault((side, kind(raw)), []).append(raw)
        udp_t, udp_c = by.get(("trunk", "udp"), []), by.get(("core", "udp"), [])
        sp = h.sippcap()
        sp.write_pcap(t.path(f"{tag}-udp-trunk.pcap"), udp_t)
        sp.write_pcap(t.path(f"{tag}-udp-core.pcap"), udp_c)
        tr.check_outputs(t, tag, C + [small], udp_t, udp_c, t.path(f"{tag}-udp-trunk.pcap"),
                         t.path(f"{tag}-udp-core.pcap"), core_mtu=mtu)
        for side in ("trunk", "core"):
            p = t.path(f"{tag}-{side}-out.pcap")
            t.eq(h.tshark_malformed(t, p), [], f"{tag}: tshark finds nothing wrong in {p}")

        # tcp-two: the clean INVITE goes on alone, the 608 is answered.
        core_two = [h.decode(r) for r in by.get(("core", tcp_two["port"]), [])]
        if t.eq(len(core_two), 1, f"{tag}: tcp-two: one segment reaches the core"):
            f = core_two[0]
            t.eq((f.seq, f.ack, f.tcp_flags), (tcp_two["seq"], tcp_two["ack"], PSH_ACK), f"{tag}: tcp-two: numbers")
            t.check(f.payload == two_clean, f"{tag}: tcp-two: the payload is the clean INVITE alone "
                                            f"({len(f.payload)} bytes, want {len(two_clean)})")
            t.check(f.l4_checksum_ok(), f"{tag}: tcp-two: TCP checksum")
        back_two = [h.decode(r) for r in by.get(("trunk", tcp_two["port"]), [])]
        if t.eq(len(back_two), 1, f"{tag}: tcp-two: one response back"):
            r = back_two[0]
            t.eq((r.seq, r.ack), (tcp_two["ack"], tcp_two["seq"] + len(tcp_two["payload"])),
                 f"{tag}: tcp-two: response at the client's ack, acknowledging both INVITEs")
            t.check(r.payload.startswith(b"SIP/2.0 608 "), f"{tag}: tcp-two: a 608 ({r.payload[:20]!r})")
            t.check(r.l4_checksum_ok(), f"{tag}: tcp-two: response TCP checksum")
        # tcp-cut: the 608 removed; the clean one, bigger than a pool mbuf, cut into its own segment.
        core_cut = [h.decode(r) for r in by.get(("core", tcp_cut["port"]), [])]
        if t.eq(len(core_cut), 1, f"{tag}: tcp-cut: one segment reaches the core"):
            f = core_cut[0]
            t.eq((f.seq, f.ack), (tcp_cut["seq"], tcp_cut["ack"]),
                 f"{tag}: tcp-cut: numbers (seq moved back over the removed 608)")
            t.check(f.payload == cut_clean, f"{tag}: tcp-cut: the payload is the clean INVITE alone "
                                            f"({len(f.payload)} bytes, want {len(cut_clean)})")
            t.check(len(f.raw) > MBUF_DATA_ROOM, f"{tag}: tcp-cut: the cut segment ({len(f.raw)} bytes) is over 2 KB")
            t.check(f.l4_checksum_ok(), f"{tag}: tcp-cut: TCP checksum")
        back_cut = [h.decode(r) for r in by.get(("trunk", tcp_cut["port"]), [])]
        if t.eq(len(back_cut), 2, f"{tag}: tcp-cut: two responses back"):
            r1, r2 = back_cut
            t.eq((r1.seq, r1.ack), (tcp_cut["ack"], tcp_cut["seq"] + len(cut_608)),
                 f"{tag}: tcp-cut: first response acknowledging the first removed INVITE")
            # Its ack stays at the first removed INVITE while the client has not
            # acknowledged the first response (it must resend that INVITE if
            # the response is lost: docs/packet-handling.md §6).
            t.eq((r2.seq, r2.ack), (tcp_cut["ack"] + len(r1.payload), tcp_cut["seq"]),
                 f"{tag}: tcp-cut: second response after the first, ack held at the first removal")
            t.check(all(r.payload.startswith(b"SIP/2.0 608 ") and r.l4_checksum_ok() for r in back_cut),
                    f"{tag}: tcp-cut: two 608s with good checksums")
        # huge: the malformed policy; the denied one never reaches it.
        huge_out = by.get(("core", "huge"), [])
        if policy == "fail_open":
            # net_pcap's tx_pcap writes at most 16,128 bytes of a chained
            # frame (its copy buffer): compare what it wrote.
            if t.eq(len(huge_out), 1, f"{tag}: huge: forwarded (fail_open)"):
                t.eq(huge_out[0], huge_ok[:len(huge_out[0])], f"{tag}: huge: the frame that came in")
        else:
            t.eq(len(huge_out), 0, f"{tag}: huge: dropped (fail_closed)")
        t.eq(by.get(("trunk", "huge"), []), [], f"{tag}: huge: nothing sent back")

        # Counters.
        n_udp_chains = len(C)
        t.eq(cn["multiseg_linearised"], n_udp_chains + 2, f"{tag}: multiseg_linearised (UDP cases + 2 TCP segments)")
        t.eq(cn["multiseg_too_large"], 2, f"{tag}: multiseg_too_large (huge, huge-denied)")
        t.eq(cn["multiseg_no_mbuf"], 0, f"{tag}: multiseg_no_mbuf")
        t.eq(cn["source_denied"], 2, f"{tag}: source_denied (denied-big, huge-denied)")
        t.eq(st["deny_sources"][0]["software"] if st["deny_sources"] else None, 2, f"{tag}: big-senders hits")
        t.eq(cn["non_sip"], 0, f"{tag}: non_sip (nothing passed uninspected)")
        t.eq(st["parse_errors"]["too_many_headers"], 1, f"{tag}: parse_errors.too_many_headers (hdr120)")
        t.eq(cn["malformed"], 2, f"{tag}: malformed (hdr120, huge)")
        t.eq(cn["malformed_forwarded" if policy == "fail_open" else "malformed_dropped"], 2,
             f"{tag}: malformed {policy}")
        # INVITEs classified: big-pass/608/drop/tag, via30 x2, tcp x5, small.
        t.eq(cn["invites"], 12, f"{tag}: invites")
        t.eq(st["verdicts"]["reject"], 5, f"{tag}: verdicts.reject (big-608, via30-608, tcp-two, tcp-cut x2)")
        t.eq(st["verdicts"]["drop"], 1, f"{tag}: verdicts.drop")
        t.eq(st["verdicts"]["tag"], 1, f"{tag}: verdicts.tag")
        if mtu > 1500:
            t.eq((cn["tagged"], cn["tag_skipped_mtu"]), (1, 0), f"{tag}: big-tag tagged")
            t.eq((cn["replies_sent"], cn["reply_failed"]), (5, 0), f"{tag}: every reject answered")
        else:
            t.eq((cn["tagged"], cn["tag_skipped_mtu"]), (0, 1), f"{tag}: big-tag over the MTU, untagged")
            t.eq((cn["replies_sent"], cn["reply_failed"]), (4, 1),
                 f"{tag}: the 30-Via response is over the MTU (reply_failed)")

    run("fail_open", 1500)
    run("fail_closed", 1500)
    run("fail_open", 9000)
