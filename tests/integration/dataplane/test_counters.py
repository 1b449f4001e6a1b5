#!/usr/bin/env python3
"""The counters add up, and agree with the input and the output pcaps.

Two runs:
1. the bundled sample (tests/data/sample.pcap) with the demo rule set
   (rules/examples/demo.yaml); the expected fate of each of its packets comes
   from tests/data/sample.expected.tsv;
2. a crafted mix of every UDP case kind (pass, 603, 608, drop, tag, tag over
   the MTU, non-INVITE, non-SIP, VLAN/QinQ/IPv6, IPv4/IPv6 fragments,
   malformed under fail_open).

For each, from the --stats-json file written at exit:
  rx_packets = forwarded + dropped + rejected + absorbed = frames sent,
  each of the four equals its value predicted from the expectations,
  core-out frames (tshark) = forwarded + re-fragments, re-fragmented datagrams
  = reassembled_forwarded, trunk-out frames = SIP responses tshark finds there
  = replies_sent, per-port packet and byte counters = the pcaps' frames and
  bytes, INVITEs = verdicts (+ no_ruleset) = rule hits = INVITEs by trunk;
and the live `stats` reply, once the traffic is consumed, equals the file.
"""
import json
import os
import time

import harness as h
import traffic as tr


def pcap_bytes(frames):
    return sum(len(f) for f in frames)


def run_and_count(t, tag, frames, art, expect):
    s = h.sippcap()
    rx = t.path(tag + "-in.pcap")
    s.write_pcap(rx, frames)
    trunk_out, core_out = t.path(tag + "-trunk-out.pcap"), t.path(tag + "-core-out.pcap")
    with h.Dataplane(t, tag, [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
                              ("core", f"net_pcap1,tx_pcap={core_out}", "core")], artifact=art) as dp:
        dp.start()
        dp.wait_rx(len(frames))
        # The last burst is being finished: wait until two snapshots agree.
        live, prev = dp.stats(), None
        while prev is None or prev["counters"] != live["counters"]:
            time.sleep(0.1)
            prev, live = live, dp.stats()
        t.eq(dp.stop(), 0, f"{tag}: exit code after SIGTERM")
        st = dp.final_stats()
    for k in ("counters", "verdicts", "parse_errors", "decode_errors", "rules", "trunks", "ports"):
        if k == "ports":
            strip = lambda ps: [{x: p[x] for x in p if not x.startswith("nic_")} for p in ps]  # noqa: E731
            t.eq(strip(live[k]), strip(st[k]), f"{tag}: live stats.{k} = final stats file")
        else:
            t.eq(live[k], st[k], f"{tag}: live stats.{k} = final stats file")

    c = st["counters"]
    t.eq(h.tshark_count(t, rx), len(frames), f"{tag}: tshark reads every input frame")
    h.check_counters(t, tag, st, sent=len(frames), trunk_out=trunk_out, core_out=core_out)
    for k, v in expect.items():
        t.eq(c[k], v, f"{tag}: {k} as predicted from the expectations")

    out_t, out_c = s.read_pcap(trunk_out), s.read_pcap(core_out)
    frag_rows = h.tshark_fields(t, core_out, ["ip.flags.mf", "ip.frag_offset", "ipv6.fraghdr.ident",
                                              "ip.id", "ip.src", "ipv6.src"])
    frags = [r for r in frag_rows if r["ip.flags.mf"] == "1" or r["ip.frag_offset"] not in ("", "0")
             or r["ipv6.fraghdr.ident"]]
    datagrams = {(r["ip.src"] or r["ipv6.src"], r["ip.id"] or r["ipv6.fraghdr.ident"]) for r in frags}
    t.eq(len(out_c), c["forwarded"] + len(frags), f"{tag}: core-out frames = forwarded + re-fragments")
    t.eq(len(datagrams), c["reassembled_forwarded"], f"{tag}: datagrams in core-out fragments = reassembled_forwarded")
    responses = h.tshark_fields(t, trunk_out, ["sip.Status-Code"])
    t.eq(sum(1 for r in responses if r["sip.Status-Code"] in ("603", "608")), c["replies_sent"],
         f"{tag}: 603/608 responses tshark finds in trunk-out = replies_sent")
    ports = {p["name"]: p for p in st["ports"]}
    t.eq(ports["trunk"]["rx_bytes"], pcap_bytes(frames), f"{tag}: trunk rx_bytes = input bytes")
    t.eq(ports["trunk"]["tx_bytes"], pcap_bytes(out_t), f"{tag}: trunk tx_bytes = trunk-out bytes")
    t.eq(ports["core"]["tx_bytes"], pcap_bytes(out_c), f"{tag}: core tx_bytes = core-out bytes")
    t.eq(ports["core"]["rx_packets"], 0, f"{tag}: core rx_packets")
    v = st["verdicts"]
    t.eq(v["pass"] + v["drop"] + v["reject"] + v["tag"] + c["no_ruleset"], c["invites"],
         f"{tag}: verdicts pass+drop+reject+tag (+no_ruleset) = invites")
    hits = {r["id"]: r["hits"] for r in st["rules"]}
    trace_hits = sum(n for i, n in hits.items() if i.startswith("trace"))
    t.eq(sum(hits.values()) - trace_hits + c["guard_rail"], c["invites"],
         f"{tag}: rule hits (terminal rules and default) + guard rails = invites")
    t.eq(sum(x["invites"] for x in st["trunks"]), c["invites"], f"{tag}: INVITEs by trunk = invites")
    return st


