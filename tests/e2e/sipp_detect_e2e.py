#!/usr/bin/env python3
"""Live end-to-end test of behavioural detection: SIPp calls through
sipwall-dataplane (net_af_packet on veths between two network namespaces),
with sipwall-control loading the rule set, as in tests/e2e/sipp_e2e.py (same
topology and helpers).

The rule set (RULES) has the example detectors with short windows and holds,
so a hold ends within the test:

  * a busy benign PBX trunk: 40 callers, 2 calls each to distinct callees, at
    20 calls/s: every call completes (zero blocked);
  * a call bomber: 12 calls from one caller to one callee: calls 1..10
    complete, 11 and 12 are answered 608 (the detector fires on the INVITE
    that crosses, and that INVITE is already acted on); `sipwallctl
    detections` lists the pair; once the window and the hold have passed,
    the next call from the bomber completes again (released after the hold);
  * a mass caller: one caller to 22 distinct callees: 20 complete, the 21st
    and 22nd are answered 608; released after the hold like the bomber;
  * a one-ring caller (INVITE, 180 from the callee's side, CANCEL 1 s later;
    uac_onering.xml / uas_onering.xml): 4 calls ring and are cancelled, the
    5th and 6th INVITE are dropped (no answer): the 180s crossed from the core
    side and the CANCELs from the trunk side met in the call table; released
    after the hold, its next call rings again;
  * /metrics counts the fires by detector name, with no number in a label.

Needs root (namespaces, DPDK); exits 77 (skipped) otherwise. Bounded: ~130
calls, about two minutes (three holds must run out).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sipp_e2e as e2e  # noqa: E402

BOMBER, BOMBED, MASS, RINGER = "+8613800001111", "+8613900002222", "+8613700003333", "+8618600004444"
RULES = """\
version: "e2e-detect.1"
name: e2e-detect
dial_plan:
  preset: china
detectors:
  - name: call_bombing
    key: caller_callee
    count: invites
    window: 10s
    block: 10
    block_for: 3s
  - name: mass_calling
    key: caller
    count: distinct_callees
    window: 10s
    block: 20
    block_for: 3s
  - name: one_ring
    key: caller
    count: one_ring
    within: 3s
    window: 15s
    block: 3
    block_for: 3s
defaults:
  action: pass
rules:
  - id: call-bombing
    match: {detector: call_bombing}
    action:
      reject: {code: 608, reason: Call bombing}
  - id: mass-calling
    match: {detector: mass_calling}
    action:
      reject: {code: 608, reason: Mass calling}
  - id: one-ring
    match: {detector: one_ring}
    action: drop
