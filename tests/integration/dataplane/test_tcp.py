#!/usr/bin/env python3
"""SIP over TCP on the trunk port: pass, reject, drop, tag, and the segments after.

Each flow is a client (trunk side) talking to the core's port 5060; only the
client's segments are in the input (the core sends nothing), so the expected
numbers follow docs/packet-handling.md §6 exactly:

  A  SYN, INVITE (pass), ACK          -> all forwarded byte-identical
  B  INVITE (608) first seen mid-flow -> response injected at the INVITE's ack,
     acknowledging the INVITE's end; the emptied segment (new ack) forwarded
     without payload and without PSH; then the client's next segments (an
     OPTIONS acknowledging our response, a clean INVITE) forwarded with seq
     moved back by the INVITE's length and ack moved back by the response's
  C  INVITE (drop)                    -> a pure ACK back; next segment seq shifted
  D  INVITE (tag)                     -> header inserted, next segment seq shifted
                                         forward by the header line's length
  E  IPv6 + VLAN INVITE (603)         -> response with the VLAN tag, over IPv6
  F  OPTIONS + INVITE (608) in one segment -> OPTIONS forwarded alone, reply
  G  SYN, INVITE (608)                -> tracked flow, same numbers
  H  OPTIONS, then INVITE (608) with the same ack and window -> the emptied
     segment carries nothing new and is not forwarded (counted rejected)
  I  INVITE (608) + CRLF keep-alive in one segment -> rejected; the segment
     goes on with the CRLFs only
  J  a CRLF keep-alive segment alone -> forwarded byte-identical
"""
import harness as h
import traffic as tr

SYN, ACK, PSH_ACK = 0x02, 0x10, 0x18

