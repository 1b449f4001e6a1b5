#!/usr/bin/env python3
"""Regenerates tests/data/sample.pcap, the bundled sample the demo filters.

Realistic carrier SIP traffic arriving on the trunk side of the appliance:
INVITEs from three trunks (international gateway, call centre, peer; IPv4,
IPv6, VLAN, QinQ, TCP, one IPv4-fragmented INVITE) with caller and callee
numbers in the formats operators meet (+E.164, 00-international, national 0,
bare mobiles, tel: URIs, %-escapes, phone-context, separators), plus
non-INVITE SIP and non-SIP packets. The trunks and numbers line up with
rules/examples/demo.yaml; tests/data/sample.expected.tsv says what the demo
rule set should do with each packet.

Usage: tests/data/make_sample_pcap.py [OUT.pcap]   (default: next to this script)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sippcap as sp  # noqa: E402

CORE4, CORE6 = "10.10.0.10", "2001:db8:c0::10"
INTL, CC, PEER, PEER6, SCAN = "198.51.100.7", "203.0.113.20", "192.0.2.11", "2001:db8:a::11", "192.0.2.99"

packets = []  # (frame, expectation, note)


def call(n, **kw):
    return f"demo-{n:03d}@sipwall.example"


def inv(n, src, caller, callee, expect, note, *, tcp=False, vlans=(), frag=False, **kw):
    ruri = callee if ":" in callee.split("@")[0][:5] else f"sip:{callee}@{CORE4};user=phone"
    if not callee.startswith(("sip:", "tel:")):
        ruri = f"sip:{callee}@{CORE4 if ':' not in src else '[' + CORE6 + ']'};user=phone"
    else:
        ruri = callee
    to_uri = ruri if not ruri.startswith("tel:") else f"sip:{ruri[4:]}@{CORE4};user=phone"
    from_uri = caller if caller.startswith(("sip:", "tel:")) else \
        f"sip:{caller}@{('[' + src + ']') if ':' in src else src};user=phone"
    payload = sp.invite(ruri=ruri, from_uri=from_uri, to_uri=to_uri, call_id=call(n), src=src,
                        transport="TCP" if tcp else "UDP", **kw)
    dst = CORE6 if ":" in src else CORE4
    if frag:
        for i, f in enumerate(sp.udp_fragments_v4(src, dst, 5060, 5060, payload, mtu=1500, vlans=vlans)):
            packets.append((f, expect if i == 0 else "fragment", note + f" (fragment {i + 1})"))
        return
    if tcp:
        fr = sp.tcp_frame(src, dst, 40000 + n, 5060, payload, vlans=vlans)
    else:
        fr = sp.udp_frame(src, dst, 5060, 5060, payload, vlans=vlans)
    packets.append((fr, expect, note))


def other(frame, note, expect="forward"):
    packets.append((frame, expect, note))


# 1-6: peer trunk, number formats
inv(1, PEER, "+8613512345678", "13600136000", "pass", "clean mobile call, +E.164 caller, bare mobile callee")
inv(2, PEER, "anonymous", "+8613600136001", "reject-608", "harassment caller hidden in P-Asserted-Identity",
    pai=["<sip:+8613800138000@192.0.2.11;user=phone>", "<tel:+8613800138000>"])
inv(3, PEER, "008613900139000", "01065529988", "reject-608", "harassment caller in 00-international form, fixed-line callee")
inv(4, PEER, "sip:%2B8613800138000@192.0.2.11", "13600136002", "reject-608",
    "harassment caller %-escaped, compact headers", compact=True)
inv(5, PEER, "sip:13800138000;phone-context=+86@192.0.2.11;user=phone", "13600136003", "reject-608",
    "harassment caller with phone-context=+86")
inv(6, PEER, "+86 (186) 0018-6000".replace(" ", "-"), "13600136004", "tag", "suspected caller with separators: tag and forward")
# 7-10: call-centre trunk
inv(7, CC, "+862160001234", "13700137000", "reject-603", "call centre calling a do-not-call number")
inv(8, CC, "02160005555", "13500135000", "pass", "call centre caller inside its ranges (national form)")
inv(9, CC, "+862170001234", "13500135001", "reject-603", "call centre presenting a caller outside its ranges (spoofed)")
inv(10, CC, "+862160001235", "110", "pass", "emergency call from the call centre: guard rail")
# 11-13: international gateway
inv(11, INTL, "+8613512340000", "13600136005", "drop", "domestic caller arriving on the international trunk")
inv(12, INTL, "+442071234567", "13600136006", "pass", "genuine foreign caller on the international trunk")
inv(13, INTL, "+14155550100", "tel:+86-10-1000-0000", "trace", "call to the traced test number (tel: R-URI)")
# 14: scanner
inv(14, SCAN, "100", "100", "drop", "SIP scanner by User-Agent", user_agent="friendly-scanner")
# 15-18: transports and encapsulations
inv(15, PEER6, "+8613512345679", "13600136007", "pass", "IPv6 clean call")
inv(16, PEER6, "+8613900139000", "13600136008", "reject-608", "IPv6 harassment call")
inv(17, PEER, "+8613512345680", "13600136009", "pass", "802.1Q VLAN 100", vlans=(100,))
inv(18, PEER, "013800138000", "13600136010", "reject-608", "QinQ 200/100, caller with a stray national 0", vlans=(200, 100))
inv(19, PEER, "+8613512345681", "13600136011", "pass", "SIP over TCP", tcp=True)
inv(20, PEER, "+8613800138000", "13600136012", "reject-608", "harassment over TCP", tcp=True)
inv(21, PEER, "+8613512345682", "13600136013", "pass", "large INVITE in two IPv4 fragments", frag=True, sdp_pad=20)
inv(22, PEER, "+8613800138000", "120", "pass", "harassment caller dialling emergency 120: guard rail")
inv(23, PEER, "+8613512345683", "+8613600136014", "pass", "diverted call", diversion=["<sip:+8613600136099@10.10.0.10>;reason=unconditional"])

# Non-INVITE SIP: forwarded untouched
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.request("OPTIONS", ruri=f"sip:{CORE4}", call_id="opt-1@peer", src=PEER)),
      "OPTIONS keepalive")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.request("REGISTER", ruri="sip:ims.example", call_id="reg-1@peer", src=PEER,
      extra=["Contact: <sip:+8613512345678@192.0.2.11>", "Expires: 3600"])), "REGISTER")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.response(180, "Ringing", call_id=call(1), src=PEER)), "180 Ringing")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.response(200, "OK", call_id=call(1), src=PEER)), "200 OK")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.request("ACK", ruri="sip:+8613600136000@10.10.0.10", call_id=call(1), src=PEER)), "ACK")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, sp.request("BYE", ruri="sip:+8613600136000@10.10.0.10", call_id=call(1), src=PEER, cseq=2)), "BYE")
# Non-SIP: forwarded untouched
dns = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x03net\x00\x00\x01\x00\x01"
other(sp.udp_frame(PEER, "10.10.0.53", 53000, 53, dns), "DNS query (not SIP)")
rtp = struct.pack("!BBHII", 0x80, 8, 1, 160, 0xDEADBEEF) + bytes(160)
other(sp.udp_frame(PEER, CORE4, 20000, 30000, rtp), "RTP media (not SIP)")
arp = bytes.fromhex("0001080006040001") + sp.MAC_TRUNK + bytes([192, 0, 2, 11]) + bytes(6) + bytes([192, 0, 2, 1])
other(sp.ether(arp, 0x0806), "ARP (not IP)")
# Malformed SIP on the SIP port: counted, handled by the malformed policy (fail-open in demo.yaml)
bad = sp.invite(ruri="sip:13600136000@10.10.0.10", from_uri="sip:+8613512345678@192.0.2.11",
                to_uri="sip:13600136000@10.10.0.10", call_id="demo-bad@sipwall.example", src=PEER)
bad = bad.replace(b"Call-ID: demo-bad@sipwall.example\r\n", b"")
other(sp.udp_frame(PEER, CORE4, 5060, 5060, bad), "malformed INVITE (no Call-ID)", expect="malformed")
other(sp.udp_frame(SCAN, CORE4, 5060, 5060, b"\x16\x03\x01\x00\xa5garbage-on-5060"), "garbage on the SIP port", expect="malformed")

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "sample.pcap")
    sp.write_pcap(out, [p[0] for p in packets])
    exp = os.path.splitext(out)[0] + ".expected.tsv"
    with open(exp, "w") as f:
        f.write("# packet\texpected\twhat\n")
        for i, (_, e, note) in enumerate(packets, 1):
            f.write(f"{i}\t{e}\t{note}\n")
    print(f"wrote {out} ({len(packets)} packets) and {exp}")
