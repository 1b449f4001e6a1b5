#!/usr/bin/env python3
"""The control socket (docs/control-protocol.md) on two net_null ports.

net_null ports receive an endless stream of blank frames, so counters move
while the test talks to the socket: `status` and `stats` fields (every
counter of counters.h's X-list is in `stats`), the socket's mode, the human
form (`status` without JSON), errors (protocol version, bad JSON, no cmd,
unknown command, load without artifact), several requests on one connection
answered in order, `trace-drain`; a second instance on the same socket path
refuses to start; SIGTERM stops it cleanly, printing the final counters, and
the stats file satisfies rx = forwarded + dropped + rejected + absorbed.
"""
import json
import os
import re
import socket
import stat
import time

import harness as h

with h.Test("control_smoke", __doc__) as t:
    art = t.compile_rules("rules", h.packet_rules(version="smoke-1"))
    names = re.findall(r"^\s*X\((\w+),", open(os.path.join(t.args.source_dir, "dataplane/protocol/counter_list.h")).read(),
                       re.M)
    t.check(len(names) > 20, f"counter names read from counters.h ({len(names)})")
    with h.Dataplane(t, "smoke", [("trunk", "net_null0", "trunk"), ("core", "net_null1", "core")],
                     artifact=art) as dp:
        dp.start()
        mode = stat.S_IMODE(os.stat(dp.socket).st_mode)
        t.eq(oct(mode), oct(0o660), "control socket mode (control.mode default 0660)")

        st = dp.request({"v": 1, "cmd": "status"})
        t.eq((st["ok"], st["v"]), (True, 1), "status: ok, v")
        t.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", st["started_at"]), f"status: started_at {st['started_at']!r}")
        t.check(st["uptime_s"] >= 0, "status: uptime_s")
        rs = st["ruleset"] or {}
        t.eq((rs.get("name"), rs.get("version"), rs.get("artifact"), rs.get("rules"), rs.get("malformed_policy")),
             ("it-packets", "smoke-1", art, 4, "fail_open"), "status: ruleset")
        t.check(re.fullmatch(r"[0-9a-f]{16}", rs.get("checksum", "")), "status: ruleset checksum")
        t.eq(st["workers"], [{"index": 0, "lcore": 1}], "status: workers")
        ports = [(p["name"], p["device"], p["role"], p["peer"], p["link"], p["queues"], p["mtu"]) for p in st["ports"]]
        t.eq(ports, [("trunk", "net_null0", "trunk", "core", "up", 1, 1500),
                     ("core", "net_null1", "core", "trunk", "up", 1, 1500)], "status: ports")
        for p in st["ports"]:
            t.check(re.fullmatch(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}", p["mac"]), f"status: port mac {p['mac']!r}")

        s1 = dp.stats()
        time.sleep(0.2)
        s2 = dp.stats()
        t.eq(s1["ok"], True, "stats: ok")
        missing = [n for n in names + ["rx_packets"] if n not in s1["counters"]]
        t.eq(missing, [], "stats: every counter of counters.h is reported")
        t.check(s2["counters"]["rx_packets"] > s1["counters"]["rx_packets"] > 0,
                f"stats: rx_packets moves ({s1['counters']['rx_packets']} -> {s2['counters']['rx_packets']})")
        t.eq(sorted(s1["verdicts"]), ["drop", "pass", "reject", "tag", "trace"], "stats: verdict names")
        t.eq([p["name"] for p in s1["ports"]], ["trunk", "core"], "stats: ports")
        t.check({"nic_imissed", "nic_ierrors", "nic_oerrors", "nic_rx_nombuf"} <= set(s1["ports"][0]),
                "stats: NIC counters per port")
        t.check(len(s1["parse_errors"]) > 5 and all(v == 0 for v in s1["parse_errors"].values()),
                "stats: parse_errors by reason, all zero for blank frames")
        t.eq((s1["workers"], s1["ruleset_version"]), (1, "smoke-1"), "stats: workers, ruleset_version")

        t.eq(dp.request("status").get("ok"), True, "human form: 'status'")
        for req, want in ((json.dumps({"v": 2, "cmd": "status"}), "protocol version 2 not supported"),
                          ('{"v":1,"cmd":', "not valid JSON"),
                          (json.dumps({"v": 1}), 'needs "cmd"'),
                          (json.dumps({"v": 1, "cmd": "frobnicate"}), "unknown command 'frobnicate'"),
                          (json.dumps({"v": 1, "cmd": "load"}), 'load needs "artifact"')):
            r = dp.request(req)
            t.check(r.get("ok") is False and r.get("v") == 1 and want in r.get("error", ""),
                    f"request {req!r}: error containing {want!r}, got {r}")

        # Three requests in one write: three replies, in order.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(dp.socket)
            c.sendall(b'status\n{"v":1,"cmd":"stats"}\n{"v":1,"cmd":"trace-drain","max":5}\n')
            buf = b""
            while buf.count(b"\n") < 3:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
        replies = [json.loads(x) for x in buf.decode().splitlines()]
        t.eq(len(replies), 3, "pipelined requests: three replies")
        if len(replies) == 3:
            t.check("started_at" in replies[0], "pipelined: 1st reply is status")
            t.check("counters" in replies[1], "pipelined: 2nd reply is stats")
            t.check(replies[2].get("ok") and isinstance(replies[2].get("records"), list)
                    and "remaining" in replies[2], f"pipelined: 3rd reply is trace-drain: {replies[2]}")

        # A second instance on the same socket refuses to start.
        with h.Dataplane(t, "second", [("trunk", "net_null2", "trunk"), ("core", "net_null3", "core")],
                         stats_json=False) as dp2:
            dp2.socket = dp.socket
            dp2._write_config("")
            dp2.start(wait_socket=False)
            rc = dp2.wait(30)
            t.eq(rc, 1, "second instance on the same socket: exit code")
            t.check("another process is serving" in dp2.log(), f"second instance says why:\n{dp2.log()}")
        t.eq(dp.request({"v": 1, "cmd": "status"}).get("ok"), True, "the first instance still answers")

        t.eq(dp.stop(), 0, "SIGTERM: exit code 0")
        out = open(dp.stdout).read()
        t.check("ports:" in out and "verdicts (INVITEs):" in out and "counters:" in out,
                f"final counters printed on stdout:\n{out[:300]}")
        fin = dp.final_stats()
    c = fin["counters"]
    t.eq(c["forwarded"] + c["dropped"] + c["rejected"] + c["absorbed"], c["rx_packets"],
         "final: forwarded + dropped + rejected + absorbed = rx_packets")
    t.check(c["rx_packets"] >= s2["counters"]["rx_packets"], "final rx_packets >= the last live value")
    t.eq(sum(p["rx_packets"] for p in fin["ports"]), c["rx_packets"], "final: rx_packets = sum over ports")
    t.check(not os.path.exists(dp.socket), "control socket removed on exit")
