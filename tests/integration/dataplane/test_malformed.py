#!/usr/bin/env python3
"""Malformed SIP under the rule set's two policies (defaults.malformed).

The same input runs twice: with `fail_open` every malformed message leaves on
the core port byte-identical; with `fail_closed` none does. Malformed here:
an INVITE without Call-ID, an INVITE with a control character in a header,
an INVITE whose Content-Length runs past the datagram, binary junk on UDP
5060, an INVITE split across two TCP segments (the data plane inspects whole
messages per segment: both halves go to the policy, docs/packet-handling.md
§6.6), and IPv6 fragments whose Fragment header follows a Hop-by-Hop header
(DPDK's reassembler cannot take them: policy). Good INVITEs in between (pass
and 608) are handled normally under both policies, and the counters say how
many messages each policy forwarded or dropped, by parse-error reason.
CRLF keep-alives (UDP and TCP) are not malformed: forwarded under both.
"""
import harness as h
import traffic as tr

with h.Test("malformed", __doc__) as t:
    s = h.sippcap()

    def bad_invite(label, mutate):
        p = mutate(tr.invite(h.CALLER_608))
        return tr.Case(label, "malformed", p, tr.udp_builder(h.PEER4, h.CORE4))

    C = []
    C.append(tr.udp_invite_case("good-pass", h.CALLER_CLEAN))
    C.append(bad_invite("no-call-id", lambda p: b"\r\n".join(
        ln for ln in p.split(b"\r\n") if not ln.startswith(b"Call-ID:"))))
    C.append(tr.udp_invite_case("good-608", h.CALLER_608))
    C.append(bad_invite("control-char", lambda p: p.replace(b"Max-Forwards: 69", b"Max-Forwards: 6\x019")))
    C.append(bad_invite("content-length-too-big", lambda p: p.replace(
        b"Content-Length: " + str(len(p.split(b"\r\n\r\n", 1)[1])).encode(), b"Content-Length: 4000")))
    C.append(tr.Case("binary-junk", "malformed", bytes(range(200)), tr.udp_builder(h.PEER4, h.CORE4)))
    # TCP: one INVITE (from the blocked caller) in two segments.
    whole = tr.invite(h.CALLER_608, transport="TCP")
    cut = len(whole) // 2
    for i, (part, seq) in enumerate(((whole[:cut], 1000), (whole[cut:], 1000 + cut))):
        C.append(tr.Case(f"tcp-split-{i + 1}", "malformed", part,
                         tr.tcp_builder(h.PEER4, h.CORE4, 40100, 5060, seq=seq, ack=1)))
    # IPv6: Hop-by-Hop, then the Fragment header.
    v6 = tr.invite(h.CALLER_608, src=h.PEER6, sdp_pad=30)
    dgram = s.udp(h.PEER6, h.CORE6, 5060, 5060, v6)
    for i, off in enumerate(range(0, len(dgram), 1200)):
        more = off + 1200 < len(dgram)
        fh = bytes([17, 0]) + (off | int(more)).to_bytes(2, "big") + (0xABCD).to_bytes(4, "big")
        l3 = s.ipv6(h.PEER6, h.CORE6, 0, dgram[off:off + 1200], ext=s.ipv6_hop_by_hop(44) + fh)
        C.append(tr.raw_case(f"ipv6-hbh-fragment-{i + 1}", s.ether(l3, s.ETH_IPV6), expect="malformed"))
    n_v6 = sum(1 for c in C if c.label.startswith("ipv6-hbh"))
    # CRLF keep-alives (RFC 5626 §3.5.1) are not malformed: forwarded under both policies.
    C.append(tr.udp_payload_case("keepalive-udp", b"\r\n\r\n"))
    C.append(tr.Case("keepalive-tcp", "forward", b"\r\n\r\n",
                     tr.tcp_builder(h.PEER4, h.CORE4, 40101, 5060, seq=77, ack=1)))
    C.append(tr.udp_invite_case("good-pass-last", h.CALLER_CLEAN))

    frames = [f for c in C for f in c.frames]
    bad = [c for c in C if c.expect == "malformed"]
    n_bad = sum(len(c.frames) for c in bad)
    base = {id(c): c.label for c in bad}
    for policy in ("fail_open", "fail_closed"):
        art = t.compile_rules(f"rules-{policy}", h.packet_rules(version=f"it-{policy}", malformed=policy))
        for c in bad:
            c.expect = "forward" if policy == "fail_open" else "drop"
            c.label = f"{base[id(c)]} ({policy})"
        out_t, out_c, st, _ = h.run_pcap(t, policy, frames, art)
        tr.check_outputs(t, policy, C, out_t, out_c, t.path(f"{policy}-trunk-out.pcap"),
                         t.path(f"{policy}-core-out.pcap"))
        cn = st["counters"]
        t.eq(cn["malformed"], n_bad, f"{policy}: malformed")
        if policy == "fail_open":
            t.eq(cn["malformed_forwarded"], n_bad, f"{policy}: malformed_forwarded")
            t.eq(cn["malformed_dropped"], 0, f"{policy}: malformed_dropped")
            t.eq(cn["forwarded"], n_bad + 4, f"{policy}: forwarded")
            t.eq(cn["dropped"], 0, f"{policy}: dropped")
        else:
            t.eq(cn["malformed_forwarded"], 0, f"{policy}: malformed_forwarded")
            t.eq(cn["malformed_dropped"], n_bad, f"{policy}: malformed_dropped")
            t.eq(cn["forwarded"], 4, f"{policy}: forwarded (2 INVITEs, 2 keep-alives)")
            t.eq(cn["dropped"], n_bad, f"{policy}: dropped")
        t.eq(cn["rejected"], 1, f"{policy}: rejected (the good 608)")
        t.eq(cn["keepalives"], 2, f"{policy}: keepalives")
        t.eq(cn["tcp_partial"], 2, f"{policy}: tcp_partial")
        t.eq(cn["reassembly_failed"], n_v6, f"{policy}: reassembly_failed (IPv6 Fragment after Hop-by-Hop)")
        pe = st["parse_errors"]
        t.eq(sum(pe.values()), n_bad - n_v6, f"{policy}: parse_errors in all ({pe})")
        t.check(pe.get("missing_call_id", 0) >= 1, f"{policy}: parse_errors.missing_call_id")
        t.check(pe.get("control_character", 0) >= 1, f"{policy}: parse_errors.control_character")
        t.eq(st["verdicts"]["reject"], 1, f"{policy}: verdicts.reject")
        t.eq(cn["invites"], 3, f"{policy}: invites classified (the good ones)")
