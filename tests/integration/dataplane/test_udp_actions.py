#!/usr/bin/env python3
"""Every action on plain IPv4/UDP, packet by packet.

Trunk port: crafted INVITEs (pass, 608, 603, drop, tag; full and compact
headers; with and without SDP), non-INVITE requests and responses from a
blocked caller, and non-SIP frames (ARP, ICMP, DNS on UDP 53, HTTP on TCP 80).
Checks: passed INVITEs and everything not an INVITE leave on the core port
byte-identical; dropped INVITEs appear nowhere; each reject is answered on the
trunk port with a well-formed 603/608 (tshark with checksum validation, and
the SIP text line by line); tagged INVITEs equal a freshly built frame with
the header inserted; a tag that would exceed the core MTU is forwarded
untagged and counted.
"""
import harness as h
import traffic as tr

with h.Test("udp_actions", __doc__) as t:
    s = h.sippcap()
    C = []
    C.append(tr.udp_invite_case("pass", h.CALLER_CLEAN))
    C.append(tr.udp_invite_case("reject-608", h.CALLER_608))
    C.append(tr.udp_invite_case("reject-603", h.CALLER_603))
    C.append(tr.udp_invite_case("drop", h.CALLER_DROP))
    C.append(tr.udp_invite_case("tag", h.CALLER_TAG))
    C.append(tr.udp_invite_case("tag-no-sdp", h.CALLER_TAG, sdp=False))
    C.append(tr.udp_invite_case("reject-608-no-sdp", h.CALLER_608, sdp=False, cseq=7))
    C.append(tr.udp_invite_case("compact-pass", h.CALLER_CLEAN, compact=True))
    C.append(tr.udp_invite_case("compact-608", h.CALLER_608, compact=True))
    C.append(tr.udp_invite_case("compact-603", h.CALLER_603, compact=True, cseq=31))
    C.append(tr.udp_invite_case("compact-tag", h.CALLER_TAG, compact=True))
    C.append(tr.udp_invite_case("compact-drop", h.CALLER_DROP, compact=True))
    # Not INVITEs: forwarded untouched whatever the caller.
    C.append(tr.udp_payload_case("options-from-608-caller", s.request(
        "OPTIONS", ruri=f"sip:{h.CALLER_608}@{h.CORE4}", call_id=tr.next_id("opt"), src=h.PEER4,
        extra=[f"X-Caller: {h.CALLER_608}"])))
    C.append(tr.udp_payload_case("bye", s.request("BYE", ruri=f"sip:13600136000@{h.CORE4}",
                                                  call_id=tr.next_id("bye"), src=h.PEER4, cseq=2)))
    C.append(tr.udp_payload_case("response-200", s.response(200, "OK", call_id=tr.next_id("r200"),
                                                            src=h.PEER4)))
    C.append(tr.udp_payload_case("response-180-from-port-5060", s.response(
        180, "Ringing", call_id=tr.next_id("r180"), src=h.PEER4), sport=5060, dport=41234))
    C.append(tr.raw_case("arp", tr.arp_frame()))
    C.append(tr.raw_case("icmp-echo", tr.icmp_echo_frame()))
    C.append(tr.udp_payload_case("dns-udp-53", tr.dns_query_payload(), sport=53000, dport=53))
    C.append(tr.raw_case("http-tcp-80", tr.http_tcp_frame()))
    C.append(tr.udp_payload_case("invite-text-on-udp-5080-not-inspected",
                                 tr.invite(h.CALLER_608), sport=5080, dport=5080))
    # Tag near the MTU: the IP datagram is 1480 bytes, +43 for the header > 1500.
    big = tr.invite_of_size(h.CALLER_TAG, 1480 - 28)
    C.append(tr.Case("tag-exceeds-mtu", "forward", big, tr.udp_builder(h.PEER4, h.CORE4)))
    # ... and one that just fits (1500 - 43 = 1457 bytes of IP).
    fits = tr.invite_of_size(h.CALLER_TAG, 1457 - 28)
    C.append(tr.Case("tag-fits-mtu", "tag", fits, tr.udp_builder(h.PEER4, h.CORE4)))
    C.append(tr.udp_invite_case("pass-after-all", h.CALLER_CLEAN))

    frames = [f for c in C for f in c.frames]
    art = t.compile_rules("rules", h.packet_rules())
    out_t, out_c, st, dp = h.run_pcap(t, "udp", frames, art)
    tr.check_outputs(t, "udp", C, out_t, out_c, t.path("udp-trunk-out.pcap"), t.path("udp-core-out.pcap"))

    c = st["counters"]
    n = lambda e: sum(1 for x in C if x.expect == e)  # noqa: E731
    t.eq(c["replies_sent"], n("reject"), "replies_sent")
    t.eq(c["rejected"], n("reject"), "rejected")
    t.eq(c["dropped"], n("drop"), "dropped")
    t.eq(c["tagged"], n("tag"), "tagged")
    t.eq(c["tag_skipped_mtu"], 1, "tag_skipped_mtu (the 1480-byte INVITE)")
    t.eq(c["forwarded"], n("forward") + n("tag"), "forwarded")
    t.eq(c["non_invite"], 2, "non_invite (OPTIONS, BYE)")
    t.eq(c["sip_responses"], 2, "sip_responses")
    invites = sum(1 for x in C if x.payload.startswith(b"INVITE") and x.label != "invite-text-on-udp-5080-not-inspected")
    t.eq(c["invites"], invites, "invites")
    t.eq(st["verdicts"]["reject"], n("reject"), "verdicts.reject")
    t.eq(st["verdicts"]["drop"], n("drop"), "verdicts.drop")
    t.eq(st["verdicts"]["tag"], n("tag") + 1, "verdicts.tag (incl. the one over the MTU)")
    hits = {r["id"]: r["hits"] for r in st["rules"]}
    t.eq(hits.get("block-608"), 3, "hits of block-608")
    t.eq(hits.get("block-603"), 2, "hits of block-603")
    t.eq(c["malformed"], 0, "malformed")
    t.eq(c["non_sip"], 5, "non_sip (ARP, ICMP, DNS, HTTP, UDP 5080)")
