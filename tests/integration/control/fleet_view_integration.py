#!/usr/bin/env python3
"""One view of every caller (docs/fleet.md), end to end.

The scene of control.fleet (fleet_integration.py): a redis-server on a
loopback port, three data planes on net_pcap vdevs fed through FIFOs, three
sipwall-control with a fleet: section; here with the fleet view on
(fleet.view_percent 30, view_interval_ms 1000) and each data plane reporting
keys to its merge from 20 % of a threshold (detection.report_percent 20;
the default 50 would not report a caller seen 4 times under a threshold of
10, and this test would fail).

Rule set: two detectors with `block: 10` in a 10 s window, one keyed by the
caller, one by the pair caller -> callee (call bombing), each with a 603 rule.

  * Z calls C1 4 times through each appliance: 4 <= 10 everywhere, 12 > 10
    fleet-wide. Within a bounded wait, all three data planes hold Z in the
    caller detector and "Z -> C1" in the pair detector (external entries
    whose `by` names the fleet detection and the three shares), and Z's next
    call is rejected 603 on each of them. `fleet status --json` lists both
    global detections; /metrics counts them.
  * W calls C2 3 times through each appliance: 9 fleet-wide, not over: held
    nowhere, its calls pass.
  * Redis commands per appliance per second while the view carries hot keys
    (`INFO commandstats` over a 5 s window; docs/fleet.md quotes it).
  * Once the calls leave the window, the global detections end on all three.

Needs root (DPDK) and redis-server. Exit 0 pass, 1 fail, 77 skipped.
  fleet_view_integration.py --bin build/bin --source .
"""
import argparse
import json
import os
import shutil
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import SKIP, check, run_guarded, unix_request, wait_for  # noqa: E402
import fleet_integration as fi  # noqa: E402

Z, C1 = "+8613800138077", "+8613900139011"
W, C2 = "+8613800138066", "+8613900139022"

RULES = """\
version: "view-1"
name: view
dial_plan: {preset: china}
detectors:
  - name: caller_rate
    key: caller
    count: invites
    window: 10s
    block: 10
    block_for: 2s
  - name: call_bombing
    key: caller_callee
    count: invites
    window: 10s
    block: 10
    block_for: 2s
rules:
  - id: rate-block
    match: {detector: caller_rate}
    action:
      reject: {code: 603, reason: "Too many calls"}
  - id: bomb-block
    match: {detector: call_bombing}
    action:
      reject: {code: 603, reason: "Call bombing"}
"""


