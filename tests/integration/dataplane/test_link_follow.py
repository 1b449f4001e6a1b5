#!/usr/bin/env python3
"""Link following (issue 17; docs/deploy.md "Link state").

A bump in the wire must not black-hole traffic: when one port of a pair
loses link, the data plane takes its partner down so the router behind the
partner fails over, and brings it back when the link returns. Tested on two
DPDK net_tap ports (kernel tap interfaces in the root namespace: their link
is the interface's UP/RUNNING state, and net_tap implements set_link_down /
set_link_up by clearing / setting the partner interface's UP flag):

* `ip link set TRUNK down` -> within a second the core tap loses UP,
  `link_down` and `link_partner_taken_down` count 1, the log says so;
* `ip link set TRUNK up` -> the core tap is UP again, `link_partner_brought_up` 1;
* with `link_follow: false` on the pair the same event leaves the core up.
Root only (tap interfaces, DPDK); exit 77 without.
"""
import os
import re
import subprocess
import time

import harness as h


def link_flags(ifname):
    out = subprocess.run(["ip", "-o", "link", "show", ifname], capture_output=True, text=True).stdout
    m = re.search(r"<([^>]*)>", out)
    return set(m.group(1).split(",")) if m else set()


def wait_until(what, cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def run(t, tag, follow):
    suffix = "%d%s" % (os.getpid() % 10000, tag[0])
    trunk_if, core_if = "swlt" + suffix, "swlc" + suffix
    pairs = "" if follow else "pairs:\n  - {ports: [trunk, core], link_follow: false}\n"
    dp = h.Dataplane(t, tag, [("trunk", "net_tap0,iface=" + trunk_if, "trunk"),
                              ("core", "net_tap1,iface=" + core_if, "core")])
    if not follow:  # the generated config's list form, replaced by the map form
        text = open(dp.config).read()
        text = re.sub(r"pairs:\n  - \[trunk, core\]\n", pairs, text)
        open(dp.config, "w").write(text)
    with dp:
        check = subprocess.run([t.args.dataplane, "--check", dp.config], capture_output=True, text=True, timeout=30)
        t.check(("link_follow    trunk <-> core: " + ("on" if follow else "off")) in check.stdout,
                "%s: --check shows link_follow %s:\n%s" % (tag, "on" if follow else "off", check.stdout))
        dp.start()
        t.check(wait_until("taps up", lambda: "UP" in link_flags(trunk_if) and "UP" in link_flags(core_if)),
                "%s: both taps UP after start (%s, %s)" % (tag, link_flags(trunk_if), link_flags(core_if)))
        time.sleep(5.5)  # LinkWatch::kSettle: a port's "down" counts only after it had time to come up
        subprocess.run(["ip", "link", "set", trunk_if, "down"], check=True)
        if follow:
            t.check(wait_until("core down", lambda: "UP" not in link_flags(core_if)),
                    "%s: trunk lost link -> core taken down (%s)" % (tag, link_flags(core_if)))
            c = dp.stats()["counters"]
            t.eq((c["link_down"], c["link_partner_taken_down"], c["link_partner_down_failed"]), (1, 1, 0),
                 "%s: link_down, link_partner_taken_down, link_partner_down_failed" % tag)
            st = {p["name"]: p["link"] for p in dp.request({"v": 1, "cmd": "status"})["ports"]}
            t.eq(st, {"trunk": "down", "core": "down"}, "%s: status shows both ports down" % tag)
            subprocess.run(["ip", "link", "set", trunk_if, "up"], check=True)
            t.check(wait_until("core up", lambda: "UP" in link_flags(core_if)),
                    "%s: trunk link back -> core brought up (%s)" % (tag, link_flags(core_if)))
            time.sleep(0.5)
            c = dp.stats()["counters"]
            t.eq((c["link_down"], c["link_partner_taken_down"], c["link_partner_brought_up"]), (1, 1, 1),
                 "%s: counters after the link returned" % tag)
        else:
            time.sleep(1.5)
            t.check("UP" in link_flags(core_if), "%s: link_follow off: core stays up (%s)" % (tag, link_flags(core_if)))
            c = dp.stats()["counters"]
            t.eq((c["link_down"], c["link_partner_taken_down"]), (1, 0), "%s: counted, not followed" % tag)
            subprocess.run(["ip", "link", "set", trunk_if, "up"], check=True)
        t.eq(dp.stop(), 0, "%s: clean stop" % tag)
        log = dp.log()
        if follow:
            t.check("port trunk lost link: took its partner core down" in log, "%s: log says core was taken down:\n%s"
                    % (tag, log))
            t.check("port trunk has link again: brought its partner core back up" in log,
                    "%s: log says core was brought back:\n%s" % (tag, log))
        else:
            t.check("port trunk: link down" in log and "took its partner" not in log,
                    "%s: log has the link loss only:\n%s" % (tag, log))


with h.Test("link_follow", __doc__) as t:
    if not os.path.exists("/dev/net/tun"):
        print("SKIP link_follow: no /dev/net/tun (net_tap needs it)")
        raise SystemExit(h.SKIP)
    run(t, "follow", True)
    run(t, "nofollow", False)
