#!/usr/bin/env python3
"""SIP from the core side in pieces reaches the call table (issue 14): IP
fragments and TCP segments.

A 200 OK with a large SDP does not fit one packet: over UDP the core's kernel
sends it in IP fragments, over TCP its stack cuts it across segments. The
core side is never held: its packets leave at once, untouched, as always.
While calls are followed (a rule set with detectors), a copy of each fragment
goes into the worker's reassembly table, and the unfinished end of a TCP
message is kept per flow until the next segment in sequence completes it
(dataplane/tcp/core_tails.h); the whole messages are parsed for the call
table like any core-side SIP.

The core port replays: a 180 (one packet), a 3,000-byte 200 OK in IPv4
fragments, one in IPv6 fragments, a fragmented non-SIP datagram (port 9999),
a 200 OK whose last fragment never comes, and on one TCP flow a 180 with the
start of a 2,000-byte 200 OK, its middle, and its end followed by a BYE.
Checks, with detectors:
  * core_sip_parsed is 6 (over UDP the 180 and both whole 200s, not the
    non-SIP datagram, not the incomplete one; over TCP the 180, the 200 put
    together from three segments, the BYE); core_tcp_tails_joined is 2 and
    nothing is lost;
  * core_fragments_followed counts every core-side fragment, and
    core_fragments_uncopied is 0;
  * the core port's frames leave on the trunk port byte for byte, in order
    (nothing held, nothing rewritten, nothing lost);
and with a rule set without detectors, nothing is copied, kept or parsed.
"""
import harness as h

RULES = """\
version: "it-core-frag.{n}"
name: it-core-frag
dial_plan: {{preset: china}}
defaults: {{action: pass}}
{detectors}rules:
  - id: nothing
    match: {{caller: {{equals: "+8613000000000"}}}}
    action: drop
"""
DETECTORS = """\
detectors:
  - {name: bombing, key: caller_callee, count: invites, window: 60s, block: 10}
"""


def ok_200(call_id, src, body_bytes, transport="UDP"):
    """A 200 OK to an INVITE with an SDP of about `body_bytes`."""
    host = f"[{src}]" if ":" in src else src
    sdp = "v=0\r\no=- 1 1 IN IP4 10.10.0.10\r\ns=-\r\nc=IN IP4 10.10.0.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    while len(sdp) < body_bytes:
        sdp += "a=fmtp:101 0-15;x-pad=" + "p" * 40 + "\r\n"
    head = [f"SIP/2.0 200 OK",
            f"Via: SIP/2.0/{transport} {host}:5060;branch=z9hG4bK-{call_id.split('@')[0]}",
            "From: <sip:+8613512345678@example.net>;tag=a1",
            "To: <sip:+8613912345678@example.net>;tag=b2",
            f"Call-ID: {call_id}",
            "CSeq: 1 INVITE",
            "Contact: <sip:core@10.10.0.10:5060>",
            "Content-Type: application/sdp",
            f"Content-Length: {len(sdp)}"]
    return ("\r\n".join(head) + "\r\n\r\n" + sdp).encode()


def one_run(t, tag, yaml, followed):
    s = h.sippcap()
    art = t.compile_rules(tag, yaml)
    trunk_in = [s.udp_frame(h.PEER4, h.CORE4, 5060, 5060,
                            s.request("OPTIONS", ruri="sip:core@10.10.0.10", call_id=f"{tag}-opt@x", src=h.PEER4))]
    core = []
    core.append(s.udp_frame(h.CORE4, h.PEER4, 5060, 5060,
                            s.response(180, "Ringing", call_id=f"{tag}-v4@x", src=h.PEER4)))
    core += s.udp_fragments_v4(h.CORE4, h.PEER4, 5060, 5060, ok_200(f"{tag}-v4@x", h.PEER4, 3000), ident=0x3101)
    core += s.udp_fragments_v6(h.CORE6, h.PEER6, 5060, 5060, ok_200(f"{tag}-v6@x", h.PEER6, 3000), ident=0x3102)
    core += s.udp_fragments_v4(h.CORE4, h.PEER4, 40000, 9999, bytes(range(256)) * 12, ident=0x3103)
    lost = s.udp_fragments_v4(h.CORE4, h.PEER4, 5060, 5060, ok_200(f"{tag}-lost@x", h.PEER4, 3000), ident=0x3104)
    core += lost[:-1]
    n_frags = len(core) - 1
    # One TCP flow: [180 + the 200's start] [its middle] [its end + a BYE].
    ringing = s.response(180, "Ringing", call_id=f"{tag}-tcp@x", src=h.PEER4).replace(b"/UDP", b"/TCP")
    ok = ok_200(f"{tag}-tcp@x", h.PEER4, 2000, "TCP")
    bye = s.request("BYE", ruri="sip:+8613512345678@192.0.2.11", call_id=f"{tag}-tcp@x",
                    src=h.CORE4).replace(b"/UDP", b"/TCP")
    pieces = [ringing + ok[:700], ok[700:1500], ok[1500:] + bye]
    seq = 7000
    for p in pieces:
        core.append(s.tcp_frame(h.CORE4, h.PEER4, 5060, 40001, p, seq=seq))
        seq += len(p)
    t.check(n_frags >= 10, f"{tag}: the core side sends {n_frags} fragments")
    trunk_pcap, core_pcap = t.path(tag + "-trunk-in.pcap"), t.path(tag + "-core-in.pcap")
    trunk_out, core_out = t.path(tag + "-trunk-out.pcap"), t.path(tag + "-core-out.pcap")
    s.write_pcap(trunk_pcap, trunk_in)
    s.write_pcap(core_pcap, core)
    ports = [("trunk", f"net_pcap0,rx_pcap={trunk_pcap},tx_pcap={trunk_out}", "trunk"),
             ("core", f"net_pcap1,rx_pcap={core_pcap},tx_pcap={core_out}", "core")]
    with h.Dataplane(t, tag, ports, artifact=art) as dp:
        dp.start()
        dp.wait_rx(len(trunk_in) + len(core))
        t.eq(dp.stop(), 0, f"{tag}: sipwall-dataplane exit code")
        st = dp.final_stats()
    c = st["counters"]
    t.eq(s.read_pcap(trunk_out), core, f"{tag}: the core side's frames leave on the trunk port as they came")
    if followed:
        t.eq(c["core_sip_parsed"], 6, f"{tag}: core_sip_parsed (UDP: the 180 and both whole 200s; TCP: 180, 200, BYE)")
        t.eq(c["core_fragments_followed"], n_frags, f"{tag}: core_fragments_followed")
        t.eq(c["core_tcp_tails_joined"], 2, f"{tag}: core_tcp_tails_joined (the 200's middle and end)")
    else:
        t.eq(c["core_sip_parsed"], 0, f"{tag}: core_sip_parsed without detectors")
        t.eq(c["core_fragments_followed"], 0, f"{tag}: core_fragments_followed without detectors")
        t.eq(c["core_tcp_tails_joined"], 0, f"{tag}: core_tcp_tails_joined without detectors")
    t.eq(c["core_tcp_tails_lost"], 0, f"{tag}: core_tcp_tails_lost")
    t.eq(c["core_fragments_uncopied"], 0, f"{tag}: core_fragments_uncopied")
    t.eq(c["fragments_in"], 0, f"{tag}: fragments_in (the trunk side's only)")


def main():
    with h.Test("core_pieces", __doc__) as t:
        one_run(t, "detect", RULES.format(n=1, detectors=DETECTORS), followed=True)
        one_run(t, "plain", RULES.format(n=2, detectors=""), followed=False)


if __name__ == "__main__":
    main()
