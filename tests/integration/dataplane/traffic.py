"""Crafted trunk-side traffic with what the data plane must do with each packet,
and the checks of the output pcaps against those expectations.

A `Case` is one input datagram (one frame, or several IP fragments) plus its
expected fate under the test rule set (harness.packet_rules):

  forward  every input frame leaves on the core port byte-identical
  drop     nothing leaves anywhere
  reject   nothing reaches the core; one 603/608 leaves on the trunk port
  tag      the INVITE leaves on the core port with TAG_LINE inserted (the
           expected frame is rebuilt from scratch with full checksums, so it
           must equal the incrementally updated one byte for byte)
  refrag   a fragmented datagram is forwarded re-fragmented: the core port
           gets fragments whose reassembly equals the input datagram

`check_outputs()` walks both output pcaps in order (one worker: output order
is input order) and checks every frame against the expected sequence.
"""
import re
import struct

import harness as h

_counter = [0]


def next_id(prefix):
    _counter[0] += 1
    return f"{prefix}-{_counter[0]:03d}@it.sipwall"


def sp():
    return h.sippcap()


class Case:
    def __init__(self, label, expect, payload, build, *, code=None, sport=5060, dport=5060,
                 src=h.PEER4, dst=h.CORE4, fragments=False, reason=None):
        self.label = label
        self.expect = expect
        self.payload = payload
        self.build = build             # payload -> list of frames
        self.frames = build(payload)
        self.code = code
        self.sport, self.dport, self.src, self.dst = sport, dport, src, dst
        self.fragments = fragments
        self.reason = reason

    def expected_tagged(self):
        p = self.payload
        i = p.index(b"\r\n\r\n") + 2
        return self.build(p[:i] + h.TAG_LINE.encode() + b"\r\n" + p[i:])

    def datagram(self):
        """The L4 datagram (UDP header + payload) the fragments carry."""
        return sp().udp(self.src, self.dst, self.sport, self.dport, self.payload)


def udp_builder(src, dst, sport=5060, dport=5060, vlans=(), ext=None, tpids=None):
    """payload -> [frame]. `ext`: IPv6 extension chain builder (next_header -> bytes)
    whose first header type is ext[0]; `tpids` overrides the VLAN TPIDs."""
    s = sp()

    def build(payload):
        seg = s.udp(src, dst, sport, dport, payload)
        if ":" in src:
            if ext:
                first, chain = ext
                l3 = s.ipv6(src, dst, first, seg, ext=chain(17))
            else:
                l3 = s.ipv6(src, dst, 17, seg)
            etype = s.ETH_IPV6
        else:
            l3, etype = s.ipv4(src, dst, 17, seg), s.ETH_IPV4
        if tpids:
            return [ether_tpids(l3, etype, vlans, tpids)]
        return [s.ether(l3, etype, vlans)]
    return build


def ether_tpids(payload, ethertype, vlans, tpids, src=None, dst=None):
    s = sp()
    out = (dst or s.MAC_CORE) + (src or s.MAC_TRUNK)
    for tpid, vid in zip(tpids, vlans):
        out += struct.pack("!HH", tpid, vid & 0x0FFF)
    return out + struct.pack("!H", ethertype) + payload


def frag_builder(src, dst, sport=5060, dport=5060, vlans=(), mtu=None, ident=None, order=None):
    s = sp()

    def build(payload):
        if ":" in src:
            fr = s.udp_fragments_v6(src, dst, sport, dport, payload, mtu=mtu or 1280,
                                    ident=ident or 0x5678, vlans=vlans)
        else:
            fr = s.udp_fragments_v4(src, dst, sport, dport, payload, mtu=mtu or 1500,
                                    ident=ident or 0x1234, vlans=vlans)
        if order == "reverse":
            fr = fr[::-1]
        elif order:
            fr = [fr[i] for i in order]
        return fr
    return build