"""


def codes_in_order(calls):
    return [c["code"] for c in sorted(calls, key=lambda c: e2e.call_number(c["call_id"]))]


def sipp_sequential(run, name, scenario, calls, timeout_s):
    """One call at a time (-l 1) with `scenario`; returns the logged calls."""
    inf = run.path(name + ".csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n")
        for caller, callee, ua in calls:
            f.write("%s;%s;%s\n" % (caller, callee, ua))
    log = run.path(name + "-calls.log")
    argv = ["sipp", "%s:5060" % run.topo.ip_uas, "-sf", os.path.join(HERE, scenario), "-inf", inf,
            "-i", run.topo.ip_uac, "-p", "5060", "-m", str(len(calls)), "-r", "10", "-l", "1",
            "-nr", "-trace_logs", "-log_file", log, "-timeout", "%ds" % timeout_s, "-nostdin"]
    r = subprocess.run(["ip", "netns", "exec", run.topo.ns_uac] + argv, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout_s + 30)
    open(run.path(name + ".out"), "w").write(r.stdout)
    return e2e.uac_log(log)


def run_test(run):
    t = run.topo
    check, wait_for = e2e.check, e2e.wait_for
    print("== network: namespaces %s / %s, veth %s / %s" % (t.ns_uac, t.ns_uas, t.dp_trunk, t.dp_core))
    t.up()
    run.setup()
    with open(run.rules, "w") as f:
        f.write(RULES)
    run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c", run.path("dataplane.yaml")])
    wait_for("the data plane's control socket", lambda: os.path.exists(run.dp_sock), 30)
    run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", run.path("control.yaml")])
    wait_for("sipwall-control to load the rule set",
             lambda: (run.dp("status").get("ruleset") or {}).get("version") == "e2e-detect.1", 60)
    uas = run.start("uas", ["sipp", "-sf", os.path.join(HERE, "uas.xml"), "-i", t.ip_uas, "-p", "5060",
                      "-trace_logs", "-log_file", run.path("uas-calls.log"), "-nostdin"], ns=t.ns_uas)
    time.sleep(1.0)

    print("== a busy benign PBX trunk: 40 callers x 2 calls, 20 calls/s")
    benign = [("+86135%08d" % (10000000 + c), "+86136%08d" % (20000000 + 2 * c + k), "e2e-pbx")
              for k in range(2) for c in range(40)]
    rc, stat, calls = run.sipp_uac("benign", benign, rate=20, max_calls=len(benign), timeout_s=60)
    check(rc == 0 and int(stat["SuccessfulCall(C)"]) == len(benign), "benign: all %d calls completed (%s)"
          % (len(benign), stat["SuccessfulCall(C)"]))
    check(all(c["code"] == 200 for c in calls) and len(calls) == len(benign), "benign: zero calls blocked")

    print("== a call bomber: 12 calls to one callee")
    rc, stat, calls = run.sipp_uac("bomber", [(BOMBER, BOMBED, "e2e-bomb")] * 12, rate=10, max_calls=12, timeout_s=60)
    codes = codes_in_order(calls)
    check(codes == [200] * 10 + [608] * 2, "bomber: calls 1..10 complete, 11 and 12 get 608 (%s)" % codes)
    rc, out, err = run.ctl("detections", "--json")
    rows = [r for r in json.loads(out or "{}").get("detections", []) if r["detector"] == "call_bombing"]
    check(rc == 0 and len(rows) == 1 and rows[0]["key"] == "%s -> %s" % (BOMBER, BOMBED),
          "bomber: sipwallctl detections lists the pair (%s)" % rows)
    # Released after the hold: the window (10 s) must slide past the calls and block_for (3 s) end.
    wait_for("the bomber's hold to end", lambda: not [r for r in run.dp("detections").get("detections", [])
                                                       if r["detector"] == "call_bombing"], 20, 0.2)
    rc, stat, calls = run.sipp_uac("bomber-after", [(BOMBER, BOMBED, "e2e-bomb")], rate=1, max_calls=1, timeout_s=30)
    check([c["code"] for c in calls] == [200], "bomber: after the hold, the next call completes (%s)"
          % [c["code"] for c in calls])

    print("== a mass caller: 22 distinct callees")
    mass = [(MASS, "+86139%08d" % (30000000 + i), "e2e-mass") for i in range(22)]
    rc, stat, calls = run.sipp_uac("mass", mass, rate=10, max_calls=len(mass), timeout_s=60)
    codes = codes_in_order(calls)
    check(codes == [200] * 20 + [608] * 2, "mass caller: 20 complete, the 21st and 22nd get 608 (%s)" % codes)
    wait_for("the mass caller's hold to end", lambda: not [r for r in run.dp("detections").get("detections", [])
                                                            if r["detector"] == "mass_calling"], 20, 0.2)
    rc, stat, calls = run.sipp_uac("mass-after", [(MASS, "+86139%08d" % 30000099, "e2e-mass")], rate=1,
                                   max_calls=1, timeout_s=30)
    check([c["code"] for c in calls] == [200], "mass caller: after the hold, the next call completes (%s)"
          % [c["code"] for c in calls])

    print("== a one-ring caller: INVITE, 180, CANCEL after 1 s")
    run.stop(uas)
    run.start("uas-ring", ["sipp", "-sf", os.path.join(HERE, "uas_onering.xml"), "-i", t.ip_uas, "-p", "5060",
                           "-trace_logs", "-log_file", run.path("uas-ring.log"), "-nostdin"], ns=t.ns_uas)
    time.sleep(1.0)
    ring = [(RINGER, "+86135%08d" % (40000000 + i), "e2e-ring") for i in range(6)]
    calls = sipp_sequential(run, "onering", "uac_onering.xml", ring, timeout_s=60)
    codes = codes_in_order(calls)
    check(codes == [487] * 4 + [0] * 2, "one-ring: 4 calls ring and are cancelled, the 5th and 6th are dropped (%s)"
          % codes)
    wait_for("the one-ring caller's hold to end", lambda: not [r for r in run.dp("detections").get("detections", [])
                                                                if r["detector"] == "one_ring"], 30, 0.2)
    calls = sipp_sequential(run, "onering-after", "uac_onering.xml", [(RINGER, "+86135%08d" % 40000099, "e2e-ring")],
                            timeout_s=30)
    check(codes_in_order(calls) == [487], "one-ring: after the hold, the next call rings and is cancelled again (%s)"
          % codes_in_order(calls))

    time.sleep(1.0)  # one more poll by sipwall-control
    m = e2e.parse_metrics(run.metrics())
    check(m.get('sipwall_detector_hits_total{detector="call_bombing"}') == 2
          and m.get('sipwall_detector_hits_total{detector="mass_calling"}') == 2,
          "metrics: 2 hits for each detector, by name")
    check(m.get('sipwall_detector_fires_total{detector="call_bombing"}', 0) >= 1, "metrics: call_bombing fired")
    check(m.get('sipwall_detector_hits_total{detector="one_ring"}') == 2, "metrics: one_ring decided 2 INVITEs")
    check(not any("8613" in k for k in m), "metrics: no phone number in any label")
    s = run.dp("stats")
    check(s["counters"]["call_events"] > 0, "the call tables followed the calls (%d call events)"
          % s["counters"]["call_events"])


if __name__ == "__main__":
    sys.exit(e2e.main(__doc__, run_test, tools=("sipp", "ip", "ethtool")))
