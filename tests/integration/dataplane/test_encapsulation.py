#!/usr/bin/env python3
"""The actions behind 802.1Q, QinQ and IPv6 (plain and with extension headers).

Same checks as udp_actions, on INVITEs behind one VLAN tag, two tags
(802.1ad 0x88A8 and pre-standard 0x9100 outer tags, and 0x8100/0x8100), IPv6
without and with Hop-by-Hop / Destination Options headers, and IPv6 behind
VLAN and QinQ. Replies must carry the request's tags (ids and TPIDs) and drop
the IPv6 extension headers; tagged INVITEs must equal a freshly built frame
with the same encapsulation. A frame with three VLAN tags is documented as
`not_ip` (docs/packet-handling.md §1): it is forwarded untouched even though it
holds a blocked INVITE.
"""
import harness as h
import traffic as tr

with h.Test("encapsulation", __doc__) as t:
    C = []
    inv = tr.udp_invite_case
    # 802.1Q
    for caller, label in ((h.CALLER_CLEAN, "pass"), (h.CALLER_608, "608"), (h.CALLER_TAG, "tag"),
                          (h.CALLER_DROP, "drop")):
        C.append(inv(f"vlan100-{label}", caller, vlans=(100,)))
    C.append(inv("vlan100-compact-603", h.CALLER_603, vlans=(100,), compact=True))
    C.append(tr.raw_case("vlan100-arp", tr.arp_frame(vlans=(100,))))
    # QinQ
    for caller, label in ((h.CALLER_CLEAN, "pass"), (h.CALLER_608, "608"), (h.CALLER_TAG, "tag"),
                          (h.CALLER_DROP, "drop")):
        C.append(inv(f"qinq-{label}", caller, vlans=(200, 100)))
    C.append(inv("qinq-9100-603", h.CALLER_603, vlans=(300, 30), tpids=(0x9100, 0x8100)))
    C.append(inv("qinq-8100-8100-tag", h.CALLER_TAG, vlans=(10, 20), tpids=(0x8100, 0x8100)))
    # IPv6
    for caller, label in ((h.CALLER_CLEAN, "pass"), (h.CALLER_603, "603"), (h.CALLER_TAG, "tag"),
                          (h.CALLER_DROP, "drop")):
        C.append(inv(f"ipv6-{label}", caller, src=h.PEER6))
    for caller, label in ((h.CALLER_CLEAN, "pass"), (h.CALLER_608, "608"), (h.CALLER_TAG, "tag"),
                          (h.CALLER_DROP, "drop")):
        C.append(inv(f"ipv6-hbh-{label}", caller, src=h.PEER6, ext=tr.hop_by_hop()))
    C.append(inv("ipv6-hbh-dstopt-608", h.CALLER_608, src=h.PEER6, ext=tr.dest_opts_then_hbh()))
    C.append(inv("ipv6-hbh-dstopt-tag", h.CALLER_TAG, src=h.PEER6, ext=tr.dest_opts_then_hbh()))
    C.append(inv("ipv6-compact-608", h.CALLER_608, src=h.PEER6, compact=True))
    C.append(inv("ipv6-vlan-608", h.CALLER_608, src=h.PEER6, vlans=(120,)))
    C.append(inv("ipv6-qinq-hbh-608", h.CALLER_608, src=h.PEER6, vlans=(200, 120), ext=tr.hop_by_hop()))
    C.append(inv("ipv6-qinq-tag", h.CALLER_TAG, src=h.PEER6, vlans=(200, 120)))
    C.append(inv("three-tags-not-ip", h.CALLER_608, vlans=(1, 2, 3), tpids=(0x88A8, 0x8100, 0x8100),
                 expect="forward"))
    C.append(inv("pass-after-all", h.CALLER_CLEAN))

    frames = [f for c in C for f in c.frames]
    art = t.compile_rules("rules", h.packet_rules())
    out_t, out_c, st, _ = h.run_pcap(t, "encap", frames, art)
    tr.check_outputs(t, "encap", C, out_t, out_c, t.path("encap-trunk-out.pcap"),
                     t.path("encap-core-out.pcap"))

    c = st["counters"]
    n = lambda e: sum(1 for x in C if x.expect == e)  # noqa: E731
    t.eq(c["replies_sent"], n("reject"), "replies_sent")
    t.eq(c["rejected"], n("reject"), "rejected")
    t.eq(c["dropped"], n("drop"), "dropped")
    t.eq(c["tagged"], n("tag"), "tagged")
    t.eq(c["forwarded"], n("forward") + n("tag"), "forwarded")
    t.eq(c["non_sip"], 2, "non_sip (ARP, the triple-tagged frame)")
    t.eq(st["decode_errors"].get("not_ip"), 2, "decode_errors.not_ip")
    t.eq(c["invites"], len(C) - 2, "invites classified (all but the ARP and the three-tag frame)")
