#!/usr/bin/env python3
"""deny_sources: the first stage of the worker, and rte_flow status on vdevs.

The rule set denies IPv4 and IPv6 prefixes, some only to a local port, some
only on a VLAN. The trunk pcap carries INVITEs (a caller every rule passes,
and one the rules reject with 608) from denied and allowed sources, v4 and
v6, tagged and untagged, to the entry's port and to another, a fragmented
INVITE from a denied prefix (every fragment dropped before reassembly) and
from a port-qualified entry (only the first fragment has a port: it is
dropped and the rest can never complete), and an ICMP echo from a denied
source (dropped: denial is by source, not by protocol), and a frame from a
denied source whose IPv4 header is broken (dropped: its addresses are read
before the lengths are checked).

Checks: core-out and trunk-out hold exactly the frames of the allowed cases
(byte-identical, the 608 answered); the counter invariant; source_denied and
every entry's software count equal what the pcap sent; hardware counts are 0;
`status` says, for every port, that net_pcap has no rte_flow, that no
steering or deny rule is in hardware, and why; `sipwallctl status` prints
the same; the counts survive a reload of a new set with the same entries,
and an entry removed by the reload is still reported.
"""
import subprocess

import harness as h
import traffic as tr

DENY = """\
deny_sources:
  - {cidr: 198.51.100.0/24, id: v4-net}
  - {cidr: 203.0.113.5, port: 5060, id: v4-host-sip}
  - {cidr: 192.0.2.64/26, vlan: 300, id: v4-vlan300}
  - {cidr: '2001:db8:bad::/48', id: v6-net}
  - {cidr: '2001:db8:beef::/64', vlan: 40, port: 5060, id: v6-vlan40-sip}
"""