def invite(caller, *, src=h.PEER4, call_id=None, cseq=1, compact=False, sdp=True, sdp_pad=0,
           extra=(), transport="UDP", sport=5060):
    host = f"[{src}]" if ":" in src else src
    core = f"[{h.CORE6}]" if ":" in src else h.CORE4
    cid = call_id or next_id("it")
    return sp().invite(ruri=f"sip:13600136000@{core};user=phone",
                       from_uri=f"sip:{caller}@{host};user=phone",
                       to_uri=f"sip:13600136000@{core};user=phone", call_id=cid, src=src,
                       cseq=cseq, compact=compact, sdp=sdp, sdp_pad=sdp_pad, extra=extra,
                       transport=transport, sport=sport)


ACTIONS = {  # caller -> (expect, code)
    h.CALLER_CLEAN: ("forward", None),
    h.CALLER_608: ("reject", 608),
    h.CALLER_603: ("reject", 603),
    h.CALLER_DROP: ("drop", None),
    h.CALLER_TAG: ("tag", None),
}


def udp_invite_case(label, caller, *, src=h.PEER4, dst=None, vlans=(), ext=None, tpids=None,
                    expect=None, **kw):
    dst = dst or (h.CORE6 if ":" in src else h.CORE4)
    exp, code = ACTIONS[caller]
    payload = invite(caller, src=src, **kw)
    return Case(label, expect or exp, payload, udp_builder(src, dst, vlans=vlans, ext=ext, tpids=tpids),
                code=code, src=src, dst=dst)


def frag_invite_case(label, caller, *, src=h.PEER4, vlans=(), mtu=None, order=None, sdp_pad=45,
                     expect=None, ident=None, **kw):
    dst = h.CORE6 if ":" in src else h.CORE4
    exp, code = ACTIONS[caller]
    if expect is None:
        expect = {"forward": "refrag", "tag": "refrag"}.get(exp, exp)
    payload = invite(caller, src=src, sdp_pad=sdp_pad, **kw)
    c = Case(label, expect, payload, frag_builder(src, dst, vlans=vlans, mtu=mtu, ident=ident, order=order),
             code=code, src=src, dst=dst, fragments=True)
    if len(c.frames) < 2:
        raise ValueError(f"{label}: not fragmented")
    return c


def raw_case(label, frame, expect="forward"):
    return Case(label, expect, b"", lambda _p, fr=frame: [fr])


def udp_payload_case(label, payload, *, src=h.PEER4, dst=None, sport=5060, dport=5060, vlans=(),
                     expect="forward"):
    dst = dst or (h.CORE6 if ":" in src else h.CORE4)
    return Case(label, expect, payload, udp_builder(src, dst, sport, dport, vlans=vlans),
                sport=sport, dport=dport, src=src, dst=dst)


def hop_by_hop():
    """IPv6 ext chain: one Hop-by-Hop Options header (next header 0)."""
    return (0, lambda nh: sp().ipv6_hop_by_hop(nh))


def dest_opts_then_hbh():
    """Hop-by-Hop, then Destination Options: two extension headers."""
    def chain(nh):
        dest = struct.pack("!BB", nh, 0) + bytes([1, 4, 0, 0, 0, 0])
        return sp().ipv6_hop_by_hop(60) + dest
    return (0, chain)


# --- non-SIP frames -----------------------------------------------------------------

def arp_frame(vlans=()):
    s = sp()
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, s.MAC_TRUNK, bytes([192, 0, 2, 11]),
                      b"\0" * 6, bytes([10, 10, 0, 10]))
    return s.ether(arp + b"\0" * 18, 0x0806, vlans, dst=b"\xff" * 6)


