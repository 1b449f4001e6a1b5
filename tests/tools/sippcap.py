"""Small, dependency-free packet builder for sipwall's test pcaps.

Builds Ethernet (with optional 802.1Q / QinQ tags), IPv4, IPv6, UDP and TCP
frames with correct lengths and checksums, IPv4/IPv6 fragments, SIP INVITEs
with SDP, and writes classic libpcap files. Deterministic: the same calls give
the same bytes, so generated pcaps can be regenerated and diffed.
"""
import ipaddress
import struct

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8

MAC_TRUNK = bytes.fromhex("020000000001")
MAC_CORE = bytes.fromhex("020000000002")


def checksum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        return s.packed + d.packed + struct.pack("!BBH", 0, proto, length)
    return s.packed + d.packed + struct.pack("!IxxxB", length, proto)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = checksum16(_pseudo(src, dst, 17, length) + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def tcp(src: str, dst: str, sport: int, dport: int, payload: bytes, seq: int = 1000,
        ack: int = 1, flags: int = 0x18) -> bytes:
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = checksum16(_pseudo(src, dst, 6, len(hdr) + len(payload)) + hdr + payload)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, c, 0) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1, frag_off: int = 0,
         more: bool = False, ttl: int = 64) -> bytes:
    flags_frag = (0x2000 if more else 0) | (frag_off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_frag, ttl, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    c = checksum16(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes, hop_limit: int = 64,
         ext: bytes = b"") -> bytes:
    """`ext` is a pre-built extension header chain; its first byte chain must end in the
    real upper-layer protocol, and `next_header` names the first header of the chain."""
    body = ext + payload
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), next_header, hop_limit,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + body


def ipv6_hop_by_hop(next_header: int) -> bytes:
    """An 8-byte Hop-by-Hop Options header with PadN."""
    return struct.pack("!BB", next_header, 0) + bytes([1, 4, 0, 0, 0, 0])


def ether(payload: bytes, ethertype: int, vlans=(), src=MAC_TRUNK, dst=MAC_CORE) -> bytes:
    """vlans: () untagged, (100,) 802.1Q, (200, 100) QinQ (outer 802.1ad, inner 802.1Q)."""
    out = dst + src
    tpids = [ETH_QINQ, ETH_VLAN] if len(vlans) == 2 else [ETH_VLAN]
    for tpid, vid in zip(tpids, vlans):
        out += struct.pack("!HH", tpid, vid & 0x0FFF)
    return out + struct.pack("!H", ethertype) + payload


def udp_frame(src, dst, sport, dport, payload: bytes, vlans=()) -> bytes:
    if ":" in src:
        return ether(ipv6(src, dst, 17, udp(src, dst, sport, dport, payload)), ETH_IPV6, vlans)
    return ether(ipv4(src, dst, 17, udp(src, dst, sport, dport, payload)), ETH_IPV4, vlans)


def tcp_frame(src, dst, sport, dport, payload: bytes, seq=1000, vlans=()) -> bytes:
    if ":" in src:
        return ether(ipv6(src, dst, 6, tcp(src, dst, sport, dport, payload, seq)), ETH_IPV6, vlans)
    return ether(ipv4(src, dst, 6, tcp(src, dst, sport, dport, payload, seq)), ETH_IPV4, vlans)


