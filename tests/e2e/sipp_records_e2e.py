#!/usr/bin/env python3
"""Live end-to-end test of call records (docs/records.md): SIPp calls through
sipwall-dataplane (net_af_packet on veths between two network namespaces,
records.enabled) and sipwall-control (records.enabled, SQLite store), as in
tests/e2e/sipp_e2e.py (same topology and helpers).

Four kinds of call, each from its own caller:

  * answered: 2 calls, INVITE / 200 / ACK / BYE (uac.xml, uas.xml);
  * rejected: 1 call from a listed caller, answered 608 by sipwall;
  * cancelled: 2 calls, INVITE / 180 from the callee's side / CANCEL after
    1 s / 487 (uac_onering.xml, uas_onering.xml);
  * dropped: 1 call a rule drops (the INVITE never reaches the callee).

Then `sipwallctl calls --caller N --format json` for each caller (written
in another form than the rule file's, so the dial plan is applied) returns
exactly that caller's calls, each with its Call-ID, verdict and outcome:
"answered, talk ..." with final code 200, "rejected 608 by sipwall",
"cancelled after ringing" with final code 487, "dropped by sipwall".
`--callee` finds a call by its callee, and the JSON lines file has both
records of an answered call. Then the complaint workflow of
docs/operations.md: `sipwallctl capture --caller` records the caller's next
call into a pcapng (INVITE, 200, BYE: tshark reads it), the number goes on
the list in a staged rule file, and `sipwallctl rules explain` on the capture
passes it with the running set and rejects it with the staged one. detection.linger_ms is 500 ms so an ended call
leaves the call table (and its outcome record is written) within the test.

Needs root (namespaces, DPDK); exits 77 (skipped) otherwise. Bounded: 6
calls and about half a minute.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sipp_e2e as e2e  # noqa: E402
from sipp_detect_e2e import sipp_sequential  # noqa: E402

ANSWERED, REJECTED, CANCELLED, DROPPED = "+8613800001001", "+8613800002002", "+8613800003003", "+8613800004004"
RULES = """\
version: "e2e-records.1"
name: e2e-records
dial_plan:
  preset: china
lists:
  harassment:
    entries: ["%s"]
  robocallers:
    entries: ["%s"]
defaults:
  action: pass
rules:
  - id: harassment
    match: {caller: {in: harassment}}
    action:
      reject: {code: 608, reason: Harassment}
  - id: robocall
    match: {caller: {in: robocallers}}
    action: drop