with h.Test("deny_sources", __doc__) as t:
    s = h.sippcap()
    C, denied = [], {}

    def case(c, entry=None, frames=None):
        C.append(c)
        if entry:
            denied[entry] = denied.get(entry, 0) + (frames if frames is not None else len(c.frames))
        return c

    clean = h.CALLER_CLEAN
    case(tr.udp_invite_case("v4-denied-net", clean, src="198.51.100.9", expect="drop"), "v4-net")
    case(tr.udp_invite_case("v4-denied-net-608-caller", h.CALLER_608, src="198.51.100.10", expect="drop"), "v4-net")
    case(tr.udp_invite_case("v4-next-net-allowed", clean, src="198.51.101.9"))
    case(tr.udp_invite_case("v4-host-to-5060", clean, src="203.0.113.5", expect="drop"), "v4-host-sip")
    case(tr.udp_payload_case("v4-host-to-5080-not-denied", tr.invite(clean, src="203.0.113.5"),
                             src="203.0.113.5", sport=5080, dport=5080))
    case(tr.udp_invite_case("v4-neighbour-of-host", clean, src="203.0.113.6"))
    case(tr.udp_invite_case("v4-vlan300-denied", clean, src="192.0.2.70", vlans=(300,), expect="drop"), "v4-vlan300")
    case(tr.udp_invite_case("v4-vlan301-allowed", clean, src="192.0.2.70", vlans=(301,)))
    case(tr.udp_invite_case("v4-untagged-allowed", clean, src="192.0.2.70"))
    case(tr.udp_invite_case("v4-vlan300-outside-prefix", clean, src="192.0.2.11", vlans=(300,)))
    case(tr.udp_invite_case("v4-608-allowed-source", h.CALLER_608, src="192.0.2.12"))
    case(tr.udp_invite_case("v6-denied-net", clean, src="2001:db8:bad::7", expect="drop"), "v6-net")
    case(tr.udp_invite_case("v6-neighbour-net", clean, src="2001:db8:bad1::7"))
    case(tr.udp_invite_case("v6-vlan40-5060-denied", clean, src="2001:db8:beef::9", vlans=(40,), expect="drop"),
         "v6-vlan40-sip")
    case(tr.udp_invite_case("v6-untagged-allowed", clean, src="2001:db8:beef::9"))
    case(tr.udp_payload_case("v6-vlan40-5080-allowed", tr.invite(clean, src="2001:db8:beef::9"),
                             src="2001:db8:beef::9", sport=5080, dport=5080, vlans=(40,)))
    fr = case(tr.frag_invite_case("v4-denied-net-fragments", clean, src="198.51.100.20", expect="drop"), "v4-net")
    n_frag_all = len(fr.frames)
    fr2 = case(tr.frag_invite_case("v4-host-sip-fragments", clean, src="203.0.113.5", expect="drop",
                                   ident=0x4321), "v4-host-sip", frames=1)
    n_frag_rest = len(fr2.frames) - 1
    icmp = s.ether(s.ipv4("198.51.100.9", h.CORE4, 1, bytes([8, 0, 0xF7, 0xFF, 0, 0, 0, 0])), s.ETH_IPV4)
    case(tr.raw_case("icmp-from-denied", icmp, expect="drop"), "v4-net")
    # A broken IP header (total length past the frame) from a denied source:
    # still dropped by the first stage, not forwarded as non-SIP.
    broken = bytearray(s.ether(s.ipv4("198.51.100.9", h.CORE4, 17, bytes(16)), s.ETH_IPV4))
    broken[16:18] = (len(broken) - 14 + 40).to_bytes(2, "big")
    case(tr.raw_case("broken-ip-header-from-denied", bytes(broken), expect="drop"), "v4-net")
    case(tr.udp_invite_case("v4-pass-after-all", clean))
    t.check(n_frag_all >= 2 and n_frag_rest >= 1, "the fragmented cases are fragmented")

    frames = [f for c in C for f in c.frames]
    art = t.compile_rules("deny", h.packet_rules(version="deny.1") + DENY)
    # The same entries but v4-vlan300 removed, for the reload check.
    art2 = t.compile_rules("deny2", h.packet_rules(version="deny.2") +
                           "\n".join(l for l in DENY.splitlines() if "v4-vlan300" not in l) + "\n")

    rx = t.path("deny-in.pcap")
    s.write_pcap(rx, frames)
    trunk_out, core_out = t.path("deny-trunk-out.pcap"), t.path("deny-core-out.pcap")
    with h.Dataplane(t, "deny", [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
                                 ("core", f"net_pcap1,tx_pcap={core_out}", "core")], artifact=art) as dp:
        dp.start()
        dp.wait_rx(len(frames))
        st = dp.request({"v": 1, "cmd": "status"})
        t.eq(st["ruleset"]["deny_sources"], 5, "status: rule set has 5 deny_sources")
        for p in st["ports"]:
            o = p.get("offload") or {}
            t.eq(o.get("driver"), "net_pcap", f"status: port {p['name']} driver")
            t.eq(o.get("rte_flow"), False, f"status: port {p['name']} has no rte_flow")
            t.eq(o["steering"]["offloaded"], 0, f"status: port {p['name']} steering in hardware")
            t.eq(o["steering"]["total"], 8, f"status: port {p['name']} steering rules (udp+tcp 5060 x v4/v6 x dst/src)")
            want_deny = 1 + 2 + 1 + 1 + 2 if p["name"] == "trunk" else 0
            t.eq(o["deny"]["total"], want_deny, f"status: port {p['name']} deny rules")
            t.eq(o["deny"]["offloaded"], 0, f"status: port {p['name']} deny rules in hardware")
            t.eq(o["deny"]["applies"], p["name"] == "trunk", f"status: deny applies to {p['name']}")
            reasons = [r["reason"] for r in o.get("refusals", [])]
            t.check(len(reasons) == 1 and "rte_flow not supported by driver net_pcap" in reasons[0],
                    f"status: port {p['name']} refusal reason ({reasons})")
            t.eq(sum(r["rules"] for r in o.get("refusals", [])), 8 + want_deny,
                 f"status: port {p['name']} every rule refused is counted")
        ctl = subprocess.run([t.args.sipwallctl, "status", "--dataplane-socket", dp.socket,
                              "--control-socket", t.path("no-control.sock")],
                             capture_output=True, text=True, timeout=30)
        t.check("rte_flow NOT supported; steering 0/8 in hardware; deny 0/7 in hardware" in ctl.stdout,
                f"sipwallctl status shows the offload line:\n{ctl.stdout}")
        t.check("not offloaded (15 rules): " in ctl.stdout and "rte_flow not supported by driver net_pcap" in ctl.stdout,
                f"sipwallctl status shows the reason:\n{ctl.stdout}")
        t.check("deny n/a (core-facing)" in ctl.stdout, "sipwallctl status: core port takes no deny rules")
        t.check("kept in software: rte_flow not supported by driver net_pcap" in dp.log(),
                "the data plane logs what stays in software")

        live = dp.stats()
        r = dp.request({"v": 1, "cmd": "load", "artifact": art2})
        t.eq(r.get("ok"), True, f"reload to deny.2 ({r})")
        after = dp.stats()
        rc = dp.stop()
        t.eq(rc, 0, "exit code after SIGTERM")
        final = dp.final_stats()

    out_t, out_c = s.read_pcap(trunk_out), s.read_pcap(core_out)
    h.check_counters(t, "deny", final, sent=len(frames), trunk_out=trunk_out, core_out=core_out)

    # offload.steering/deny: false keep every rule in software without asking
    # the driver, and say so; the software stage drops the same frames.
    off_out = t.path("deny-off-trunk-out.pcap")
    with h.Dataplane(t, "deny-off", [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={off_out}", "trunk"),
                                     ("core", f"net_pcap1,tx_pcap={t.path('deny-off-core-out.pcap')}", "core")],
                     artifact=art, extra_yaml="offload:\n  steering: false\n  deny: false\n") as dp:
        dp.start()
        dp.wait_rx(len(frames))
        st = dp.request({"v": 1, "cmd": "status"})
        trunk = [p for p in st["ports"] if p["name"] == "trunk"][0]
        reasons = sorted(r["reason"] for r in trunk["offload"].get("refusals", []))
        t.eq(reasons, ["disabled by configuration (offload.deny: false)",
                       "disabled by configuration (offload.steering: false)"],
             "offload off: the reasons say the configuration turned them off")
        t.eq(trunk["offload"]["steering"]["offloaded"] + trunk["offload"]["deny"]["offloaded"], 0,
             "offload off: nothing in hardware")
        t.check("rte_flow not supported" not in dp.log(), "offload off: the driver was not asked")
        t.eq(dp.stop(), 0, "offload off: exit code after SIGTERM")
        off_final = dp.final_stats()
    t.eq(off_final["counters"]["source_denied"], final["counters"]["source_denied"],
         "offload off: the software stage denies the same frames")
    tr.check_outputs(t, "deny", C, out_t, out_c, trunk_out, core_out)

    c = final["counters"]
    want_total = sum(denied.values())
    t.eq(c["source_denied"], want_total, "source_denied = frames from denied sources")
    t.check(c["dropped"] >= c["source_denied"], "denied frames are counted in dropped too")
    t.eq(c["absorbed"], n_frag_rest, "only the port-less fragments of the port-qualified entry reach reassembly")
    t.eq(c["fragments_in"], n_frag_rest, "fragments_in counts only fragments that passed the deny stage")
    t.eq(c["reassembled"], 0, "no denied datagram is reassembled")
    t.eq(c["invites"], len([x for x in C if x.expect != "drop" and x.dport == 5060 and x.sport == 5060]),
         "only allowed SIP INVITEs were parsed")
    for name, stats in (("live", live), ("after reload", after), ("final", final)):
        by_id = {e["id"]: e for e in stats["deny_sources"]}
        for entry, n in denied.items():
            e = by_id.get(entry, {})
            t.eq(e.get("software"), n, f"{name}: entry {entry} software count")
            t.eq(e.get("hardware"), 0, f"{name}: entry {entry} hardware count")
        t.eq(by_id["v4-vlan300"]["in_ruleset"], name == "live", f"{name}: v4-vlan300 in the running set")
