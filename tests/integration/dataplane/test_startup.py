#!/usr/bin/env python3
"""Start-up: the configured artifact, the last good one, or none.

1. configured artifact A, empty state dir: A is loaded, and once it has
   classified INVITEs (ruleset.last_good_after_ms: 0 here) copied to
   <state_dir>/last-good.swr (byte-identical; test_last_good checks the
   grace time and that a set that has not run is never copied);
2. configured artifact missing, same state dir: the data plane says so, falls
   back to last-good.swr, and filters with A (a 608 is answered); a missing
   file is a fresh install, not a failed load (reloads.failed 0);
3. configured artifact corrupt (one byte flipped): same fallback, counted as
   a failed load;
4. no artifact configured at all: last-good.swr is loaded;
5. configured artifact missing and no last-good: it runs without a rule set,
   warns, forwards every frame byte-identical (blocked callers included),
   counts every INVITE as no_ruleset, `status` shows "ruleset": null; this run
   stops by itself (run.stop_when_idle_ms) as the demo does;
6. as 5 with `sip.malformed: fail_closed` in the config: malformed SIP is
   dropped (the config's policy applies while no rule set is loaded).
"""
import os
import re
import time

import harness as h
import traffic as tr

with h.Test("startup", __doc__) as t:
    s = h.sippcap()
    art = t.compile_rules("rules", h.packet_rules(version="startup-A"))
    blob = open(art, "rb").read()
    state = t.path("state")
    last_good = os.path.join(state, "last-good.swr")

    def cases():
        return [tr.udp_invite_case("pass", h.CALLER_CLEAN), tr.udp_invite_case("608", h.CALLER_608),
                tr.udp_invite_case("drop", h.CALLER_DROP), tr.udp_invite_case("tag", h.CALLER_TAG),
                tr.Case("malformed", "forward", b"INVITE sip:x SIP/2.0\r\n\r\n", tr.udp_builder(h.PEER4, h.CORE4)),
                tr.raw_case("arp", tr.arp_frame())]

    def run(tag, artifact, expect_version, *, state_dir=state, extra_yaml="", idle_ms=0, log_has=(),
            last_good_after_ms=None, before_stop=None):
        C = cases()
        frames = [f for c in C for f in c.frames]
        rx = t.path(tag + "-in.pcap")
        s.write_pcap(rx, frames)
        trunk_out, core_out = t.path(tag + "-trunk-out.pcap"), t.path(tag + "-core-out.pcap")
        with h.Dataplane(t, tag, [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
                                  ("core", f"net_pcap1,tx_pcap={core_out}", "core")],
                         artifact=artifact, state_dir=state_dir, extra_yaml=extra_yaml, idle_ms=idle_ms,
                         last_good_after_ms=last_good_after_ms) as dp:
            dp.start()
            status = dp.request({"v": 1, "cmd": "status"})
            if idle_ms:
                t.eq(dp.wait(30), 0, f"{tag}: exits by itself after {idle_ms} ms idle, code 0")
            else:
                dp.wait_rx(len(frames))
                if before_stop:
                    before_stop(dp)
                t.eq(dp.stop(), 0, f"{tag}: exit code after SIGTERM")
            st = dp.final_stats()
            log = dp.log()
        rs = status.get("ruleset")
        t.eq(rs["version"] if rs else None, expect_version, f"{tag}: status ruleset version")
        for pat in log_has:
            t.check(re.search(pat, log), f"{tag}: log says /{pat}/:\n{log}")
        out_t, out_c = s.read_pcap(trunk_out), s.read_pcap(core_out)
        h.check_counters(t, tag, st, sent=len(frames), trunk_out=trunk_out, core_out=core_out)
        return C, status, st, out_t, out_c, trunk_out, core_out

    # 1. A from the config; remembered as last good once it has run.
    def wait_last_good(dp):
        end = time.monotonic() + 10
        while time.monotonic() < end and not os.path.exists(last_good):
            time.sleep(0.05)

    C, status, st, out_t, out_c, tp, cp = run("configured", art, "startup-A",
                                              log_has=[r"rule set startup-A loaded \(checksum [0-9a-f]{16}, [^)]*\([^)]*\)[^)]*\) from " + re.escape(art) + " in ",
                                                       r"rule set startup-A has run; remembered as last good"],
                                              last_good_after_ms=0, before_stop=wait_last_good)
    t.eq(status["ruleset"]["artifact"], art, "configured: status ruleset.artifact")
    tr.check_outputs(t, "configured", C, out_t, out_c, tp, cp)
    t.check(os.path.exists(last_good) and open(last_good, "rb").read() == blob,
            "configured: last-good.swr written, identical to the artifact")

    # 2.-4. Fallbacks to last-good.swr.
    corrupt = t.path("corrupt.swr")
    b = bytearray(blob)
    b[len(b) // 2] ^= 0xFF
    open(corrupt, "wb").write(bytes(b))
    for tag, artifact, extra_log, failed in (
            ("missing", t.path("nowhere/rules.swr"), [r"no rule set at .*nowhere/rules\.swr yet"], 0),
            ("corrupt", corrupt, [r"cannot load .*corrupt\.swr"], 1),
            ("unconfigured", None, [], 0)):
        C, status, st, out_t, out_c, tp, cp = run(
            tag, artifact, "startup-A",
            log_has=extra_log + [r"rule set startup-A loaded \(checksum [0-9a-f]{16}, [^)]*\([^)]*\)[^)]*\) from " +
                                 re.escape(last_good) + " in "])
        t.eq(status["ruleset"]["artifact"], last_good, f"{tag}: status ruleset.artifact is last-good.swr")
        tr.check_outputs(t, tag, C, out_t, out_c, tp, cp)
        t.eq(st["counters"]["no_ruleset"], 0, f"{tag}: no_ruleset")
        t.eq(st["counters"]["replies_sent"], 1, f"{tag}: the 608 is answered")
        t.eq(status["reloads"]["failed"], failed, f"{tag}: status reloads.failed")

    # 5. Nothing to load: forward everything, count no_ruleset.
    empty = t.path("empty-state")
    C, status, st, out_t, out_c, tp, cp = run(
        "none", t.path("nowhere/rules.swr"), None, state_dir=empty, idle_ms=800,
        log_has=[r"running without a rule set"])
    t.eq(status["ruleset"], None, "none: status ruleset is null")
    t.eq(status["malformed_policy_without_ruleset"], "fail_open", "none: malformed policy without ruleset")
    for c in C:
        c.expect = "forward"
    tr.check_outputs(t, "none", C, out_t, out_c, tp, cp)
    cn = st["counters"]
    t.eq(cn["no_ruleset"], 4, "none: no_ruleset = INVITEs")
    t.eq(cn["invites"], 4, "none: invites")
    t.eq(sum(st["verdicts"].values()), 0, "none: no verdicts")
    t.eq(cn["malformed_forwarded"], 1, "none: malformed forwarded (config fail_open)")
    t.eq(st["ruleset_version"], None, "none: stats ruleset_version")
    t.check(not os.path.exists(os.path.join(empty, "last-good.swr")), "none: no last-good.swr appears")

    # 6. No rule set, config fail_closed.
    C, status, st, out_t, out_c, tp, cp = run(
        "none-fail-closed", None, None, state_dir=t.path("empty-state-2"),
        extra_yaml="sip:\n  malformed: fail_closed\n", log_has=[r"running without a rule set"])
    t.eq(status["malformed_policy_without_ruleset"], "fail_closed", "none-fail-closed: policy in status")
    for c in C:
        c.expect = "drop" if c.label == "malformed" else "forward"
    tr.check_outputs(t, "none-fail-closed", C, out_t, out_c, tp, cp)
    t.eq(st["counters"]["malformed_dropped"], 1, "none-fail-closed: malformed dropped")
    t.eq(st["counters"]["no_ruleset"], 4, "none-fail-closed: no_ruleset")