class Sender(threading.Thread):
    """Opens a data plane's trunk FIFO (the data plane blocks on it at start), keeps frames that are not SIP
    flowing (net_pcap blocks a worker in its read until a whole burst of 32 frames is there: a worker left
    waiting would never pass an RCU quiescent state, and its data plane would stop publishing merges), and
    writes INVITEs on demand."""

    def __init__(self, fifo, tag):
        super().__init__(daemon=True)
        self.fifo, self.tag = fifo, tag
        self.f = None
        self.n = 0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.error = None
        self.stop = False

    def run(self):
        try:
            end = time.monotonic() + 60
            fd = None
            while fd is None:
                try:
                    fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    if time.monotonic() > end:
                        raise RuntimeError("the data plane never opened the FIFO")
                    time.sleep(0.01)
            os.set_blocking(fd, True)
            self.f = os.fdopen(fd, "wb", buffering=0)
            self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            self.ready.set()
            filler = fi.sp().udp_frame(fi.PEER4, fi.CORE4, 40000, 40000, b"filler")
            while not self.stop:
                with self.lock:
                    for _ in range(32):
                        self.frame(filler)
                time.sleep(0.2)  # 160 frames a second: enough, and no queue before an INVITE
        except Exception as e:  # reported by the main thread
            self.error = e
            self.ready.set()

    def send(self, caller, callee, count):
        if not (self.ready.wait(60) and self.error is None):
            check(False, "%s: the trunk FIFO is open (%s)" % (self.tag, self.error))
        with self.lock:
            for _ in range(count):
                n = self.n
                payload = fi.sp().invite(ruri="sip:%s@%s;user=phone" % (callee, fi.CORE4),
                                         from_uri="sip:%s@%s;user=phone" % (caller, fi.PEER4),
                                         to_uri="sip:%s@%s;user=phone" % (callee, fi.CORE4),
                                         call_id="fv-%s-%07d@it.sipwall" % (self.tag, n), src=fi.PEER4, cseq=1,
                                         sdp=False)
                self.frame(fi.sp().udp_frame(fi.PEER4, fi.CORE4, 5060, 5060, payload))

    def frame(self, fr):
        n = self.n
        self.n += 1
        self.f.write(struct.pack("<IIII", 1764320400 + n // 1000, (n % 1000) * 1000, len(fr), len(fr)) + fr)


def detections(a):
    return unix_request(a["dp_sock"], {"v": 1, "cmd": "detections"})["detections"]


def held(a, detector, key):
    for d in detections(a):
        if d["detector"] == detector and d["key"] == key and d["external"] and d["level"] == "block":
            return d
    return None


def hits(scene, a, rule):
    return {r["id"]: r["hits"] for r in scene.stats(a)["rules"]}.get(rule, 0)


def test(scene):
    print("== redis-server on 127.0.0.1:%d, three data planes (report_percent 20), three sipwall-control "
          "(view_percent 30)" % scene.redis_port)
    scene.start_redis()
    ref = os.path.join(scene.tmp, "ref")
    os.makedirs(ref)
    with open(os.path.join(ref, "main.yaml"), "w") as f:
        f.write(RULES)
    art = os.path.join(scene.tmp, "view.swr")
    rc, out, err = scene.ctl("rules", "compile", os.path.join(ref, "main.yaml"), "-o", art)
    check(rc == 0, "compile the view rule set (%s)" % err.strip()[:200])
    for i, a in enumerate(scene.apps):
        scene.setup_appliance(i, a, art)
        with open(a["rules"], "w") as f:
            f.write(RULES)
        with open(os.path.join(a["dir"], "dataplane.yaml"), "a") as f:
            f.write("detection:\n  report_percent: 20\n")
        with open(os.path.join(a["dir"], "control.yaml"), "a") as f:  # the fleet: section is the last one
            f.write("  view_percent: 30\n  view_interval_ms: 1000\n")
        a["dp"] = scene.start(a["id"] + "-dataplane", [os.path.join(scene.bin, "sipwall-dataplane"), "-c",
                                                       os.path.join(a["dir"], "dataplane.yaml")], cwd=a["dir"])
        a["sender"] = Sender(a["fifo"], a["id"])
        a["sender"].start()
    for a in scene.apps:
        wait_for(a["id"] + " data plane", lambda a=a: a["dp"].poll() is None and scene.dp_version(a) == "view-1", 60)
        a["ctl"] = scene.start(a["id"] + "-control", [os.path.join(scene.bin, "sipwall-control"), "-c",
                                                      os.path.join(a["dir"], "control.yaml")], cwd=a["dir"])
    wait_for("three appliances in fleet status", lambda: len(scene.fleet_status()) == fi.N, 20)
    quiet0 = fi.commandstats(scene)
    t_quiet = time.monotonic()

    print("== Z -> C1 4 times and W -> C2 3 times through each appliance (threshold 10 in 10 s)")
    time.sleep(5)  # a quiet stretch first: the view costs nothing without hot keys
    quiet = {k: v - quiet0.get(k, 0) for k, v in fi.commandstats(scene).items()}
    quiet_s = time.monotonic() - t_quiet
    rate0 = [hits(scene, a, "rate-block") for a in scene.apps]
    t0 = time.monotonic()
    for a in scene.apps:
        a["sender"].send(Z, C1, 4)
        a["sender"].send(W, C2, 3)
    pair = "%s -> %s" % (Z, C1)
    try:
        wait_for("Z held in caller_rate and Z -> C1 in call_bombing on all three data planes",
                 lambda: all(held(a, "caller_rate", Z) and held(a, "call_bombing", pair) for a in scene.apps), 15,
                 0.05)
    except Exception:
        for a in scene.apps:  # what each appliance saw, for the failure report
            print("  %s data plane: %s" % (a["id"], unix_request(a["dp_sock"], {"v": 1, "cmd": "detections",
                                                                                "all": 1})["detections"]))
            print("  %s fleet: %s" % (a["id"], unix_request(a["ctl_sock"], {"v": 1, "cmd": "status"})["fleet"]))
            st = scene.stats(a)
            print("  %s stats: %s" % (a["id"], {k: v for k, v in st.items() if k in ("ports", "frames", "invites",
                                                                                   "detection", "workers")}))
        print("  fleet status: %s" % scene.ctl("fleet", "status")[1])
        raise
    print("  measured: the global detections held on all three %.2f s after the calls were sent" %
          (time.monotonic() - t0))
    for a in scene.apps:
        check(not any(d["key"] in (W, "%s -> %s" % (W, C2)) for d in detections(a)),
              "%s: W (9 calls fleet-wide, not over 10) is not held" % a["id"])
        local = [d for d in unix_request(a["dp_sock"], {"v": 1, "cmd": "detections", "all": 1})["detections"]
                 if d["key"] == Z and d["detector"] == "caller_rate"]
        check(local and local[0]["count"] <= 10, "%s: Z's own count is under the threshold (%s)" %
              (a["id"], local[0]["count"] if local else None))
    by = held(scene.apps[0], "caller_rate", Z).get("by", "")
    check(by.startswith("fleet detection: ") and all(a["id"] + " " in by for a in scene.apps) and by.endswith("> 10"),
          "detections names the fleet detection and each appliance's share: %r" % by)
    rc, out, err = scene.ctl("detections", "--dataplane-socket", scene.apps[1]["dp_sock"])
    check(rc == 0 and "fleet detection: " in out, "sipwallctl detections marks it a fleet detection")

    # Z calls again through each appliance until its call is rejected 603 by
    # rate-block there (at most 5 more calls: Z stays under 10 on each). More
    # than one: a worker of this harness may sit up to a filler batch inside
    # a net_pcap read with the state it had when it began.
    pending = list(range(fi.N))
    for _ in range(5):
        for i in pending:
            scene.apps[i]["sender"].send(Z, C1, 1)
        end = time.monotonic() + 1.5
        while pending and time.monotonic() < end:
            pending = [i for i in pending if hits(scene, scene.apps[i], "rate-block") <= rate0[i]]
            time.sleep(0.1)
        if not pending:
            break
    t_last = time.monotonic()
    check(not pending, "Z's calls rejected 603 by rate-block on all three (still passing on %s)" %
          [scene.apps[i]["id"] for i in pending])
    scene.apps[0]["sender"].send(W, C2, 1)  # W: 4 + 3 + 3 = 10, still not over 10
    time.sleep(1.5)
    check(not any(held(a, "caller_rate", W) for a in scene.apps), "W at 10 fleet-wide (not over) is held nowhere")

    rc, out, err = scene.ctl("fleet", "status", "--json")
    st = json.loads(out)
    kinds = {(b["detector"], b["key"]): b for b in st.get("blocks", [])}
    check(kinds.get(("caller_rate", Z), {}).get("kind") == "detection" and ("call_bombing", pair) in kinds,
          "fleet status --json lists both global detections")
    rc, out, err = scene.ctl("fleet", "status")
    check(rc == 0 and "detection" in out and pair in out, "fleet status shows them")
    decided = sum(scene.metrics(a).get("sipwall_fleet_view_detections_total", 0) for a in scene.apps)
    check(decided >= 2, "sipwall_fleet_view_detections_total counts them (%s over the fleet)" % decided)
    # /metrics is rendered after each data-plane poll: up to poll_interval_ms behind.
    wait_for("sipwall_fleet_view_held 2 on each appliance",
             lambda: [scene.metrics(a).get("sipwall_fleet_view_held") for a in scene.apps] == [2, 2, 2], 5)
    check(all(scene.metrics(a).get("sipwall_fleet_view_pushes_total", 0) > 0 and
              scene.metrics(a).get("sipwall_fleet_view_reads_total", 0) > 0 for a in scene.apps),
          "pushes and reads counted on each appliance")

    print("== Redis commands per appliance per second, with hot keys (5 s, INFO commandstats)")
    c0 = fi.commandstats(scene)
    t1 = time.monotonic()
    time.sleep(5)
    c1 = fi.commandstats(scene)
    secs = time.monotonic() - t1
    d = {k: v - c0.get(k, 0) for k, v in c1.items() if v - c0.get(k, 0) > 0 and k not in ("info", "ping", "auth")}
    hot_total = sum(d.values()) / (fi.N * secs)
    q = {k: v for k, v in quiet.items() if v > 0 and k not in ("info", "ping", "auth")}
    quiet_total = sum(q.values()) / (fi.N * quiet_s)
    print("  measured: %s in %.1f s: %.1f commands per appliance per second with hot keys" % (d, secs, hot_total))
    print("  measured: %s in %.1f s: %.1f commands per appliance per second with none" % (q, quiet_s, quiet_total))
    print("  measured: the view's share: %.1f commands per appliance per second (HSET+PEXPIRE+HGETALL per hot key "
          "per turn, and the global detections' upkeep)" % (hot_total - quiet_total))

    print("== the calls leave the 10 s window: the global detections end on all three")
    wait_for("Z released on all three", lambda: not any(
        held(a, "caller_rate", Z) or held(a, "call_bombing", pair) for a in scene.apps), 40, 0.2)
    print("  measured: released on all three %.1f s after Z's last calls (window 10 s, then held up to 6 s more)" %
          (time.monotonic() - t_last))
    try:
        wait_for("fleet status lists no detection", lambda: not json.loads(scene.ctl("fleet", "status", "--json")[1])
                 .get("blocks"), 20)
    except Exception:
        print(scene.ctl("fleet", "status")[1])
        for a in scene.apps:
            print("  %s data plane: %s" % (a["id"], unix_request(a["dp_sock"], {"v": 1, "cmd": "detections",
                                                                                "all": 1})["detections"]))
            print("  %s fleet: %s" % (a["id"], unix_request(a["ctl_sock"], {"v": 1, "cmd": "status"})["fleet"]))
        raise
    wait_for("sipwall_fleet_view_held 0 on each appliance",
             lambda: all(scene.metrics(a).get("sipwall_fleet_view_held") == 0 for a in scene.apps), 5)
    for a in scene.apps:
        check(a["dp"].poll() is None and a["ctl"].poll() is None, "%s still running" % a["id"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK EAL on net_pcap vdevs); run as root or via scripts/test.sh")
        return SKIP
    for tool in ("redis-server", "redis-cli"):
        if not shutil.which(tool):
            print("FAIL: %s (Debian package redis-server) is missing: scripts/deps.sh installs it" % tool)
            return 1
    for tool in ("sipwall-dataplane", "sipwall-control", "sipwallctl"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            print("FAIL: %s/%s is not built" % (args.bin, tool))
            return 1
    sys.path.insert(0, os.path.join(os.path.abspath(args.source), "tests", "tools"))
    scene = fi.Scene(args)
    scene.prefix = "itview%d:" % os.getpid()
    def stop_senders():
        for a in scene.apps:
            if "sender" in a:
                a["sender"].stop = True
    return run_guarded(scene, lambda: test(scene), tail=25, before_stop=stop_senders,
                       logs=lambda: ["redis"] + ["%s-%s" % (a["id"], k) for a in scene.apps
                                                 for k in ("dataplane", "control")])


if __name__ == "__main__":
    sys.exit(main())
