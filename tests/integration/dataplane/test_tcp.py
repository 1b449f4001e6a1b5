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

SYN, ACK, PSH_ACK, FIN_ACK, FIN_PSH_ACK, RST_ACK = 0x02, 0x10, 0x18, 0x11, 0x19, 0x14

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

    # --- Messages split across segments (docs/packet-handling.md §6.7) ----------
    def cut_in_body(payload, back=20):
        return len(payload) - back  # inside the SDP: the headers are in the first part

    # K: a clean INVITE in two segments (cut in the headers) -> both forwarded
    # byte-identical, the first held until the second came.
    k_inv = inv(h.CALLER_CLEAN)
    k_cut = len(k_inv) // 3
    seg("K part 1", 40011, k_inv[:k_cut], 41000, 42001)
    seg("K part 2", 40011, k_inv[k_cut:], 41000 + k_cut, 42001)
    # L: a 608 INVITE in two segments -> answered once; both halves removed;
    # the client's next segment (acking the response) mapped like B's.
    l_inv = inv(h.CALLER_608)
    l_cut = cut_in_body(l_inv)
    seg("L part 1", 40012, l_inv[:l_cut], 43000, 44001, code=608, invite=l_inv)
    seg("L part 2", 40012, l_inv[l_cut:], 43000 + l_cut, 44001, code=608, invite=l_inv)
    l_opt = options(3)
    R_l = len(tr.expected_response(l_inv, 608, h.PEER4, 40012))
    seg("L options acking the response", 40012, l_opt, 43000 + len(l_inv), 44001 + R_l)
    # M: a 603 INVITE in three segments; the third also carries a whole
    # OPTIONS and the start of a clean INVITE, which a fourth completes.
    m_inv, m_opt, m_inv2 = inv(h.CALLER_603), options(4), inv(h.CALLER_CLEAN, cseq=5)
    m_a, m_b, m_c = 300, 700, 200
    m3 = m_inv[m_b:] + m_opt + m_inv2[:m_c]
    seg("M part 1", 40013, m_inv[:m_a], 45000, 46001)
    seg("M part 2", 40013, m_inv[m_a:m_b], 45000 + m_a, 46001)
    seg("M part 3 + options + start of a clean invite", 40013, m3, 45000 + m_b, 46001)
    seg("M rest of the clean invite", 40013, m_inv2[m_c:], 45000 + m_b + len(m3), 46001)
    # N: a busy trunk -- one segment with a dropped INVITE, a 608 INVITE and an
    # OPTIONS: both INVITEs removed (the segment is cut in two), one pure ACK,
    # one response, the OPTIONS forwarded.
    n_drop, n_608, n_opt = inv(h.CALLER_DROP), inv(h.CALLER_608, cseq=2), options(6)
    seg("N drop + 608 + options", 40014, n_drop + n_608 + n_opt, 47000, 48001)
    # O: a tagged INVITE in two segments: the header goes into the first (it
    # holds the end of the headers); the second follows shifted by its length.
    o_inv = inv(h.CALLER_TAG)
    o_cut = cut_in_body(o_inv, 30)
    seg("O part 1", 40015, o_inv[:o_cut], 49000, 50001)
    seg("O part 2", 40015, o_inv[o_cut:], 49000 + o_cut, 50001)
    # P: while the first half of a 608 INVITE is held, its retransmission and a
    # segment after a gap come in (both dropped); then the second half; then
    # the segment after the gap again.
    p_inv, p_opt = inv(h.CALLER_608), options(8)
    p_cut = len(p_inv) // 2
    seg("P part 1", 40016, p_inv[:p_cut], 51000, 52001)
    seg("P part 1 again (retransmission)", 40016, p_inv[:p_cut], 51000, 52001)
    seg("P options after a gap", 40016, p_opt, 51000 + len(p_inv), 52001)
    seg("P part 2", 40016, p_inv[p_cut:], 51000 + p_cut, 52001)
    seg("P options again", 40016, p_opt, 51000 + len(p_inv), 52001)
    # Q: a whole clean INVITE and the start of a 608 INVITE in one segment:
    # the clean one goes on at once (the segment is cut), the start is held;
    # the rest completes it: answered, nothing of it reaches the core.
    q_clean, q_608 = inv(h.CALLER_CLEAN), inv(h.CALLER_608, cseq=2)
    q_cut = 400
    seg("Q clean invite + start of a 608", 40017, q_clean + q_608[:q_cut], 53000, 54001)
    seg("Q rest of the 608", 40017, q_608[q_cut:], 53000 + len(q_clean) + q_cut, 54001)
    # R: IPv6 + VLAN, a 603 INVITE in two segments.
    r_inv = inv(h.CALLER_603, src=h.PEER6)
    r_cut = len(r_inv) // 2
    seg("R part 1", 40018, r_inv[:r_cut], 55000, 56001, src=h.PEER6, vlans=(130,))
    seg("R part 2", 40018, r_inv[r_cut:], 55000 + r_cut, 56001, src=h.PEER6, vlans=(130,))
    # S: a 608 INVITE in two segments, the second with FIN: the emptied
    # segment carries the FIN on.
    s_inv = inv(h.CALLER_608)
    s_cut = len(s_inv) // 2
    seg("S part 1", 40019, s_inv[:s_cut], 57000, 58001)
    seg("S part 2 + FIN", 40019, s_inv[s_cut:], 57000 + s_cut, 58001, FIN_PSH_ACK)

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

    # K
    same(40011, 0, 0, "K part 1 (held, then forwarded)")
    same(40011, 1, 1, "K part 2")
    t.eq(len(core_by.get(40011, [])), 2, "K: core-out segments")
    t.eq(trunk_by.get(40011, []), [], "K: nothing sent back")
    # L
    reply(40012, 0, 608, flows[40012][0], "L reply", l_inv, 44001, 43000 + len(l_inv))
    numbers(40012, 0, 43000, 44001, b"", "L emptied segment (the second half's, new ack)", flags=ACK)
    numbers(40012, 1, 43000, 44001, l_opt, "L options after the response")
    t.eq(len(core_by.get(40012, [])), 2, "L: core-out segments (nothing of the INVITE)")
    t.eq(len(trunk_by.get(40012, [])), 1, "L: one response")
    # M
    reply(40013, 0, 603, flows[40013][0], "M reply", m_inv, 46001, 45000 + len(m_inv))
    numbers(40013, 0, 45000, 46001, m_opt, "M options (cut out of the third segment)", flags=PSH_ACK)
    numbers(40013, 1, 45000 + len(m_opt), 46001, m_inv2[:m_c], "M start of the clean invite (held, then sent)")
    numbers(40013, 2, 45000 + len(m_opt) + m_c, 46001, m_inv2[m_c:], "M rest of the clean invite")
    t.eq(len(core_by.get(40013, [])), 3, "M: core-out segments")
    # N
    n_ack_drop = 47000 + len(n_drop)
    reply(40014, 0, None, flows[40014][0], "N pure ACK for the drop", n_drop, 48001, n_ack_drop, flags=ACK)
    reply(40014, 1, 608, flows[40014][0], "N reply", n_608, 48001, n_ack_drop + len(n_608))
    numbers(40014, 0, 47000, 48001, b"", "N emptied first piece (new ack)", flags=ACK)
    numbers(40014, 1, 47000, 48001, n_opt, "N options (second piece, seq mapped)", flags=PSH_ACK)
    t.eq(len(core_by.get(40014, [])), 2, "N: core-out segments")
    # O
    i = o_inv.index(b"\r\n\r\n") + 2
    tag_line = h.TAG_LINE.encode() + b"\r\n"
    numbers(40015, 0, 49000, 50001, o_inv[:i] + tag_line + o_inv[i:o_cut], "O part 1 tagged")
    numbers(40015, 1, 49000 + o_cut + len(tag_line), 50001, o_inv[o_cut:], "O part 2 (seq + tag length)")
    t.eq(trunk_by.get(40015, []), [], "O: nothing sent back")
    # P
    reply(40016, 0, 608, flows[40016][0], "P reply", p_inv, 52001, 51000 + len(p_inv))
    numbers(40016, 0, 51000, 52001, b"", "P emptied segment", flags=ACK)
    numbers(40016, 1, 51000, 52001, p_opt, "P options (the copy after the gap was filled)")
    t.eq(len(core_by.get(40016, [])), 2, "P: core-out segments (retransmission and early copy dropped)")
    # Q
    numbers(40017, 0, 53000, 54001, q_clean, "Q clean invite (cut off the held start)", flags=PSH_ACK)
    reply(40017, 0, 608, flows[40017][0], "Q reply", q_608, 54001, 53000 + len(q_clean) + len(q_608))
    t.eq(len(core_by.get(40017, [])), 1, "Q: only the clean invite reaches the core")
    # R
    reply(40018, 0, 603, flows[40018][0], "R reply (IPv6, VLAN 130)", r_inv, 56001, 55000 + len(r_inv))
    numbers(40018, 0, 55000, 56001, b"", "R emptied segment", flags=ACK)
    if trunk_by.get(40018):
        t.eq(trunk_by[40018][0][0].vlans, [130], "R reply keeps the VLAN")
    # S
    reply(40019, 0, 608, flows[40019][0], "S reply", s_inv, 58001, 57000 + len(s_inv))
    numbers(40019, 0, 57000, 58001, b"", "S emptied segment keeps the FIN", flags=FIN_ACK)

    c = st["counters"]
    t.eq(c["keepalives"], 2, "keepalives (I, J)")
    t.eq(c["malformed"], 0, "malformed")
    t.eq(c["replies_sent"], 13, "replies_sent (B E F G H I L M N P Q R S)")
    rejected = 8  # H's emptied segment; the first parts of L, M (2), P, R, S; Q's second segment
    t.eq(c["rejected"], rejected, "rejected (frames whose bytes all belonged to an answered INVITE)")
    t.eq(c["dropped"], 2, "dropped (P's retransmission and its segment after the gap)")
    t.eq(c["tagged"], 2, "tagged (D, O)")
    t.eq(c["tcp_multi_message"], 3, "tcp_multi_message (F, M's third segment, N)")
    t.eq(c["tcp_partial"], 0, "tcp_partial")
    t.eq(c["invites"], 24, "invites")
    t.eq(c["sip_tcp"], len([x for f in flows.values() for x in f if x["payload"]]), "sip_tcp (segments with payload)")
    t.eq(c["forwarded"], len(frames) - rejected - 2, "forwarded (everything else)")
    t.eq(c["held"], 0, "held (gauge) after the stop")
    t.eq(c["tcp_held"], 10, "tcp_held (K L M M M-tail O P Q-tail R S)")
    t.eq(c["tcp_reassembled_messages"], 9, "tcp_reassembled_messages (K L M M' O P Q R S)")
    t.eq(c["tcp_split"], 3, "tcp_split (M's held tail, N's second INVITE, Q's held tail)")
    t.eq(c["tcp_retransmit_dropped"], 1, "tcp_retransmit_dropped (P)")
    t.eq(c["tcp_out_of_order_dropped"], 1, "tcp_out_of_order_dropped (P)")
    t.eq(c["tcp_reassembly_released_unchanged"], 0, "tcp_reassembly_released_unchanged")
    t.eq(c["tcp_reset_fail_closed"], 0, "tcp_reset_fail_closed")
    t.eq(c["tcp_verdict_not_applied"], 0, "tcp_verdict_not_applied")
    t.eq(st["ports"][0]["tx_packets"], 15, "trunk tx: 13 responses + 2 pure ACKs")

    # --- Limits: timeout and overflow, under both policies (§6.7) --------------
    # tcp.reassembly_timeout_ms 200 and tcp.reassembly_segments 3:
    #   T1  the first half of a 608 INVITE, and nothing after it -> times out
    #   T2  a 608 INVITE in five segments -> the fourth finds three held (overflow);
    #       the fifth starts in the middle of the message (no hold any more): it
    #       cannot be framed and goes on uninspected (tcp_partial) under both policies
    # fail_open: everything is released byte-identical (counted);
    # fail_closed: the flow is reset toward both ends (RST|ACK), the held bytes freed.
    limits_yaml = "tcp:\n  reassembly_timeout_ms: 200\n  reassembly_segments: 3\n"
    t1_inv, t2_inv = inv(h.CALLER_608), inv(h.CALLER_608, cseq=2)
    t2_last = t2_inv.rindex(b"\r\na=") + 2  # the fifth part starts at an SDP line
    t2_cuts = [0, 200, 400, 600, t2_last, len(t2_inv)]
    lim_frames, lim_segs = [], []
    for port, payload, seq, ack in [(40031, t1_inv[:len(t1_inv) // 2], 60000, 61001)] + [
            (40032, t2_inv[a:b], 62000 + a, 63001) for a, b in zip(t2_cuts, t2_cuts[1:])]:
        fr = tr.tcp_builder(h.PEER4, h.CORE4, port, 5060, seq=seq, ack=ack)(payload)[0]
        lim_frames.append(fr)
        lim_segs.append(dict(port=port, seq=seq, ack=ack, frame=fr))

    for policy in ("fail_open", "fail_closed"):
        tag = f"limits-{policy}"
        art_p = t.compile_rules(f"rules-{policy}", h.packet_rules(version=f"it-{policy}", malformed=policy))
        out_t, out_c, st, _ = h.run_pcap(t, tag, lim_frames, art_p, extra_yaml=limits_yaml, settle_s=1.0)
        for p in (t.path(f"{tag}-trunk-out.pcap"), t.path(f"{tag}-core-out.pcap")):
            t.eq(h.tshark_malformed(t, p), [], f"{tag}: tshark finds no malformed frame or error in {p}")
        rows_c = h.tshark_fields(t, t.path(f"{tag}-core-out.pcap"), [])
        rows_t = h.tshark_fields(t, t.path(f"{tag}-trunk-out.pcap"), [])
        core = {}
        for i, raw in enumerate(out_c):
            f = h.decode(raw)
            core.setdefault(f.sport, []).append(f)
            t.eq(rows_c[i]["tcp.checksum.status"], "1", f"{tag}: core-out frame {i + 1} tshark tcp checksum")
        back = {}
        for i, raw in enumerate(out_t):
            f = h.decode(raw)
            back.setdefault(f.dport, []).append(f)
            t.eq(rows_t[i]["tcp.checksum.status"], "1", f"{tag}: trunk-out frame {i + 1} tshark tcp checksum")
        c = st["counters"]
        t.eq(c["tcp_reassembly_timeout"], 1, f"{tag}: tcp_reassembly_timeout (T1)")
        t.eq(c["tcp_reassembly_overflow"], 1, f"{tag}: tcp_reassembly_overflow (T2)")
        t.eq(c["invites"], 0, f"{tag}: nothing was classified")
        t.eq(c["held"], 0, f"{tag}: held")
        if policy == "fail_open":
            t.eq([f.raw for f in core.get(40032, [])], lim_frames[1:], f"{tag}: T2's five segments byte-identical, in order")
            t.eq([f.raw for f in core.get(40031, [])], lim_frames[:1], f"{tag}: T1 released byte-identical after the timeout")
            t.eq(len(out_t), 0, f"{tag}: nothing sent back")
            t.eq(c["tcp_held"], 4, f"{tag}: tcp_held (T1, T2 x3)")
            t.eq(c["tcp_reassembly_released_unchanged"], 4, f"{tag}: released unchanged (T1, T2's three)")
            t.eq(c["tcp_partial"], 2, f"{tag}: tcp_partial (T2's fourth and fifth)")
            t.eq(c["tcp_reset_fail_closed"], 0, f"{tag}: no reset")
            t.eq(c["forwarded"], 6, f"{tag}: forwarded")
            t.eq(c["dropped"], 0, f"{tag}: dropped")
        else:
            def rst(f, seq, ack, what):
                t.eq((f.tcp_flags, f.seq, f.ack, f.payload), (RST_ACK, seq, ack, b""), f"{what}: RST|ACK seq/ack")
                t.check(f.l4_checksum_ok(), f"{what}: TCP checksum (Python)")
            for port, first, last, what in ((40031, lim_segs[0], lim_segs[0], "T1 (timeout)"),
                                            (40032, lim_segs[1], lim_segs[4], "T2 (overflow)")):
                to_client = back.get(port, [])
                if t.eq(len(to_client), 1, f"{tag}: {what}: one RST toward the client"):
                    f = to_client[0]
                    t.eq((f.src, f.dst, f.sport, f.dport), (h.CORE4, h.PEER4, 5060, port), f"{what}: RST to client addressing")
                    rst(f, last["ack"], first["seq"], f"{tag}: {what} RST to client (seq = the client's ack)")
                to_core = [f for f in core.get(port, []) if f.tcp_flags & 0x04]
                if t.eq(len(to_core), 1, f"{tag}: {what}: one RST toward the core"):
                    rst(to_core[0], first["seq"], first["ack"], f"{tag}: {what} RST to core (seq = first byte it lacks)")
            t.eq([f.raw for f in core.get(40032, []) if not f.tcp_flags & 0x04], lim_frames[5:],
                 f"{tag}: only T2's fifth segment (unframeable, tcp_partial) reaches the core")
            t.eq(c["tcp_reset_fail_closed"], 2, f"{tag}: tcp_reset_fail_closed (T1, T2)")
            t.eq(c["tcp_reassembly_released_unchanged"], 0, f"{tag}: nothing released")
            t.eq(c["tcp_partial"], 1, f"{tag}: tcp_partial (T2's fifth)")
            t.eq(c["dropped"], 5, f"{tag}: dropped (T1, T2's first four)")
            t.eq(c["forwarded"], 1, f"{tag}: forwarded")
