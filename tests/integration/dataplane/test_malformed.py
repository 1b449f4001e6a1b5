#!/usr/bin/env python3
"""Malformed SIP under the rule set's two policies (defaults.malformed).

The same input runs twice: with `fail_open` every malformed message leaves on
the core port byte-identical; with `fail_closed` none does. Malformed here:
an INVITE without Call-ID, an INVITE with a control character in a header,
an INVITE whose Content-Length runs past the datagram, binary junk on UDP
5060, and IPv6 fragments whose Fragment header follows a Hop-by-Hop header
(DPDK's reassembler cannot take them: policy). Good INVITEs in between (pass
and 608) are handled normally under both policies, and the counters say how
many messages each policy forwarded or dropped, by parse-error reason.
CRLF keep-alives (UDP and TCP) are not malformed: forwarded under both.

Values a verdict does not read (docs/sip-parser.md, "Parse depth"): under
fail_open the data plane parses the top Via only to build a response and
never Contact or Max-Forwards; under fail_closed it parses all of them. So a bad top Via on a clean caller is
forwarded (fail_open, not counted malformed) or dropped as malformed
(fail_closed); on a 608 caller it is dropped under both, with no response
(reply_malformed under fail_open); a Max-Forwards out of range on a tag
caller is tagged (fail_open) or dropped as malformed (fail_closed).

SIP over TCP (docs/packet-handling.md §6.7-6.8), checked on its own:
  split   an INVITE from a blocked caller in two segments is NOT malformed: it
          is reassembled and rejected under both policies (one 608, both halves
          removed, the emptied second segment forwarded with consistent numbers)
  nocid   [INVITE without Call-ID][OPTIONS] in one segment: fail_open forwards
          it byte-identical; fail_closed removes the bad message (a pure ACK
          back), the OPTIONS goes on with its seq moved back
  junk    [OPTIONS][binary junk] in one segment: junk at a known message
          boundary; fail_open forwards; fail_closed resets the connection
          (RST|ACK toward both ends) and frees the segment
  fin     half an INVITE with FIN: the stream ends inside the message;
          fail_open forwards; fail_closed removes it, the emptied FIN goes on
"""
import subprocess

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

    # Values only a response reads: a bad top Via (an empty parameter), a
    # Max-Forwards over 255. Expectations per policy, set in the loop below.
    def bad_top_via(p):
        return p.replace(b"Via: SIP/2.0/UDP ", b"Via: SIP/2.0/UDP 192.0.2.9:5060;;branch=z9hG4bKbad\r\nVia: SIP/2.0/UDP ", 1)

    def bad_max_forwards(p):
        return p.replace(b"Max-Forwards: 69", b"Max-Forwards: 300", 1)

    def deferred_case(label, caller, mutate, fates):
        exp, code = tr.ACTIONS[caller]
        p = tr.invite(caller)
        m = mutate(p)
        t.check(m != p, f"{label}: the INVITE was mutated")
        return tr.Case(label, exp, m, tr.udp_builder(h.PEER4, h.CORE4), code=code), fates
    deferred = {  # label -> (case, (fate under fail_open, under fail_closed))
        "bad-via-pass": deferred_case("bad-via-pass", h.CALLER_CLEAN, bad_top_via, ("forward", "drop")),
        "bad-via-608": deferred_case("bad-via-608", h.CALLER_608, bad_top_via, ("drop", "drop")),
        "bad-max-forwards-tag": deferred_case("bad-max-forwards-tag", h.CALLER_TAG, bad_max_forwards, ("tag", "drop")),
    }
    C.extend(c for c, _ in deferred.values())

    # SIP over TCP, appended after the cases above (their own checks below).
    SYN, ACK, PSH_ACK, FIN_ACK, FIN_PSH_ACK, RST_ACK = 0x02, 0x10, 0x18, 0x11, 0x19, 0x14
    TCP = {}   # client port -> list of (payload, seq, ack, flags, frame)

    def tcp_seg(port, payload, seq, ack=1, flags=PSH_ACK):
        fr = tr.tcp_builder(h.PEER4, h.CORE4, port, 5060, seq=seq, ack=ack, flags=flags)(payload)[0]
        TCP.setdefault(port, []).append(dict(payload=payload, seq=seq, ack=ack, flags=flags, frame=fr))
        return fr

    split = tr.invite(h.CALLER_608, transport="TCP")
    cut = len(split) // 2
    tcp_seg(40100, split[:cut], 1000)
    tcp_seg(40100, split[cut:], 1000 + cut)
    nocid = b"\r\n".join(ln for ln in tr.invite(h.CALLER_CLEAN, transport="TCP").split(b"\r\n")
                          if not ln.startswith(b"Call-ID:"))
    nocid_opt = s.request("OPTIONS", ruri=f"sip:{h.CORE4}", call_id=tr.next_id("m-opt"), src=h.PEER4, cseq=3)
    tcp_seg(40102, nocid + nocid_opt, 2000)
    junk_opt = s.request("OPTIONS", ruri=f"sip:{h.CORE4}", call_id=tr.next_id("m-opt"), src=h.PEER4, cseq=4)
    tcp_seg(40103, junk_opt + bytes(range(1, 120)), 3000)
    fin_inv = tr.invite(h.CALLER_CLEAN, transport="TCP")
    tcp_seg(40104, fin_inv[:500], 4000, flags=FIN_PSH_ACK)
    tcp_frames = [x["frame"] for port in (40100, 40102, 40103, 40104) for x in TCP[port]]

    frames = [f for c in C for f in c.frames]
    bad = [c for c in C if c.expect == "malformed"]
    n_bad = sum(len(c.frames) for c in bad)
    n_bad_tcp = 3  # nocid, junk, fin (messages)
    base = {id(c): c.label for c in bad}
    for policy in ("fail_open", "fail_closed"):
        art = t.compile_rules(f"rules-{policy}", h.packet_rules(version=f"it-{policy}", malformed=policy))
        for c in bad:
            c.expect = "forward" if policy == "fail_open" else "drop"
            c.label = f"{base[id(c)]} ({policy})"
        for c, (open_fate, closed_fate) in deferred.values():
            c.expect = open_fate if policy == "fail_open" else closed_fate
        out_t, out_c, st, _ = h.run_pcap(t, policy, frames + tcp_frames, art)
        # sipwallctl rules explain parses as deep as the data plane: under
        # fail_open it gives bad-via-608 its 608 and says no response goes out.
        dfr = [f for c, _ in deferred.values() for f in c.frames]
        s.write_pcap(t.path(f"{policy}-deferred.pcap"), dfr)
        ex = subprocess.run([t.args.sipwallctl, "rules", "explain", "--rules", art,
                             t.path(f"{policy}-deferred.pcap")], capture_output=True, text=True)
        t.eq(ex.returncode, 0, f"{policy}: rules explain exit code ({ex.stderr.strip()})")
        unanswered = ex.stdout.count("no response: Via is malformed")
        malformed_lines = ex.stdout.count("malformed SIP (")
        t.eq((unanswered, malformed_lines), (1, 0) if policy == "fail_open" else (0, 3),
             f"{policy}: rules explain: unanswered rejects, messages reported malformed\n{ex.stdout}")
        # tshark finds nothing wrong, except (fail_open) the junk it is given as is.
        junk_frames = [i + 1 for i, raw in enumerate(out_c) if h.decode(raw).sport == 40103]
        for p, allowed in ((t.path(f"{policy}-trunk-out.pcap"), []),
                           (t.path(f"{policy}-core-out.pcap"), junk_frames if policy == "fail_open" else [])):
            bad_frames = [int(b.split(":")[0].split()[1]) for b in h.tshark_malformed(t, p)]
            t.eq(bad_frames, allowed, f"{policy}: frames tshark finds malformed in {p}")
        # The cases above, on the output without the TCP test flows (40100-40104).
        def is_flow(raw):
            f = h.decode(raw)
            return f.proto == 6 and 40100 <= (f.sport if f.sport != 5060 else f.dport) <= 40104 \
                and not (f.sport == 40101 or f.dport == 40101)
        rest_t = [r for r in out_t if not is_flow(r)]
        rest_c = [r for r in out_c if not is_flow(r)]
        sp = h.sippcap()
        sp.write_pcap(t.path(f"{policy}-rest-trunk.pcap"), rest_t)
        sp.write_pcap(t.path(f"{policy}-rest-core.pcap"), rest_c)
        tr.check_outputs(t, policy, C, rest_t, rest_c, t.path(f"{policy}-rest-trunk.pcap"),
                         t.path(f"{policy}-rest-core.pcap"))
        # The TCP flows, by client port.
        core_by, back_by = {}, {}
        for raw in out_c:
            if is_flow(raw):
                f = h.decode(raw)
                core_by.setdefault(f.sport, []).append(f)
                t.check(f.l4_checksum_ok(), f"{policy}: core-out {f.describe()}: TCP checksum")
        trunk_rows = h.tshark_fields(t, t.path(f"{policy}-trunk-out.pcap"), tr.REPLY_FIELDS)
        for i, raw in enumerate(out_t):
            if is_flow(raw):
                f = h.decode(raw)
                back_by.setdefault(f.dport, []).append((f, trunk_rows[i]))
                t.check(f.l4_checksum_ok(), f"{policy}: trunk-out {f.describe()}: TCP checksum")

        def one(got, what):
            return got[0] if t.eq(len(got), 1, what) else None

        def nums(f, seq, ack, flags, payload, what):
            if f is not None:
                t.eq((f.seq, f.ack, f.tcp_flags, f.payload), (seq, ack, flags, payload), what)

        # split: rejected under both policies.
        rep = one(back_by.get(40100, []), f"{policy}: split: one response")
        if rep:
            c = tr.Case("split", "reject", split, lambda _p: [TCP[40100][0]["frame"]], code=608, sport=40100)
            tr.check_reply(t, c, rep[0].raw, rep[1], transport="tcp")
            nums(rep[0], 1, 1000 + len(split), PSH_ACK, rep[0].payload, f"{policy}: split: response numbers")
        nums(one(core_by.get(40100, []), f"{policy}: split: one emptied segment reaches the core"),
             1000, 1, ACK, b"", f"{policy}: split: emptied segment")
        # nocid / junk / fin
        if policy == "fail_open":
            for port in (40102, 40103, 40104):
                t.eq([f.raw for f in core_by.get(port, [])], [x["frame"] for x in TCP[port]],
                     f"{policy}: {port}: forwarded byte-identical")
                t.eq(back_by.get(port, []), [], f"{policy}: {port}: nothing sent back")
        else:
            ackf = one(back_by.get(40102, []), f"{policy}: nocid: one pure ACK back")
            if ackf:
                nums(ackf[0], 1, 2000 + len(nocid), ACK, b"", f"{policy}: nocid: pure ACK numbers")
            nums(one(core_by.get(40102, []), f"{policy}: nocid: one segment to the core"), 2000, 1, PSH_ACK,
                 nocid_opt, f"{policy}: nocid: the OPTIONS alone")
            rst_c = one(back_by.get(40103, []), f"{policy}: junk: one RST toward the client")
            if rst_c:
                nums(rst_c[0], 1, 3000, RST_ACK, b"", f"{policy}: junk: RST to the client")
            nums(one(core_by.get(40103, []), f"{policy}: junk: one RST toward the core"), 3000, 1, RST_ACK, b"",
                 f"{policy}: junk: RST to the core (nothing of the segment)")
            ackf = one(back_by.get(40104, []), f"{policy}: fin: one pure ACK back")
            if ackf:
                nums(ackf[0], 1, 4500, ACK, b"", f"{policy}: fin: pure ACK numbers")
            nums(one(core_by.get(40104, []), f"{policy}: fin: the emptied FIN goes on"), 4000, 1, FIN_ACK, b"",
                 f"{policy}: fin: emptied FIN segment")

        cn = st["counters"]
        n_def = len(deferred)  # malformed only under fail_closed
        if policy == "fail_open":
            t.eq(cn["malformed"], n_bad + n_bad_tcp, f"{policy}: malformed")
            t.eq(cn["malformed_forwarded"], n_bad + n_bad_tcp, f"{policy}: malformed_forwarded")
            t.eq(cn["malformed_dropped"], 0, f"{policy}: malformed_dropped")
            # + the split's emptied second segment, nocid, junk, fin; bad-via-pass, bad-max-forwards-tag
            t.eq(cn["forwarded"], n_bad + 4 + 4 + 2, f"{policy}: forwarded")
            t.eq(cn["dropped"], 1, f"{policy}: dropped (bad-via-608: no response)")
            t.eq(cn["reply_malformed"], 1, f"{policy}: reply_malformed (bad-via-608)")
            t.eq(cn["tagged"], 1, f"{policy}: tagged (bad-max-forwards-tag)")
            t.eq(cn["tcp_reset_fail_closed"], 0, f"{policy}: tcp_reset_fail_closed")
        else:
            t.eq(cn["malformed"], n_bad + n_bad_tcp + n_def, f"{policy}: malformed")
            t.eq(cn["malformed_forwarded"], 0, f"{policy}: malformed_forwarded")
            t.eq(cn["malformed_dropped"], n_bad + n_bad_tcp + n_def, f"{policy}: malformed_dropped")
            # 2 INVITEs, 2 keep-alives; split's emptied segment, nocid's OPTIONS, fin's emptied FIN
            t.eq(cn["forwarded"], 4 + 3, f"{policy}: forwarded")
            t.eq(cn["dropped"], n_bad + n_def + 1, f"{policy}: dropped (+ the junk segment)")
            t.eq(cn["reply_malformed"], 0, f"{policy}: reply_malformed (every value parsed first)")
            t.eq(cn["tagged"], 0, f"{policy}: tagged")
            t.eq(cn["tcp_reset_fail_closed"], 1, f"{policy}: tcp_reset_fail_closed (junk)")
        t.eq(cn["reply_failed"], 0, f"{policy}: reply_failed")
        t.eq(cn["rejected"], 2, f"{policy}: rejected (the good 608; the split INVITE's first segment)")
        t.eq(cn["replies_sent"], 2, f"{policy}: replies_sent (UDP 608, split TCP 608)")
        t.eq(cn["keepalives"], 2, f"{policy}: keepalives")
        t.eq(cn["tcp_partial"], 0, f"{policy}: tcp_partial (nothing uninspected)")
        t.eq(cn["tcp_held"], 1, f"{policy}: tcp_held (the split INVITE's first half)")
        t.eq(cn["tcp_reassembled_messages"], 1, f"{policy}: tcp_reassembled_messages")
        t.eq(cn["reassembly_failed"], n_v6, f"{policy}: reassembly_failed (IPv6 Fragment after Hop-by-Hop)")
        pe = st["parse_errors"]
        t.eq(sum(pe.values()), n_bad - n_v6 + n_bad_tcp + (n_def if policy == "fail_closed" else 0),
             f"{policy}: parse_errors in all ({pe})")
        t.eq((pe.get("bad_via", 0), pe.get("bad_max_forwards", 0)), (2, 1) if policy == "fail_closed" else (0, 0),
             f"{policy}: parse_errors bad_via, bad_max_forwards (read for a response only under fail_open)")
        t.check(pe.get("missing_call_id", 0) >= 2, f"{policy}: parse_errors.missing_call_id (UDP, TCP)")
        t.check(pe.get("control_character", 0) >= 1, f"{policy}: parse_errors.control_character")
        t.eq(pe.get("body_truncated", 0) + pe.get("headers_unterminated", 0), 2,
             f"{policy}: parse_errors body_truncated + headers_unterminated (UDP Content-Length, TCP FIN)")
        t.eq(st["verdicts"]["reject"], 3 if policy == "fail_open" else 2,
             f"{policy}: verdicts.reject (+ bad-via-608 under fail_open)")
        t.eq(cn["invites"], 4 + (n_def if policy == "fail_open" else 0),
             f"{policy}: invites classified (the good ones and the split one; the deferred ones under fail_open)")
