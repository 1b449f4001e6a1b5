#!/usr/bin/env python3
"""The data plane's log (issue 17; dataplane/log/log.h, docs/operations.md "Logging").

Under systemd (JOURNAL_STREAM set) every line on stderr starts with a syslog
priority "<N>" that journald reads -- the data plane's own lines and DPDK's
(EAL, drivers, routed through the same logger); elsewhere each line carries
an ISO 8601 time and the priority's name. A rule-set load leaves exactly one
line (version, checksum, counts). A condition that repeats (20 loads of a
missing artifact over the control socket) leaves one line and, at exit, one
summary with the count -- not 20 lines.
"""
import os
import re

import harness as h

REFUSED = "rule set refused, the running one stays: "


def run(t, tag, journal, art):
    if journal:
        os.environ["JOURNAL_STREAM"] = "8:12345"
    else:
        os.environ.pop("JOURNAL_STREAM", None)
    try:
        with h.Dataplane(t, tag, [("trunk", "net_null0", "trunk"), ("core", "net_null1", "core")],
                         artifact=art) as dp:
            dp.start()
            missing = t.path("no-such.swr")
            for _ in range(20):
                r = dp.request({"v": 1, "cmd": "load", "artifact": missing})
                t.eq(r.get("ok"), False, f"{tag}: load of a missing artifact refused")
            t.eq(dp.stop(), 0, f"{tag}: clean stop")
            return dp.log().splitlines()
    finally:
        os.environ.pop("JOURNAL_STREAM", None)


with h.Test("logging", __doc__) as t:
    art = t.compile_rules("rules", h.packet_rules(version="log-1"))

    lines = run(t, "journal", True, art)
    bad = [ln for ln in lines if not re.match(r"<[0-7]>", ln)]
    t.eq(bad, [], "journal: every stderr line starts with a syslog priority <0>..<7>")
    loads = [ln for ln in lines if " loaded (checksum " in ln]
    t.eq(len(loads), 1, f"journal: one rule-set load line ({loads})")
    if loads:
        t.check(re.fullmatch(r"<5>rule set log-1 loaded \(checksum [0-9a-f]{16}, 4 rules, 4 numbers, 0 prefixes, "
                             r"0 ranges \(0 named lists\), 0 regexes, 0 detectors, 0 trunks, 0 deny_sources\) "
                             r"from " + re.escape(art) + r" in [0-9.]+ ms", loads[0]),
                f"journal: the load line names version, checksum and counts: {loads[0]!r}")
    refused = [ln for ln in lines if REFUSED in ln]
    t.eq(len(refused), 2, f"journal: 20 refused loads leave the line once plus one summary ({refused})")
    if len(refused) == 2:
        t.check(refused[0].startswith("<4>" + REFUSED) and not refused[0].endswith("s)"),
                f"journal: the first refusal as a warning: {refused[0]!r}")
        t.check(refused[1].startswith("<4>" + REFUSED) and re.search(r"\(repeated 19 more times in \d+ s\)$", refused[1]),
                f"journal: the summary counts the 19 others: {refused[1]!r}")
    dpdk = [ln for ln in lines if "rte_ip_frag_table_create" in ln or "TELEMETRY" in ln]
    t.check(dpdk and all(re.match(r"<[0-7]>", ln) for ln in dpdk),
            f"journal: DPDK's own lines go through the same logger ({dpdk})")
    t.check(any(ln.startswith("<6>") for ln in lines) and any(ln.startswith("<4>") for ln in lines),
            "journal: more than one priority in use")

    lines = run(t, "terminal", False, art)
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z sipwall-dataplane (emerg|alert|crit|error|warning|notice|info|debug): "
    bad = [ln for ln in lines if not re.match(stamp, ln)]
    t.eq(bad, [], "terminal: every stderr line has a time, the program and the priority's name")
    t.eq(len([ln for ln in lines if " loaded (checksum " in ln]), 1, "terminal: one load line")