def icmp_echo_frame():
    s = sp()
    body = struct.pack("!BBHHH", 8, 0, 0, 0x42, 1) + b"sipwall-it-ping!"
    c = h.csum(body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    return s.ether(s.ipv4(h.PEER4, h.CORE4, 1, body), s.ETH_IPV4)


def dns_query_payload():
    return (struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x03net\x00"
            + struct.pack("!HH", 1, 1))


def http_tcp_frame():
    s = sp()
    return s.tcp_frame(h.PEER4, h.CORE4, 41000, 80, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


# --- expectations and checks ----------------------------------------------------------

def expected_outputs(cases):
    """(trunk items, core items) in output order."""
    trunk, core = [], []
    for c in cases:
        if c.expect == "forward":
            core += [("exact", f, c) for f in c.frames]
        elif c.expect == "tag":
            core += [("exact", f, c) for f in c.expected_tagged()]
        elif c.expect == "refrag":
            core.append(("frags", None, c))
        elif c.expect == "reject":
            trunk.append(("reply", None, c))
        elif c.expect == "drop":
            pass
        else:
            raise ValueError(c.expect)
    return trunk, core


REPLY_FIELDS = ["eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
                "udp.srcport", "udp.dstport", "ip.checksum.status", "udp.checksum.status",
                "sip.Status-Code", "sip.Call-ID", "sip.CSeq", "sip.Via.branch", "sip.to.tag",
                "sip.Reason", "sip.Call-Info", "sip.Status-Line", "tcp.srcport", "tcp.dstport",
                "tcp.checksum.status", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags"]


def _fmt_mac(b):
    return ":".join(f"{x:02x}" for x in b)


def check_reply(t, c, reply_raw, row, *, transport="udp"):
    """A 603/608 answering case `c`: frame layers (Python and tshark) and SIP text."""
    req = h.decode(c.frames[0])
    rep = h.decode(reply_raw)
    L = f"{c.label}: reply"
    t.eq(rep.dst_mac, req.src_mac, f"{L} destination MAC = request source MAC")
    t.eq(rep.src_mac, req.dst_mac, f"{L} source MAC = request destination MAC")
    t.eq(rep.vlans, req.vlans, f"{L} VLAN ids")
    t.eq(rep.tpids, req.tpids, f"{L} VLAN TPIDs")
    t.eq(rep.ip, req.ip, f"{L} IP version")
    t.eq((rep.src, rep.dst), (req.dst, req.src), f"{L} addresses swapped")
    t.eq((rep.sport, rep.dport), (req.dport, req.sport), f"{L} ports swapped")
    if rep.ip == 4:
        t.check(rep.ip_checksum_ok, f"{L} IPv4 header checksum (Python)")
        t.eq(rep.ip_ttl, 64, f"{L} TTL")
        t.check(rep.ip_df, f"{L} DF set")
        t.eq(row["ip.checksum.status"], "1", f"{L} tshark ip.checksum.status")
    else:
        t.eq(rep.ext, [], f"{L} IPv6 extension headers dropped")
        t.eq(rep.ip_hop, 64, f"{L} hop limit")
    t.eq(rep.ip_end, len(rep.raw), f"{L} IP length covers the frame")
    t.check(rep.l4_checksum_ok(), f"{L} {transport.upper()} checksum (Python)")
    if transport == "udp":
        t.eq(row["udp.checksum.status"], "1", f"{L} tshark udp.checksum.status")
        t.eq(rep.udp_len, 8 + len(rep.payload), f"{L} UDP length")
    else:
        t.eq(row["tcp.checksum.status"], "1", f"{L} tshark tcp.checksum.status")
    if c.code is not None:
        check_response_text(t, c, rep.payload, row, L)
    return rep


def expected_response(invite, code, src, sport, reason=None):
    """The response text docs/packet-handling.md §4.1 specifies, with the To-tag
    written as 16 'x' (it is a hash; only its form is checked)."""
    _, req_h, _ = h.sip_headers(invite)
    phrase = {603: "Decline", 608: "Rejected"}[code]
    vias = h.header(req_h, "Via", "v")
    out = [f"SIP/2.0 {code} {phrase}"]
    out.append("Via: " + vias[0].replace(";rport", f";rport={sport}", 1) + f";received={src}")
    out += ["Via: " + v for v in vias[1:]]
    out.append("From: " + h.header(req_h, "From", "f")[0])
    out.append("To: " + h.header(req_h, "To", "t")[0] + ";tag=" + "x" * 16)
    out.append("Call-ID: " + h.header(req_h, "Call-ID", "i")[0])
    out.append("CSeq: " + h.header(req_h, "CSeq")[0])
    reason = reason or (h.REASON_608 if code == 608 else h.REASON_603)
    out.append(f'Reason: SIP;cause={code};text="{reason}"')
    if code == 608:
        out.append(f"Call-Info: <{h.CALL_INFO_608}>;purpose=jwscard")
    out += ["Server: sipwall", "Content-Length: 0"]
    return ("\r\n".join(out) + "\r\n\r\n").encode()


def mask_to_tag(text):
    return re.sub(rb"(\r\nTo: [^\r]*;tag=)[0-9a-f]{16}\r\n", rb"\1xxxxxxxxxxxxxxxx\r\n", text)


def check_response_text(t, c, text, row, L):
    t.eq(mask_to_tag(text), expected_response(c.payload, c.code, c.src, c.sport, c.reason),
         f"{L} whole response text (To-tag masked)")
    req_line, req_h, _ = h.sip_headers(c.payload)
    first, hdrs, body = h.sip_headers(text)
    code = c.code
    phrase = {603: "Decline", 608: "Rejected"}[code]
    t.eq(first, f"SIP/2.0 {code} {phrase}", f"{L} status line")
    t.eq(row.get("sip.Status-Code"), str(code), f"{L} tshark sip.Status-Code")
    call_id = h.header(req_h, "Call-ID", "i")[0]
    cseq = h.header(req_h, "CSeq")[0]
    t.eq(h.header(hdrs, "Call-ID"), [call_id], f"{L} Call-ID")
    t.eq(row.get("sip.Call-ID"), call_id, f"{L} tshark sip.Call-ID")
    t.eq(h.header(hdrs, "CSeq"), [cseq], f"{L} CSeq")
    t.eq(row.get("sip.CSeq"), cseq, f"{L} tshark sip.CSeq")
    t.eq(h.header(hdrs, "From"), h.header(req_h, "From", "f"), f"{L} From copied")
    req_via = h.header(req_h, "Via", "v")
    via = h.header(hdrs, "Via")
    t.eq(len(via), len(req_via), f"{L} number of Via headers")
    branch = re.search(r";branch=([^;,\s]+)", req_via[0]).group(1)
    t.eq(row.get("sip.Via.branch", "").split(",")[0], branch, f"{L} tshark Via branch")
    # RFC 3581: the empty rport gets the source port, received= the source address.
    top = req_via[0].replace(";rport", f";rport={c.sport}", 1) + f";received={c.src}"
    if via:
        t.eq(via[0], top, f"{L} top Via (received/rport filled)")
        t.eq(via[1:], req_via[1:], f"{L} other Via values unchanged")
    to = h.header(hdrs, "To")
    req_to = h.header(req_h, "To", "t")[0]
    t.check(len(to) == 1 and re.fullmatch(re.escape(req_to) + r";tag=[0-9a-f]{16}", to[0]),
            f"{L} To = request To + ;tag=16 hex digits, got {to}")
    t.check(re.fullmatch(r"[0-9a-f]{16}", row.get("sip.to.tag", "")), f"{L} tshark sip.to.tag: {row.get('sip.to.tag')!r}")
    reason = c.reason or (h.REASON_608 if code == 608 else h.REASON_603)
    want_reason = f'SIP;cause={code};text="{reason}"'
    t.eq(h.header(hdrs, "Reason"), [want_reason], f"{L} Reason header")
    t.eq(row.get("sip.Reason"), want_reason, f"{L} tshark sip.Reason")
    if code == 608:
        want_ci = f"<{h.CALL_INFO_608}>;purpose=jwscard"
        t.eq(h.header(hdrs, "Call-Info"), [want_ci], f"{L} 608 Call-Info (RFC 8688)")
        t.eq(row.get("sip.Call-Info"), want_ci, f"{L} tshark sip.Call-Info")
    else:
        t.eq(h.header(hdrs, "Call-Info"), [], f"{L} no Call-Info in a 603")
    t.eq(h.header(hdrs, "Content-Length"), ["0"], f"{L} Content-Length")
    t.eq(body, "", f"{L} empty body")
    full = {"Via", "From", "To", "Call-ID", "CSeq", "Reason", "Call-Info", "Server", "Content-Length"}
    t.check(all(n in full for n, _ in hdrs), f"{L} only full-form headers: {[n for n, _ in hdrs]}")


def check_tagged_row(t, c, row):
    L = f"{c.label}: tagged INVITE"
    if c.src.count(":") == 0:
        t.eq(row["ip.checksum.status"], "1", f"{L} tshark ip.checksum.status")
    t.eq(row["udp.checksum.status"], "1", f"{L} tshark udp.checksum.status")
    t.check(h.TAG_LINE in row["sip.msg_hdr"].replace("\\r\\n", "\n").split("\n"),
            f"{L} tshark sees the header {h.TAG_LINE!r}")
    body = c.payload.split(b"\r\n\r\n", 1)[1]
    t.eq(row["sip.Content-Length"], str(len(body)), f"{L} Content-Length unchanged = body length")


CORE_FIELDS = ["frame.number", "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status",
               "sip.Method", "sip.msg_hdr", "sip.Content-Length", "ip.flags.mf", "ip.frag_offset",
               "ipv6.fraghdr.offset", "ipv6.fraghdr.more"]


def check_outputs(t, tag, cases, out_trunk, out_core, trunk_pcap, core_pcap, core_mtu=1500):
    """Both output pcaps against the cases' expectations, frame by frame."""
    want_trunk, want_core = expected_outputs(cases)
    rows_t = h.tshark_fields(t, trunk_pcap, REPLY_FIELDS)
    rows_c = h.tshark_fields(t, core_pcap, CORE_FIELDS)
    t.eq(len(rows_t), len(out_trunk), f"{tag}: tshark reads every trunk-out frame")
    t.eq(len(rows_c), len(out_core), f"{tag}: tshark reads every core-out frame")
    for path in (trunk_pcap, core_pcap):
        t.eq(h.tshark_malformed(t, path), [], f"{tag}: tshark finds no malformed frame or error in {path}")

    # Trunk side: one reply per rejected case, in order.
    t.eq(len(out_trunk), len(want_trunk),
         f"{tag}: trunk-out frames (replies for {[c.label for _, _, c in want_trunk]})")
    for i, (_, _, c) in enumerate(want_trunk[:len(out_trunk)]):
        check_reply(t, c, out_trunk[i], rows_t[i] if i < len(rows_t) else {})

    # Core side.
    i = 0
    for kind, frame, c in want_core:
        if i >= len(out_core):
            t.check(False, f"{tag}: core-out ended before {c.label} ({kind})")
            break
        if kind == "exact":
            ok = t.check(out_core[i] == frame,
                         f"{c.label}: core-out frame {i + 1} differs from the expected "
                         f"{'tagged' if c.expect == 'tag' else 'unchanged'} frame:\n"
                         f"      got  {h.decode(out_core[i]).describe()}\n"
                         f"      want {h.decode(frame).describe()}")
            if ok and c.expect == "tag":
                check_tagged_row(t, c, rows_c[i])
            i += 1
        else:  # frags: the datagram's new fragments (or the whole datagram, if it fits)
            got = []
            while i < len(out_core):
                f = h.decode(out_core[i])
                if f.ip is None or f.src != c.src or f.dst != c.dst:
                    break
                if f.frag is None:
                    if not got:
                        got.append((f, rows_c[i]))
                        i += 1
                    break
                got.append((f, rows_c[i]))
                i += 1
                if not f.frag[2]:
                    break
            check_refragmented(t, c, got, core_mtu)
    t.eq(i, len(out_core), f"{tag}: core-out has no frames beyond the expected ones "
         f"({[h.decode(f).describe() for f in out_core[i:i + 3]]})")


def refrag_pieces(c, mtu):
    """How many fragments a datagram re-fragmented at `mtu` must leave in: each
    carries (MTU - IP headers) rounded down to 8 bytes (IPv6: 40 + Fragment 8)."""
    step = (mtu - (20 if ":" not in c.src else 48)) // 8 * 8
    return -(-len(c.datagram()) // step)


def check_refragmented(t, c, got, mtu):
    L = f"{c.label}: re-fragmented datagram"
    if not t.check(got, f"{L}: missing in core-out"):
        return
    req = h.decode(c.frames[0])
    frames = [f for f, _ in got]
    if len(frames) == 1 and frames[0].frag is None:
        data, ids = frames[0].ip_payload, [frames[0].ip_ident]   # it fits the MTU whole
    else:
        data, ids = h.reassemble(frames), sorted({f.frag[0] for f in frames})
    t.eq(data, c.datagram(), f"{L}: reassembled UDP datagram identical to the input")
    # A bump in the wire keeps the sender's Identification (unique per
    # source/destination, RFC 791 / RFC 8200 §4.5); a constant would let a
    # receiver mix up fragments of concurrent datagrams.
    t.eq(ids, [req.frag[0]], f"{L}: Identification = the input fragments' one")
    t.eq(len(frames), refrag_pieces(c, mtu), f"{L}: as few fragments as the egress MTU {mtu} allows")
    for n, (f, row) in enumerate(got):
        ip_len = f.ip_end - f.l3
        t.check(ip_len <= mtu, f"{L}: fragment {n + 1} IP length {ip_len} <= egress MTU {mtu}")
        t.eq((f.vlans, f.src_mac, f.dst_mac), (req.vlans, req.src_mac, req.dst_mac),
             f"{L}: fragment {n + 1} L2 header as received")
        if f.ip == 4:
            t.check(f.ip_checksum_ok, f"{L}: fragment {n + 1} IPv4 header checksum (Python)")
            t.eq(row["ip.checksum.status"], "1", f"{L}: fragment {n + 1} tshark ip.checksum.status")
    # tshark reassembles: the last fragment carries the whole INVITE.
    last = got[-1][1]
    if c.payload.startswith(b"INVITE"):
        t.eq(last["sip.Method"], "INVITE", f"{L}: tshark reassembles it into a SIP INVITE")
    t.eq(last["udp.checksum.status"], "1", f"{L}: tshark udp.checksum.status of the reassembled datagram")


def invite_of_size(caller, size, **kw):
    """An INVITE of exactly `size` bytes (an X-Pad header makes up the difference)."""
    base = invite(caller, extra=["X-Pad: "], **kw)
    need = size - len(base)
    if need < 0:
        raise ValueError(f"INVITE is already {len(base)} bytes")
    cid = h.sip_headers(base)[1]
    call_id = h.header(cid, "Call-ID", "i")[0]
    kw = dict(kw, call_id=call_id)
    out = invite(caller, extra=["X-Pad: " + "p" * need], **kw)
    assert len(out) == size, (len(out), size)
    return out


def tcp_builder(src, dst, sport, dport, *, seq, ack, flags=0x18, vlans=()):
    """payload -> [one TCP segment frame] with the given numbers and flags."""
    s = sp()

    def build(payload):
        seg = s.tcp(src, dst, sport, dport, payload, seq=seq, ack=ack, flags=flags)
        if ":" in src:
            return [s.ether(s.ipv6(src, dst, 6, seg), s.ETH_IPV6, vlans)]
        return [s.ether(s.ipv4(src, dst, 6, seg), s.ETH_IPV4, vlans)]
    return build
