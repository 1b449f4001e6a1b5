#!/usr/bin/env python3
"""SIP from the core side in IP fragments reaches the call table (issue 14).

A 200 OK with a large SDP does not fit one packet; the core's kernel sends it
in fragments. The core side is never held: its fragments leave at once,
untouched, as always. While calls are followed (a rule set with detectors), a
copy of each goes into the worker's reassembly table, and the whole message
is parsed for the call table like any core-side SIP.

The core port replays: a 180 (one packet), a 3,000-byte 200 OK in IPv4
fragments, one in IPv6 fragments, a fragmented non-SIP datagram (port 9999),
and a 200 OK whose last fragment never comes. Checks, with detectors:
  * core_sip_parsed is 3 (the 180 and both whole 200s; not the non-SIP
    datagram, not the incomplete one);
  * core_fragments_followed counts every core-side fragment, and
    core_fragments_uncopied is 0;
  * the core port's frames leave on the trunk port byte for byte, in order
    (nothing held, nothing rewritten, nothing lost);
and with a rule set without detectors, no fragment is copied or parsed.
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


def ok_200(call_id, src, body_bytes):
    """A 200 OK to an INVITE with an SDP of about `body_bytes`."""
    host = f"[{src}]" if ":" in src else src
    sdp = "v=0\r\no=- 1 1 IN IP4 10.10.0.10\r\ns=-\r\nc=IN IP4 10.10.0.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    while len(sdp) < body_bytes:
        sdp += "a=fmtp:101 0-15;x-pad=" + "p" * 40 + "\r\n"
    head = [f"SIP/2.0 200 OK",
            f"Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bK-{call_id.split('@')[0]}",
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
        t.eq(c["core_sip_parsed"], 3, f"{tag}: core_sip_parsed (the 180 and both whole 200s)")
        t.eq(c["core_fragments_followed"], n_frags, f"{tag}: core_fragments_followed")
    else:
        t.eq(c["core_sip_parsed"], 0, f"{tag}: core_sip_parsed without detectors")
        t.eq(c["core_fragments_followed"], 0, f"{tag}: core_fragments_followed without detectors")
    t.eq(c["core_fragments_uncopied"], 0, f"{tag}: core_fragments_uncopied")
    t.eq(c["fragments_in"], 0, f"{tag}: fragments_in (the trunk side's only)")


def main():
    with h.Test("core_fragments", __doc__) as t:
        one_run(t, "detect", RULES.format(n=1, detectors=DETECTORS), followed=True)
        one_run(t, "plain", RULES.format(n=2, detectors=""), followed=False)


if __name__ == "__main__":
    main()