with h.Test("counters", __doc__) as t:
    src = t.args.source_dir
    # 1. The sample with the demo rule set.
    demo = t.compile_rules("demo", open(os.path.join(src, "rules/examples/demo.yaml")).read()
                           .replace("file: lists/", f"file: {src}/rules/examples/lists/"))
    sample = h.sippcap().read_pcap(os.path.join(src, "tests/data/sample.pcap"))
    rows = [ln.split("\t") for ln in open(os.path.join(src, "tests/data/sample.expected.tsv"))
            if ln.strip() and not ln.startswith("#")]
    t.eq(len(rows), len(sample), "sample.expected.tsv has a line per sample frame")
    exp = dict(forwarded=0, dropped=0, rejected=0, absorbed=0)
    for i, (_n, what, note) in enumerate(rows):
        f = h.decode(sample[i])
        if f.frag or what == "fragment":
            exp["absorbed"] += 1
        elif what in ("pass", "tag", "trace", "forward", "malformed"):
            exp["forwarded"] += 1
        elif what == "drop":
            exp["dropped"] += 1
        elif what.startswith("reject") and f.proto == 6:
            exp["forwarded"] += 1   # the emptied segment carries the flow's first ack (§6.3)
        elif what.startswith("reject"):
            exp["rejected"] += 1
    exp["replies_sent"] = sum(1 for r in rows if r[1].startswith("reject"))
    exp["malformed"] = sum(1 for r in rows if r[1] == "malformed")
    run_and_count(t, "sample", sample, demo, exp)

    # 2. A crafted mix of every UDP case kind.
    C = []
    for label, caller in (("pass", h.CALLER_CLEAN), ("608", h.CALLER_608), ("603", h.CALLER_603),
                          ("drop", h.CALLER_DROP), ("tag", h.CALLER_TAG)):
        C.append(tr.udp_invite_case(label, caller))
        C.append(tr.udp_invite_case("vlan-" + label, caller, vlans=(100,)))
        C.append(tr.udp_invite_case("qinq-" + label, caller, vlans=(200, 100), compact=True))
        C.append(tr.udp_invite_case("ipv6-hbh-" + label, caller, src=h.PEER6, ext=tr.hop_by_hop()))
        C.append(tr.frag_invite_case("frag4-" + label, caller, ident=0x3000 + len(C)))
        C.append(tr.frag_invite_case("frag6-" + label, caller, src=h.PEER6, ident=0x4000 + len(C)))
    s = h.sippcap()
    C.append(tr.Case("tag-over-mtu", "forward", tr.invite_of_size(h.CALLER_TAG, 1480 - 28),
                     tr.udp_builder(h.PEER4, h.CORE4)))
    C.append(tr.udp_payload_case("options", s.request("OPTIONS", ruri=f"sip:{h.CORE4}",
                                                      call_id=tr.next_id("c-opt"), src=h.PEER4)))
    C.append(tr.udp_payload_case("200", s.response(200, "OK", call_id=tr.next_id("c-200"), src=h.PEER4)))
    C.append(tr.raw_case("arp", tr.arp_frame()))
    C.append(tr.udp_payload_case("dns", tr.dns_query_payload(), sport=53000, dport=53))
    C.append(tr.Case("malformed", "forward", b"INVITE nothing\r\n\r\n", tr.udp_builder(h.PEER4, h.CORE4)))
    frames = [f for c in C for f in c.frames]
    whole = [c for c in C if not c.fragments]
    fr = [c for c in C if c.fragments]
    exp = dict(
        forwarded=sum(1 for c in whole if c.expect in ("forward", "tag")),
        dropped=sum(1 for c in whole if c.expect == "drop"),
        rejected=sum(1 for c in whole if c.expect == "reject"),
        absorbed=sum(len(c.frames) for c in fr),
        replies_sent=sum(1 for c in C if c.expect == "reject"),
        tagged=sum(1 for c in whole if c.expect == "tag"),
        tag_skipped_mtu=1,
        tag_skipped_fragmented=2,
        reassembled=len(fr),
        reassembled_forwarded=sum(1 for c in fr if c.expect == "refrag"),
        reassembled_dropped=sum(1 for c in fr if c.expect in ("reject", "drop")),
        malformed=1, malformed_forwarded=1, non_invite=1, sip_responses=1, non_sip=2,
        invites=sum(1 for c in C if c.payload.startswith(b"INVITE sip")),
    )
    art = t.compile_rules("rules", h.packet_rules())
    st = run_and_count(t, "mix", frames, art, exp)
    print(json.dumps({k: v for k, v in st["counters"].items() if v}, sort_keys=True))