""" % (REJECTED, DROPPED)


def national(n):
    """+8613800001001 -> 13800001001: how a complaint desk writes it."""
    return n[3:]


def calls_of(run, *args):
    rc, out, err = run.ctl("calls", *args, "--format", "json", "--limit", "100")
    rows = [json.loads(x) for x in out.splitlines() if x.strip()]
    return rc, rows, err


def run_test(run):
    t = run.topo
    check, wait_for = e2e.check, e2e.wait_for
    print("== network: namespaces %s / %s, veth %s / %s" % (t.ns_uac, t.ns_uas, t.dp_trunk, t.dp_core))
    t.up()
    run.setup()
    records_sock = run.path("records.sock")
    with open(run.path("dataplane.yaml"), "a") as f:
        f.write("records: {enabled: true, socket: %s}\ndetection: {linger_ms: 500}\n" % records_sock)
    jsonl = run.path("records.jsonl")
    with open(run.path("control.yaml"), "a") as f:
        f.write("records: {enabled: true, socket: %s, database: %s, group: \"\", jsonl: %s}\n"
                % (records_sock, run.path("calls.db"), jsonl))
    with open(run.rules, "w") as f:
        f.write(RULES)
    run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c", run.path("dataplane.yaml")])
    wait_for("the data plane's control socket", lambda: os.path.exists(run.dp_sock), 30)
    run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", run.path("control.yaml")])
    wait_for("sipwall-control to load the rule set",
             lambda: (run.dp("status").get("ruleset") or {}).get("version") == "e2e-records.1", 60)
    wait_for("sipwall-control to connect to the records socket",
             lambda: (run.ctl_status().get("records") or {}).get("connected") is True, 30)

    uas = run.start("uas", ["sipp", "-sf", os.path.join(HERE, "uas.xml"), "-i", t.ip_uas, "-p", "5060",
                            "-trace_logs", "-log_file", run.path("uas-calls.log"), "-nostdin"], ns=t.ns_uas)
    time.sleep(1.0)
    print("== answered and rejected calls")
    plan = [(ANSWERED, "+8613900001001", "e2e-rec"), (ANSWERED, "+8613900001002", "e2e-rec"),
            (REJECTED, "+8613900002001", "e2e-rec")]
    rc, stat, placed = run.sipp_uac("answered", plan, rate=5, max_calls=len(plan), timeout_s=60)
    codes = {c["caller"]: [] for c in placed}
    for c in placed:
        codes[c["caller"]].append(c["code"])
    check(codes.get(ANSWERED) == [200, 200] and codes.get(REJECTED) == [608],
          "two calls answered, the listed caller rejected 608 (%s)" % codes)
    answered_ids = sorted(c["call_id"] for c in placed if c["caller"] == ANSWERED)
    rejected_ids = [c["call_id"] for c in placed if c["caller"] == REJECTED]

    print("== cancelled (one-ring) and dropped calls")
    run.stop(uas)
    run.start("uas-ring", ["sipp", "-sf", os.path.join(HERE, "uas_onering.xml"), "-i", t.ip_uas, "-p", "5060",
                           "-trace_logs", "-log_file", run.path("uas-ring.log"), "-nostdin"], ns=t.ns_uas)
    time.sleep(1.0)
    ring = sipp_sequential(run, "ring", "uac_onering.xml",
                           [(CANCELLED, "+8613900003001", "e2e-rec"), (CANCELLED, "+8613900003002", "e2e-rec"),
                            (DROPPED, "+8613900004001", "e2e-rec")], timeout_s=60)
    by = {}
    for c in ring:
        by.setdefault(c["caller"], []).append(c)
    check([c["code"] for c in by.get(CANCELLED, [])] == [487, 487] and
          [c["code"] for c in by.get(DROPPED, [])] == [0],
          "two calls rang and were cancelled (487), the robocaller's INVITE was dropped (%s)"
          % {k: [c["code"] for c in v] for k, v in by.items()})
    cancelled_ids = sorted(c["call_id"] for c in by.get(CANCELLED, []))
    dropped_ids = [c["call_id"] for c in by.get(DROPPED, [])]

    print("== sipwallctl calls")

    def settled():
        _, rows, _ = calls_of(run, "--caller", national(ANSWERED))
        _, rows2, _ = calls_of(run, "--caller", national(CANCELLED))
        return len(rows) == 2 and len(rows2) == 2 and all(r["outcome"] != "in progress" for r in rows + rows2)

    wait_for("the outcome records of the answered and cancelled calls", settled, 30, 0.5)
    rc, rows, err = calls_of(run, "--caller", national(ANSWERED))
    check(rc == 0 and sorted(r["call_id"] for r in rows) == answered_ids,
          "answered: exactly the caller's two calls (%s)" % [r.get("call_id") for r in rows])
    check(all(r["action"] == "pass" and r["outcome"].startswith("answered, talk") and r.get("final_code") == 200
              and r.get("answered") is True and r["caller"] == ANSWERED for r in rows),
          "answered: verdict pass, outcome answered with talk time, final 200 (%s)"
          % [(r["action"], r["outcome"], r.get("final_code")) for r in rows])
    rc, rows, err = calls_of(run, "--caller", national(REJECTED))
    check(rc == 0 and [r["call_id"] for r in rows] == rejected_ids and rows[0]["action"] == "reject"
          and rows[0]["outcome"] == "rejected 608 by sipwall" and rows[0]["rule"] == "harassment",
          "rejected: the one call, rejected 608 by rule harassment (%s)"
          % [(r["action"], r["outcome"], r["rule"]) for r in rows])
    rc, rows, err = calls_of(run, "--caller", national(CANCELLED))
    check(rc == 0 and sorted(r["call_id"] for r in rows) == cancelled_ids
          and all(r["outcome"] == "cancelled after ringing" and r.get("final_code") == 487
                  and r.get("cancelled") is True and r.get("ringing") is True for r in rows),
          "cancelled: both calls, cancelled after ringing, final 487 (%s)"
          % [(r["outcome"], r.get("final_code")) for r in rows])
    rc, rows, err = calls_of(run, "--caller", national(DROPPED))
    check(rc == 0 and [r["call_id"] for r in rows] == dropped_ids and rows[0]["outcome"] == "dropped by sipwall"
          and rows[0]["rule"] == "robocall",
          "dropped: the one call, dropped by rule robocall (%s)" % [(r["outcome"], r["rule"]) for r in rows])
    rc, rows, err = calls_of(run, "--callee", "008613900003002")
    check(rc == 0 and len(rows) == 1 and rows[0]["callee"] == "+8613900003002" and rows[0]["call_id"] in cancelled_ids,
          "--callee in the 00 form finds the one call to +8613900003002 (%s)"
          % [(r.get("callee"), r.get("call_id")) for r in rows])
    rc, rows, err = calls_of(run, "--caller", "+8613800009999")
    check(rc != 0 or rows == [], "a caller with no calls: nothing (%d, %s)" % (rc, rows))

    lines = [json.loads(x) for x in open(jsonl) if x.strip()]
    check(sum(1 for x in lines if x.get("kind") == "invite") == 6,
          "records.jsonl: one invite record per call (%d lines)" % len(lines))
    check(sum(1 for x in lines if x.get("kind") == "outcome") >= 4,
          "records.jsonl: an outcome record for each answered and cancelled call")
    mode = os.stat(run.path("calls.db")).st_mode & 0o777
    check(mode == 0o640, "the store is 0640 (%o)" % mode)
    s = run.dp("stats")
    check(s["counters"]["call_records"] >= 6 and s["counters"]["call_records_dropped"] == 0,
          "data plane: records written (%d), none dropped" % s["counters"]["call_records"])
    # Outcome records of calls that leave the table later may still be in a
    # batch (200 ms): wait for the quiet state, which must come.
    def settled():
        r = run.ctl_status()["records"]
        return r if r.get("waiting") == 0 and r.get("stored") == r.get("received") else None
    rec = wait_for("sipwall-control to store every record received (records.waiting 0)", settled, 15)
    check(rec["stored"] >= 6 and rec["store_errors"] == 0, "sipwall-control: records stored, none waiting (%s)" % rec)

    complaint_workflow(run, answered_ids)


def complaint_workflow(run, answered_ids):
    """docs/operations.md, "A complaint, end to end": the complaint names the
    answered caller. `sipwallctl calls` found its calls above (verdict pass,
    trunk, source); now a capture of its next call gives the evidence, the
    number goes on the list in a staged rule file, and `rules explain` on the
    capture shows that the new set rejects the call the running set passed."""
    check, wait_for = e2e.check, e2e.wait_for
    t = run.topo
    print("== the complaint workflow: calls -> capture -> list -> explain")
    _, rows, _ = calls_of(run, "--caller", national(ANSWERED), "--since", "1h")
    check(len(rows) == 2 and all(r["source"] == t.ip_uac and r["action"] == "pass" for r in rows),
          "calls: the complained-of caller's calls, their source %s and verdict pass (%s)"
          % (t.ip_uac, [(r.get("source"), r.get("action")) for r in rows]))
    run.stop([p for p in run.procs if p.name == "uas-ring"][0])
    run.start("uas-again", ["sipp", "-sf", os.path.join(HERE, "uas.xml"), "-i", t.ip_uas, "-p", "5060",
                            "-trace_logs", "-log_file", run.path("uas-again.log"), "-nostdin"], ns=t.ns_uas)
    pcap = run.path("complaint.pcapng")
    env = dict(os.environ, SIPWALL_DATAPLANE_SOCKET=run.dp_sock, SIPWALL_CONTROL_SOCKET=run.ctl_sock)
    cap = subprocess.Popen([os.path.join(run.bin, "sipwallctl"), "capture", "--caller", national(ANSWERED),
                            "--for", "6s", "-w", pcap], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env)
    wait_for("the capture's watch to be in force",
             lambda: any(w.get("kind") == "capture" for w in run.dp("watch-status").get("watches", [])), 10)
    rc, stat, placed = run.sipp_uac("complaint", [(ANSWERED, "+8613900001003", "e2e-rec")], rate=1, max_calls=1,
                                    timeout_s=30)
    check([c["code"] for c in placed] == [200], "the caller's next call passes and is answered (%s)"
          % [c["code"] for c in placed])
    out, _ = cap.communicate(timeout=30)
    check(cap.returncode == 0 and os.path.exists(pcap), "sipwallctl capture wrote %s (%s)" % (pcap, out.strip()))
    fields = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "sip.Call-ID", "-e", "sip.CSeq.method",
                             "-e", "sip.Status-Code"], capture_output=True, text=True, timeout=60).stdout.split("\n")
    seen = [f.split("\t") for f in fields if f.strip()]
    call_id = placed[0]["call_id"] if placed else ""
    check(seen and all(x[0] == call_id for x in seen) and any(x[1] == "INVITE" and not x[2] for x in seen)
          and any(x[2] == "200" for x in seen) and any(x[1] == "BYE" for x in seen),
          "the capture holds the call's INVITE, 200 and BYE, and no other call (%s)" % seen)
    staged = run.path("staged.yaml")
    with open(staged, "w") as f:
        f.write(RULES.replace('entries: ["%s"]' % REJECTED, 'entries: ["%s", "%s"]' % (REJECTED, ANSWERED))
                .replace("e2e-records.1", "e2e-records.2"))

    def explain(rules):
        r = subprocess.run([os.path.join(run.bin, "sipwallctl"), "rules", "explain", "--format", "json", "--rules",
                            rules, pcap], capture_output=True, text=True, timeout=60)
        return r.returncode, [json.loads(x) for x in r.stdout.splitlines() if x.strip()], r.stderr

    rc, now, err = explain(run.rules)
    check(rc == 0 and [(x["call_id"], x["action"]) for x in now] == [(call_id, "pass")],
          "explain with the running set: the captured INVITE passes (%s %s)" % (now, err))
    rc, new, err = explain(staged)
    check(rc == 0 and [(x["call_id"], x["action"], x["rule"]) for x in new] == [(call_id, "reject", "harassment")],
          "explain with the staged set (the number on the list): rejected by rule harassment (%s %s)" % (new, err))


if __name__ == "__main__":
    sys.exit(e2e.main(__doc__, run_test, tools=("sipp", "ip", "ethtool")))