with h.Test("tcp", __doc__) as t:
    s = h.sippcap()
    frames = []          # input, in order
    flows = {}           # client port -> list of input segments (dicts)

    def seg(label, port, payload, seq, ack, flags=PSH_ACK, src=h.PEER4, vlans=(), code=None,
            invite=None):
        dst = h.CORE6 if ":" in src else h.CORE4
        fr = tr.tcp_builder(src, dst, port, 5060, seq=seq, ack=ack, flags=flags, vlans=vlans)(payload)[0]
        frames.append(fr)
        d = dict(label=label, port=port, payload=payload, seq=seq, ack=ack, flags=flags, frame=fr,
                 src=src, dst=dst, code=code, invite=invite if invite is not None else payload)
        flows.setdefault(port, []).append(d)
        return d

    def inv(caller, cseq=1, src=h.PEER4):
        return tr.invite(caller, transport="TCP", cseq=cseq, src=src, sport=5060)

    def options(n):
        return s.request("OPTIONS", ruri=f"sip:{h.CORE4}", call_id=tr.next_id("tcp-opt"), src=h.PEER4,
                         cseq=n)

    # A: pass, with the handshake's first segment.
    a_inv = inv(h.CALLER_CLEAN)
    seg("A syn", 40001, b"", 999, 0, SYN)
    seg("A invite pass", 40001, a_inv, 1000, 5001)
    seg("A ack", 40001, b"", 1000 + len(a_inv), 5001, ACK)
    # B: reject, flow first seen at the INVITE.
    b_inv = inv(h.CALLER_608)
    b1 = seg("B invite 608", 40002, b_inv, 2000, 7001, code=608)
    # The client has our response (R bytes, computed below from the reply) and goes on.
    b_opt, b_inv2 = options(2), inv(h.CALLER_CLEAN, cseq=3)
    # C: drop.
    c_inv = inv(h.CALLER_DROP)
    c1 = seg("C invite drop", 40003, c_inv, 3000, 9001)
    c_inv2 = inv(h.CALLER_CLEAN, cseq=2)
    seg("C next invite", 40003, c_inv2, 3000 + len(c_inv), 9001)
    # D: tag.
    d_inv = inv(h.CALLER_TAG)
    seg("D invite tag", 40004, d_inv, 4000, 11001)
    d_inv2 = inv(h.CALLER_CLEAN, cseq=2)
    seg("D next invite", 40004, d_inv2, 4000 + len(d_inv), 11001)
    # E: IPv6 + VLAN, 603.
    e_inv = inv(h.CALLER_603, src=h.PEER6)
    seg("E ipv6 vlan invite 603", 40005, e_inv, 5000, 12001, src=h.PEER6, vlans=(120,), code=603)
    # F: two messages in one segment.
    f_opt, f_inv = options(1), inv(h.CALLER_608)
    seg("F options+invite 608", 40006, f_opt + f_inv, 6000, 13001, code=608, invite=f_inv)
    # G: tracked from its SYN.
    g_inv = inv(h.CALLER_608)
    seg("G syn", 40007, b"", 7999, 0, SYN)
    seg("G invite 608", 40007, g_inv, 8000, 15001, code=608)
    # H: nothing new in the emptied segment.
    h_opt, h_inv = options(5), inv(h.CALLER_608)
    seg("H options", 40008, h_opt, 20000, 21001)
    seg("H invite 608", 40008, h_inv, 20000 + len(h_opt), 21001, code=608)

    # I: a blocked INVITE and a CRLF keep-alive in one segment: the verdict
    # applies, the CRLFs travel on.
    i_inv = inv(h.CALLER_608)
    seg("I invite 608 + CRLF keep-alive", 40009, i_inv + b"\r\n\r\n", 30000, 31001, code=608, invite=i_inv)
    # J: a keep-alive segment alone.
    seg("J keep-alive", 40010, b"\r\n\r\n", 32000, 33001)
    # The client acknowledges our response (R bytes, its documented format) and goes on.
    art = t.compile_rules("rules", h.packet_rules())
    R_b = len(tr.expected_response(b_inv, 608, h.PEER4, 40002))
    R_h = len(tr.expected_response(h_inv, 608, h.PEER4, 40008))
    seg("B options acking the response", 40002, b_opt, 2000 + len(b_inv), 7001 + R_b)
    seg("B next invite", 40002, b_inv2, 2000 + len(b_inv) + len(b_opt), 7001 + R_b)
    seg("H ack of the response", 40008, b"", 20000 + len(h_opt) + len(h_inv), 21001 + R_h, ACK)

    out_t, out_c, st, _ = h.run_pcap(t, "tcp", frames, art)
    trunk_pcap, core_pcap = t.path("tcp-trunk-out.pcap"), t.path("tcp-core-out.pcap")
    rows_t = h.tshark_fields(t, trunk_pcap, tr.REPLY_FIELDS)
    rows_c = h.tshark_fields(t, core_pcap, ["tcp.checksum.status", "ip.checksum.status", "sip.Method",
                                            "sip.msg_hdr"])
    for p in (trunk_pcap, core_pcap):
        t.eq(h.tshark_malformed(t, p), [], f"tshark finds no malformed frame or error in {p}")

    # Group outputs by client port, keeping order.
    core_by, trunk_by = {}, {}
    for i, raw in enumerate(out_c):
        f = h.decode(raw)
        core_by.setdefault(f.sport, []).append((f, rows_c[i]))
        t.check(f.l4_checksum_ok(), f"core-out frame {i + 1} ({f.describe()}): TCP checksum (Python)")
        t.eq(rows_c[i]["tcp.checksum.status"], "1", f"core-out frame {i + 1}: tshark tcp.checksum.status")
        if f.ip == 4:
            t.eq(rows_c[i]["ip.checksum.status"], "1", f"core-out frame {i + 1}: tshark ip.checksum.status")
    for i, raw in enumerate(out_t):
        f = h.decode(raw)
        trunk_by.setdefault(f.dport, []).append((f, rows_t[i]))

    def same(port, idx_in, idx_out, what):
        got = core_by.get(port, [])
        if t.check(idx_out < len(got), f"{what}: missing in core-out"):
            t.check(got[idx_out][0].raw == flows[port][idx_in]["frame"], f"{what}: forwarded byte-identical")

    def numbers(port, idx_out, seq, ack, payload, what, flags=None):
        got = core_by.get(port, [])
        if not t.check(idx_out < len(got), f"{what}: missing in core-out"):
            return None
        f = got[idx_out][0]
        t.eq(f.seq, seq & 0xFFFFFFFF, f"{what}: seq")
        t.eq(f.ack, ack & 0xFFFFFFFF, f"{what}: ack")
        t.eq(f.payload, payload, f"{what}: payload")
        t.eq(f.ip_end, len(f.raw), f"{what}: IP length covers the frame")
        if flags is not None:
            t.eq(f.tcp_flags, flags, f"{what}: flags")
        return f

    def reply(port, idx, code, req, what, invite_payload, seq, ack, flags=PSH_ACK):
        got = trunk_by.get(port, [])
        if not t.check(idx < len(got), f"{what}: no reply in trunk-out"):
            return None
        f, row = got[idx]
        c = tr.Case(what, "reject", invite_payload, lambda _p: [req["frame"]], code=code,
                    sport=port, dport=5060, src=req["src"], dst=req["dst"])
        tr.check_reply(t, c, f.raw, row, transport="tcp")
        t.eq(f.seq, seq & 0xFFFFFFFF, f"{what}: reply seq = injection point")
        t.eq(f.ack, ack & 0xFFFFFFFF, f"{what}: reply ack = end of the removed INVITE")
        t.eq(f.tcp_flags, flags, f"{what}: reply flags")
        t.eq(f.window, 0xFFFF, f"{what}: reply window (core's window never seen)")
        if code is None:
            t.eq(f.payload, b"", f"{what}: pure ACK has no payload")
        return f

    # A
    t.eq(len(core_by.get(40001, [])), 3, "A: three segments forwarded")
    for i in range(3):
        same(40001, i, i, f"A segment {i + 1}")
    t.eq(trunk_by.get(40001, []), [], "A: nothing sent back")
    # B
    reply(40002, 0, 608, flows[40002][0], "B reply", b_inv, 7001, 2000 + len(b_inv))
    numbers(40002, 0, 2000, 7001, b"", "B emptied segment (forwarded: new ack)", flags=ACK)
    numbers(40002, 1, 2000, 7001, b_opt, "B options after the response")
    numbers(40002, 2, 2000 + len(b_opt), 7001, b_inv2, "B next invite")
    t.eq(len(core_by.get(40002, [])), 3, "B: core-out segments")
    # C
    reply(40003, 0, None, flows[40003][0], "C pure ACK", c_inv, 9001, 3000 + len(c_inv), flags=ACK)
    numbers(40003, 0, 3000, 9001, b"", "C emptied segment (forwarded: new ack)", flags=ACK)
    numbers(40003, 1, 3000, 9001, c_inv2, "C next invite")
    t.eq(len(trunk_by.get(40003, [])), 1, "C: one pure ACK back")
    # D
    i = d_inv.index(b"\r\n\r\n") + 2
    d_tagged = d_inv[:i] + h.TAG_LINE.encode() + b"\r\n" + d_inv[i:]
    df = numbers(40004, 0, 4000, 11001, d_tagged, "D tagged invite")
    if df is not None:
        t.check(h.TAG_LINE in core_by[40004][0][1]["sip.msg_hdr"], "D: tshark sees the tag header")
    numbers(40004, 1, 4000 + len(d_tagged), 11001, d_inv2, "D next invite (seq + tag length)")
    t.eq(trunk_by.get(40004, []), [], "D: nothing sent back")
    # E
    reply(40005, 0, 603, flows[40005][0], "E reply", e_inv, 12001, 5000 + len(e_inv))
    numbers(40005, 0, 5000, 12001, b"", "E emptied segment", flags=ACK)
    # F
    reply(40006, 0, 608, flows[40006][0], "F reply", f_inv, 13001, 6000 + len(f_opt) + len(f_inv))
    numbers(40006, 0, 6000, 13001, f_opt, "F segment keeps the OPTIONS only", flags=PSH_ACK)
    # G
    same(40007, 0, 0, "G SYN")
    reply(40007, 0, 608, flows[40007][1], "G reply", g_inv, 15001, 8000 + len(g_inv))
    numbers(40007, 1, 8000, 15001, b"", "G emptied segment", flags=ACK)
    # H
    same(40008, 0, 0, "H options")
    reply(40008, 0, 608, flows[40008][1], "H reply", h_inv, 21001, 20000 + len(h_opt) + len(h_inv))
    numbers(40008, 1, 20000 + len(h_opt), 21001, b"", "H ack of the response (seq shifted, ack mapped)",
            flags=ACK)
    t.eq(len(core_by.get(40008, [])), 2, "H: the emptied INVITE segment is not forwarded")

    # I
    reply(40009, 0, 608, flows[40009][0], "I reply", i_inv, 31001, 30000 + len(i_inv))
    numbers(40009, 0, 30000, 31001, b"\r\n\r\n", "I segment keeps the keep-alive CRLFs", flags=PSH_ACK)
    # J
    same(40010, 0, 0, "J keep-alive")

    c = st["counters"]
    t.eq(c["keepalives"], 2, "keepalives (I, J)")
    t.eq(c["malformed"], 0, "malformed")
    t.eq(c["replies_sent"], 6, "replies_sent (B E F G H I)")
    t.eq(c["rejected"], 1, "rejected (H: answered and not forwarded)")
    t.eq(c["dropped"], 0, "dropped (C's emptied segment carried a new ack)")
    t.eq(c["tagged"], 1, "tagged")
    t.eq(c["tcp_multi_message"], 1, "tcp_multi_message (F)")
    t.eq(c["tcp_partial"], 0, "tcp_partial")
    t.eq(c["invites"], 12, "invites")
    t.eq(c["sip_tcp"], len([x for f in flows.values() for x in f if x["payload"]]), "sip_tcp (segments with payload)")
    t.eq(c["forwarded"], len(frames) - 1, "forwarded (all but H's emptied segment)")
    t.eq(st["ports"][0]["tx_packets"], 7, "trunk tx: 6 responses + 1 pure ACK")