def udp_fragments_v4(src, dst, sport, dport, payload: bytes, mtu=1500, ident=0x1234, vlans=()):
    """The UDP datagram split into IPv4 fragments that fit `mtu` (IP bytes)."""
    dgram = udp(src, dst, sport, dport, payload)
    step = ((mtu - 20) // 8) * 8
    frames = []
    for off in range(0, len(dgram), step):
        chunk = dgram[off:off + step]
        more = off + step < len(dgram)
        frames.append(ether(ipv4(src, dst, 17, chunk, ident=ident, frag_off=off, more=more),
                            ETH_IPV4, vlans))
    return frames


def udp_fragments_v6(src, dst, sport, dport, payload: bytes, mtu=1280, ident=0x5678, vlans=()):
    """The UDP datagram split into IPv6 fragments (Fragment extension header)."""
    dgram = udp(src, dst, sport, dport, payload)
    step = ((mtu - 40 - 8) // 8) * 8
    frames = []
    for off in range(0, len(dgram), step):
        chunk = dgram[off:off + step]
        more = off + step < len(dgram)
        frag_hdr = struct.pack("!BBHI", 17, 0, off | (1 if more else 0), ident)
        frames.append(ether(ipv6(src, dst, 44, chunk, ext=frag_hdr), ETH_IPV6, vlans))
    return frames


SDP_TEMPLATE = (
    "v=0\r\n"
    "o=- {sess} {sess} IN IP{v} {media}\r\n"
    "s=-\r\n"
    "c=IN IP{v} {media}\r\n"
    "t=0 0\r\n"
    "m=audio {rtp} RTP/AVP 8 0 18 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n"
)


def invite(*, ruri: str, from_uri: str, to_uri: str, call_id: str, src: str, sport: int = 5060,
           from_name: str = "", pai=None, diversion=None, user_agent="Carrier-SBC/4.2",
           cseq: int = 1, branch: str = "", compact: bool = False, extra=(), sdp: bool = True,
           sdp_pad: int = 0, transport: str = "UDP") -> bytes:
    """A realistic carrier INVITE (about 1 KB with SDP)."""
    host = f"[{src}]" if ":" in src else src
    branch = branch or "z9hG4bK" + call_id.split("@")[0][-12:]
    v = 6 if ":" in src else 4
    body = ""
    if sdp:
        body = SDP_TEMPLATE.format(sess=4242 + cseq, v=v,
                                   media=src, rtp=20000 + (sport % 1000) * 2)
        body += "".join(f"a=x-pad:{'p' * 60}\r\n" for _ in range(sdp_pad))
    disp = f'"{from_name}" ' if from_name else ""
    names = (("v", "f", "t", "i", "m", "c", "l") if compact else
             ("Via", "From", "To", "Call-ID", "Contact", "Content-Type", "Content-Length"))
    h = [f"INVITE {ruri} SIP/2.0",
         f"{names[0]}: SIP/2.0/{transport} {host}:{sport};branch={branch};rport",
         "Max-Forwards: 69",
         f"{names[1]}: {disp}<{from_uri}>;tag=fr{cseq}{len(call_id)}x",
         f"{names[2]}: <{to_uri}>",
         f"{names[3]}: {call_id}",
         f"CSeq: {cseq} INVITE",
         f"{names[4]}: <sip:{from_uri.split(':', 1)[1].split('@')[0]}@{host}:{sport};transport={transport.lower()}>"]
    for p in (pai or []):
        h.append(f"P-Asserted-Identity: {p}")
    for d in (diversion or []):
        h.append(f"Diversion: {d}")
    h += ["Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, INFO",
          "Supported: 100rel, timer, replaces",
          "Session-Expires: 1800;refresher=uac",
          "Min-SE: 90",
          f"User-Agent: {user_agent}"]
    h += list(extra)
    if body:
        h.append(f"{names[5]}: application/sdp")
    h.append(f"{names[6]}: {len(body.encode())}")
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def request(method: str, *, ruri: str, call_id: str, src: str, cseq: int = 1, sport: int = 5060,
            extra=()) -> bytes:
    host = f"[{src}]" if ":" in src else src
    h = [f"{method} {ruri} SIP/2.0",
         f"Via: SIP/2.0/UDP {host}:{sport};branch=z9hG4bK{method.lower()}{cseq}",
         "Max-Forwards: 70",
         f"From: <sip:probe@{host}>;tag=t{cseq}",
         f"To: <{ruri}>",
         f"Call-ID: {call_id}",
         f"CSeq: {cseq} {method}"]
    h += list(extra)
    h.append("Content-Length: 0")
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def response(code: int, reason: str, *, call_id: str, src: str, cseq: int = 1,
             method: str = "INVITE") -> bytes:
    host = f"[{src}]" if ":" in src else src
    h = [f"SIP/2.0 {code} {reason}",
         f"Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bKresp{cseq}",
         "From: <sip:caller@example.net>;tag=a1",
         "To: <sip:callee@example.net>;tag=b2",
         f"Call-ID: {call_id}",
         f"CSeq: {cseq} {method}",
         "Content-Length: 0"]
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def write_pcap(path: str, frames, start_ts: float = 1764320400.0, gap_us: int = 1000,
               snaplen: int = 65535) -> None:
    """Classic pcap, microsecond timestamps, LINKTYPE_ETHERNET. Readers cut
    frames longer than `snaplen` (raise it for frames over 65535 bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        sec, usec = int(start_ts), 0
        for fr in frames:
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
            f.write(fr)
            usec += gap_us
            sec, usec = sec + usec // 1000000, usec % 1000000


def read_pcap(path: str):
    """Frames of a classic pcap (either byte order, micro or nano seconds)."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + incl])
        off += incl
    return frames
