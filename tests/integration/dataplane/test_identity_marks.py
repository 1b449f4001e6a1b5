#!/usr/bin/env python3
"""The tag action's risk warning in From and P-Asserted-Identity (label, verstat).

A rule set tags one caller with `label: "[骚扰]"` and
`verstat: TN-Validation-Failed`; INVITEs from that caller, in every From /
P-Asserted-Identity form, over IPv4/UDP, IPv6/UDP (behind a VLAN) and
IPv4/TCP, go through the real data plane on net_pcap. Checks:

* each core-out frame equals a frame Python builds from the expected text,
  written out by hand here (so every length and checksum is right and nothing
  else moved); the TCP segment after a marked INVITE has its seq moved by what
  the marks added;
* tshark (second opinion, checksum validation on) reads the From and every
  P-Asserted-Identity display name with the label, sees the verstat and the
  risk header, finds good IP/UDP/TCP checksums and nothing malformed;
* an INVITE that would exceed the core MTU once marked is forwarded
  untouched (tag_skipped_mtu); the counters say how many were tagged.
"""
import harness as h

LABEL = "[骚扰]"
VS = "TN-Validation-Failed"
CALLER = "+8618600186000"
LINE = "X-Sipwall-Risk: score=90; rule=mark-caller"

RULES = f"""\
version: "it-marks.1"
name: it-marks
dial_plan: {{preset: china}}
defaults: {{action: pass}}
rules:
  - id: mark-caller
    match: {{caller: {{equals: ["+86 186 0018 6000"]}}}}
    action:
      tag: {{score: 90, label: "{LABEL}", verstat: {VS}}}
"""

SDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.11\r\ns=-\r\nc=IN IP4 192.0.2.11\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def invite(call_id, ids, *, transport="UDP", host="192.0.2.11", pad=0):
    """An INVITE from CALLER whose identity headers are `ids` (lines without CRLF)."""
    lines = [f"INVITE sip:13600136000@10.10.0.10;user=phone SIP/2.0",
             f"Via: SIP/2.0/{transport} {host}:5060;branch=z9hG4bK-{call_id.split('@')[0]}",
             "Max-Forwards: 70", *ids,
             "To: <sip:13600136000@10.10.0.10;user=phone>",
             f"Call-ID: {call_id}", "CSeq: 1 INVITE", f"Contact: <sip:{CALLER}@{host}:5060>",
             "Content-Type: application/sdp"]
    if pad:
        lines.append("X-Pad: " + "p" * pad)
    lines.append(f"Content-Length: {len(SDP)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + SDP).encode()


def with_line(text):
    i = text.index(b"\r\n\r\n") + 2
    return text[:i] + LINE.encode() + b"\r\n" + text[i:]


def marked(call_id, ids_out, **kw):
    """The expected forwarded text: identity lines as given, the risk header added."""
    return with_line(invite(call_id, ids_out, **kw))


# (label, identity lines in, identity lines out, expected display names From / PAI...)
FORMS = [
    ("quoted-and-pai",
     [f'From: "Alice" <sip:{CALLER}@192.0.2.11;user=phone>;tag=f1',
      f"P-Asserted-Identity: <sip:{CALLER}@192.0.2.11;user=phone>, <tel:{CALLER}>"],
     [f'From: "{LABEL} Alice" <sip:{CALLER};verstat={VS}@192.0.2.11;user=phone>;tag=f1',
      f'P-Asserted-Identity: "{LABEL}" <sip:{CALLER};verstat={VS}@192.0.2.11;user=phone>, '
      f'"{LABEL}" <tel:{CALLER};verstat={VS}>'],
     f"{LABEL} Alice", [LABEL, LABEL]),
    ("token-name",
     [f"From: Alice Smith <sip:{CALLER}@192.0.2.11>;tag=f2"],
     [f'From: "{LABEL} Alice Smith" <sip:{CALLER};verstat={VS}@192.0.2.11>;tag=f2'],
     f"{LABEL} Alice Smith", []),
    ("addr-spec",
     [f"From: sip:{CALLER}@192.0.2.11;tag=f3"],
     [f'From: "{LABEL}" <sip:{CALLER};verstat={VS}@192.0.2.11>;tag=f3'],
     LABEL, []),
    ("escaped-name-existing-verstat",
     [r'From: "Al \"Bo\"" <sip:' + CALLER + r'@192.0.2.11>;tag=f4',
      f"P-Asserted-Identity: Bob <sip:{CALLER};verstat=TN-Validation-Passed@192.0.2.11;user=phone>"],
     [r'From: "' + LABEL + r' Al \"Bo\"" <sip:' + CALLER + f";verstat={VS}" + r'@192.0.2.11>;tag=f4',
      f'P-Asserted-Identity: "{LABEL} Bob" <sip:{CALLER};verstat={VS}@192.0.2.11;user=phone>'],
     LABEL + r' Al \"Bo\"', [f"{LABEL} Bob"]),
    ("compact-from",
     [f"f: <sip:{CALLER}@192.0.2.11>;tag=f5"],
     [f'f: "{LABEL}" <sip:{CALLER};verstat={VS}@192.0.2.11>;tag=f5'],
     LABEL, []),
]

with h.Test("identity_marks", __doc__) as t:
    s = h.sippcap()
    frames, expect = [], []   # input frames; expected core-out frames (bytes), in order
    checks = []               # (core-out index, what, From display, PAI displays)

    def udp4(p):
        return s.ether(s.ipv4(h.PEER4, h.CORE4, 17, s.udp(h.PEER4, h.CORE4, 5060, 5060, p)), s.ETH_IPV4)

    def udp6(p):
        return s.ether(s.ipv6(h.PEER6, h.CORE6, 17, s.udp(h.PEER6, h.CORE6, 5060, 5060, p)), s.ETH_IPV6,
                       vlans=(12,))

    def tcp4(p, seq):
        return s.ether(s.ipv4(h.PEER4, h.CORE4, 6, s.tcp(h.PEER4, h.CORE4, 40100, 5060, p, seq=seq, ack=9001,
                                                          flags=0x18)), s.ETH_IPV4)

    for label, ids_in, ids_out, from_disp, pai_disp in FORMS:
        for fam, build in (("v4", udp4), ("v6", udp6)):
            cid = f"{label}-{fam}@it.sipwall"
            frames.append(build(invite(cid, ids_in)))
            checks.append((len(expect), f"{label} udp {fam}", from_disp, pai_disp, fam))
            expect.append(build(marked(cid, ids_out)))

    # TCP: a marked INVITE, then the next one (not from the caller) in the next segment.
    cid = "tcp-1@it.sipwall"
    t_in = invite(cid, FORMS[0][1], transport="TCP")
    t_out = marked(cid, FORMS[0][2], transport="TCP")
    nxt = invite("tcp-2@it.sipwall", ["From: <sip:+8613512345678@192.0.2.11>;tag=n1"], transport="TCP")
    frames += [tcp4(t_in, 1000), tcp4(nxt, 1000 + len(t_in))]
    checks.append((len(expect), "quoted-and-pai tcp v4", FORMS[0][3], FORMS[0][4], "tcp"))
    expect += [tcp4(t_out, 1000), tcp4(nxt, 1000 + len(t_out))]

    # Over the MTU once marked (1500 - IP/UDP 28 = 1472 bytes of SIP at most).
    base = invite("big@it.sipwall", FORMS[0][1])
    grown = len(marked("big@it.sipwall", FORMS[0][2])) - len(base)
    big = invite("big@it.sipwall", FORMS[0][1], pad=1472 - len(base) - 9 - grown + 1)
    t.check(len(big) <= 1472 and len(big) + grown > 1472, f"big INVITE is {len(big)} bytes, +{grown} marked")
    frames.append(udp4(big))
    expect.append(udp4(big))

    art = t.compile_rules("rules", RULES)
    out_t, out_c, st, _ = h.run_pcap(t, "marks", frames, art)
    core_pcap = t.path("marks-core-out.pcap")

    t.eq(len(out_t), 0, "nothing goes back to the trunk")
    t.eq(len(out_c), len(expect), "core-out frame count")
    for i, (got, want) in enumerate(zip(out_c, expect)):
        if got != want:
            t.check(False, f"core-out frame {i} differs from the expected frame:\n  got  {got[-400:]!r}\n"
                           f"  want {want[-400:]!r}")

    rows = h.tshark_fields(t, core_pcap, ["sip.from.display.info", "sip.pai.display.info", "sip.from.addr",
                                          "sip.P-Asserted-Identity", "sip.from.user"])
    t.eq(h.tshark_malformed(t, core_pcap), [], "tshark finds no malformed frame or error")
    for i, what, from_disp, pai_disp, fam in checks:
        if i >= len(rows):
            t.check(False, f"{what}: no tshark row {i}")
            continue
        r = rows[i]
        if fam != "v6":
            t.eq(r["ip.checksum.status"], "1", f"{what}: tshark ip.checksum.status")
        t.eq(r["tcp.checksum.status" if fam == "tcp" else "udp.checksum.status"], "1", f"{what}: tshark L4 checksum")
        # tshark shows the display name as written, quotes included.
        t.eq(r["sip.from.display.info"], f'"{from_disp}"', f"{what}: tshark From display name")
        if pai_disp:
            # tshark parses the first P-Asserted-Identity value; the others are checked in the header text.
            t.eq(r["sip.pai.display.info"], f'"{pai_disp[0]}"', f"{what}: tshark P-Asserted-Identity display name")
            t.check(r["sip.P-Asserted-Identity"].count(f'"{pai_disp[-1]}"') >= pai_disp.count(pai_disp[-1]),
                    f"{what}: every P-Asserted-Identity value labelled ({r['sip.P-Asserted-Identity']!r})")
        t.check(f"verstat={VS}" in r["sip.from.user"] or f"verstat={VS}" in r["sip.from.addr"],
                f"{what}: tshark sees verstat in the From URI ({r['sip.from.addr']!r})")
        t.check(LINE in r["sip.msg_hdr"], f"{what}: tshark sees the risk header")

    c = st["counters"]
    t.eq(c["tagged"], len(checks), "tagged")
    t.eq(c["tag_skipped_mtu"], 1, "tag_skipped_mtu (the big INVITE)")
    t.eq(c["tag_failed"], 0, "tag_failed")
    t.eq(c["tag_partial"], 0, "tag_partial")
    t.eq(st["verdicts"]["tag"], len(checks) + 1, "verdicts.tag")
