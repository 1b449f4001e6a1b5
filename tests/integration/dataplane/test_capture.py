#!/usr/bin/env python3
"""sipwallctl capture (docs/export.md): a pcapng of the calls one filter selects.

The data plane's trunk and core ports read FIFOs (calls.py). Two captures
run while calls pass:

* `--caller 13512345678 --country-code 86` (normalised to +8613512345678 by
  the dial plan): that caller's answered, cancelled and core-refused calls
  pass, and so do the same calls of another caller. The capture is ended
  with SIGINT once the data plane says it delivered every copy. Its file is
  0640; tshark reads it and it holds every packet of the caller's calls (the
  INVITE, 180/200 or 486/487, CANCEL and its 200, ACK, BYE and its 200), each
  once, on the port it came in by, and no packet of the other caller's calls.
  One of each caller's calls has a 200 OK too big for one packet, sent by the
  core in IPv4 fragments: the file holds it once, as the whole datagram.
  The same over SIP over TCP (calls.tcp_calls): on one connection the
  caller's answered and cancelled calls and a third caller's refused one,
  segments carrying messages of two calls and an INVITE in two segments;
  the file holds each of the caller's messages as one TCP segment of its
  own, on the port it came in by, and nothing of the third caller's.
* `--rule block-608 --max-packets 1`: a call the rules reject with 608 is
  captured up to its bound: exactly the INVITE (the 608 and the caller's ACK
  are over the bound), and the capture ends by itself (exit 0, "max_packets").
* `--rule block-603`: a call the rules reject with 603 gives its INVITE, the
  603 sipwall sent back out of the trunk port, and the caller's ACK; one over
  TCP its INVITE and the 603 sipwall sent back on the connection.

Bad arguments are refused before anything is asked of the data plane.
"""
import json
import os
import signal
import stat
import subprocess
import time

import calls
import harness as h

WATCHED = h.CALLER_CLEAN     # "+8613512345678"
OTHER = h.CALLER_TAG
OTHER_TCP = "+8613311112222"  # passed by the default action, not captured


def watch_status(dp):
    return dp.request({"v": 1, "cmd": "watch-status"})


def wait_watches(t, dp, n):
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if len([w for w in watch_status(dp)["watches"] if w["active"]]) >= n:
            return
        time.sleep(0.05)
    t.fatal(f"{n} watches not in force after 20 s: {watch_status(dp)}")


def tshark_rows(t, path, more=()):
    fields = ["sip.Call-ID", "sip.Method", "sip.Status-Code", "frame.interface_name"] + list(more)
    cmd = [t.args.tshark, "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    t.check(r.returncode == 0, f"tshark -r {path}: {r.returncode} {r.stderr}")
    return [dict(zip(fields, line.split("|"))) for line in r.stdout.splitlines() if line]


with h.Test("capture", __doc__) as t:
    art = t.compile_rules("rules", h.packet_rules(version="capture-1"))
    ctl = t.args.sipwallctl
    for argv, want in ((["capture", "-w", t.path("x.pcapng")], "exactly one of"),
                       (["capture", "--caller", "1", "--trunk", "a", "-w", t.path("x.pcapng")], "exactly one of"),
                       (["capture", "--all", "--for", "soon", "-w", t.path("x.pcapng")], "not a duration"),
                       (["capture", "--caller", "abc", "--country-code", "86", "-w", t.path("x.pcapng")], "--caller")):
        r = subprocess.run([ctl] + argv, capture_output=True, text=True, timeout=30)
        t.check(r.returncode == 2 and want in r.stderr, f"{argv}: exit 2 and {want!r}, got {r.returncode} {r.stderr}")
    t.check(not os.path.exists(t.path("x.pcapng")), "no file for refused arguments")

    dp, cl = calls.data_plane(t, "cap", artifact=art)
    scenario = []
    for caller, tag in ((WATCHED, "w"), (OTHER, "o")):
        scenario.append((caller, calls.answered(caller, f"cap-{tag}-answered@it.sipwall")))
        scenario.append((caller, calls.cancelled(caller, f"cap-{tag}-cancelled@it.sipwall")))
        scenario.append((caller, calls.refused_by_core(caller, f"cap-{tag}-busy@it.sipwall")))
        scenario.append((caller, calls.answered_fragmented(caller, f"cap-{tag}-big@it.sipwall",
                                                           ident=0x4200 + len(scenario))))
    rejected = calls.rejected_by_sipwall(h.CALLER_608, "cap-rejected@it.sipwall")
    declined = calls.rejected_by_sipwall(h.CALLER_603, "cap-declined@it.sipwall")
    tcp = calls.tcp_calls(WATCHED, OTHER_TCP, "cap")
    declined_tcp = calls.tcp_rejected(h.CALLER_603, "cap-declined-tcp@it.sipwall")
    tcp_watched = [m for m in calls.messages(tcp) if "-w-" in m[0]]
    by_caller, by_rule, by_603 = t.path("caller.pcapng"), t.path("rule.pcapng"), t.path("rule-603.pcapng")
    with dp:
        cl.open()
        dp.start()
        cl.wait_open()
        common = ["--dataplane-socket", dp.socket, "--control-socket", t.path("no-control.sock")]
        cap1 = subprocess.Popen([ctl, "capture", "--caller", "13512345678", "--country-code", "86", "--for", "5m",
                                 "-w", by_caller] + common, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cap2 = subprocess.Popen([ctl, "capture", "--rule", "block-608", "--max-packets", "1", "--for", "5m",
                                 "-w", by_rule] + common, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cap3 = subprocess.Popen([ctl, "capture", "--rule", "block-603", "--for", "5m", "-w", by_603] + common,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_watches(t, dp, 3)
            filters = sorted(w["filter"] for w in watch_status(dp)["watches"])
            t.eq(filters, ["caller +8613512345678", "rule block-603", "rule block-608"],
                 "the watches in force (numbers normalised)")
            for _, call in scenario:
                cl.play(call)
            cl.play(rejected)
            cl.play(declined)
            cl.play(tcp)
            cl.play(declined_tcp)
            n_watched = sum(len(calls.messages(call)) for caller, call in scenario if caller == WATCHED) + len(tcp_watched)
            # Every copy of the caller capture delivered to sipwallctl, then SIGINT.
            end = time.monotonic() + 20
            while time.monotonic() < end:
                w = [x for x in watch_status(dp)["watches"] if x["filter"].startswith("caller")]
                if w and w[0]["captured_packets"] >= n_watched and w[0]["buffered_packets"] == 0:
                    break
                time.sleep(0.05)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                w = [x for x in watch_status(dp)["watches"] if x["filter"] == "rule block-603"]
                if w and w[0]["captured_packets"] >= 5 and w[0]["buffered_packets"] == 0:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            cap1.send_signal(signal.SIGINT)
            cap3.send_signal(signal.SIGINT)
            out1, err1 = cap1.communicate(timeout=30)
            out2, err2 = cap2.communicate(timeout=30)
            out3, err3 = cap3.communicate(timeout=30)
        finally:
            for p in (cap1, cap2, cap3):
                if p.poll() is None:
                    p.kill()
        st = dp.stats()
        t.eq(watch_status(dp)["watches"], [], "no watch left once both captures ended")
        cl.close()
        t.eq(dp.stop(), 0, "exit code after SIGTERM")

    t.eq(cap1.returncode, 0, f"caller capture: exit code ({err1})")
    t.check(f"{n_watched} packet(s)" in err1 and "ended: interrupted" in err1, f"caller capture says what it did: {err1}")
    t.eq(cap2.returncode, 0, f"rule capture: exit code ({err2})")
    t.check("1 packet(s)" in err2 and "ended: max_packets" in err2, f"rule capture ended by its bound: {err2}")
    for path in (by_caller, by_rule, by_603):
        t.eq(oct(stat.S_IMODE(os.stat(path).st_mode)), oct(0o640), f"{os.path.basename(path)}: mode 0640")

    rows = tshark_rows(t, by_caller)
    got = sorted((r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"], r["frame.interface_name"]) for r in rows)
    want = sorted((cid, what, side) for caller, call in scenario if caller == WATCHED
                  for cid, side, what in calls.messages(call))
    want += [(cid, what, side) for cid, side, what in tcp_watched]
    t.eq(got, sorted(want), "caller capture: every packet of the caller's calls, once, on its port; nothing else")
    rows = tshark_rows(t, by_caller, ["tcp.srcport", "tcp.dstport"])
    got_tcp = sorted((r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"], r["frame.interface_name"])
                     for r in rows if r["tcp.srcport"])
    t.eq(got_tcp, sorted((cid, what, side) for cid, side, what in tcp_watched),
         "caller capture: the caller's SIP-over-TCP messages, each in a TCP segment of its own")
    for r in rows:
        if r["tcp.srcport"]:
            ports = (str(calls.TCP_CLIENT_PORT), "5060")
            t.check((r["tcp.srcport"], r["tcp.dstport"]) in (ports, ports[::-1]),
                    f"TCP copy of {r['sip.Call-ID']} keeps the connection's ports: {r}")
    rows = tshark_rows(t, by_rule)
    t.eq([(r["sip.Call-ID"], r["sip.Method"]) for r in rows], [("cap-rejected@it.sipwall", "INVITE")],
         "rule capture: the rejected INVITE, then its bound")
    t.eq(cap3.returncode, 0, f"603 capture: exit code ({err3})")
    rows = tshark_rows(t, by_603, ["ip.proto"])
    t.eq([(r["sip.Call-ID"], r["sip.Method"] or r["sip.Status-Code"], r["frame.interface_name"], r["ip.proto"])
          for r in rows],
         [("cap-declined@it.sipwall", "INVITE", "trunk", "17"), ("cap-declined@it.sipwall", "603", "trunk", "17"),
          ("cap-declined@it.sipwall", "ACK", "trunk", "17"), ("cap-declined-tcp@it.sipwall", "INVITE", "trunk", "6"),
          ("cap-declined-tcp@it.sipwall", "603", "trunk", "6")],
         "603 capture: the INVITE, the 603 sipwall sent back, the caller's ACK; over TCP the INVITE and the 603")
    c = st["counters"]
    t.eq((c["watch_ring_full"], c["watch_no_mbuf"]), (0, 0), "no copy lost")
