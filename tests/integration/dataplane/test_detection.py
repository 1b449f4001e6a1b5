#!/usr/bin/env python3
"""Behavioural detection in the data plane (docs/detection.md), on net_pcap.

A call bomber (tests/data/make_behaviour_pcap.py: one caller calls one callee
12 times) is replayed on the trunk port, with a rule set whose `bombing`
detector blocks a caller+callee pair over 10 INVITEs in 60 s (held 10 min),
and a `busy-caller` detector in report mode (over 5 INVITEs of one caller).

Checks:
  * INVITEs 1..10 reach the core; the 11th and 12th are answered 608 on the
    trunk side and do not (the detector fires on the INVITE that crosses);
  * the 6th..10th pass although busy-caller is over its threshold (report
    mode), and are traced with `"report": true`;
  * trace records of the 11th and 12th carry the detector, its count in the
    window (11, 12), level block;
  * `detections` (control socket and `sipwallctl detections`) lists the
    held pair as numbers, with count 12, level block, action reject, expiry
    10 minutes after the fire, and the report-mode key; `detections lift`
    releases a key and resets its counts on the worker; a bad key and an
    unknown detector are refused;
  * `stats` has per-detector figures (fires, hits, report hits) and the
    call-table size; the core port's responses (replayed there) are parsed
    for the call table (`core_sip_parsed`) and forwarded untouched; the
    counters add up as in every run;
  * a reload that changes only a rule keeps the detectors' state (the pair
    is still held, its count still 12); one that changes the bombing
    detector's threshold starts that detector empty (the hold is gone); one
    that takes busy-caller out of report mode keeps its state (report mode is
    not part of a detector's definition) and its held key is now acted on;
  * `sipwallctl rules explain --format json` on the full capture (responses
    from the core side included) names the same calls, on the capture's
    clock: the 11th INVITE is the first one the detector decided.
"""
import json
import os
import subprocess
import time

import harness as h

BOMBER, BOMBED = "+8613800001111", "+8613900002222"
RULES = """\
version: "it-detect.1"
name: it-detect
dial_plan: {preset: china}
defaults: {action: pass}
detectors:
  - name: bombing
    key: caller_callee
    count: invites
    window: 60s
    block: 10
    block_for: 10m
  - name: busy-caller
    key: caller
    count: invites
    window: 60s
    block: 5
    report: true
rules:
  - id: stop-bombing
    match: {detector: bombing}
    action:
      reject: {code: 608, reason: "Call bombing"}
  - id: watch-busy
    match: {detector: busy-caller}
    action: drop
"""


def bomb(n):
    return f"bomb-{n:02d}@sipwall.example"


def iso_ms(text):
    """Milliseconds since the epoch of "2026-12-07T05:55:27.920Z"."""
    import datetime
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


def invites(t, path):
    """Call-IDs of the INVITEs in a pcap, in order."""
    return [f["sip.Call-ID"] for f in h.tshark_fields(t, path, ["sip.Call-ID", "sip.Method"])
            if f["sip.Method"] == "INVITE"]


def main():
    with h.Test("detection", __doc__) as t:
        src = t.args.source_dir
        art = t.compile_rules("detect", RULES)
        gen = os.path.join(src, "tests", "data", "make_behaviour_pcap.py")
        rx = t.path("bomber-requests.pcap")
        core_rx = t.path("bomber-responses.pcap")
        full = t.path("bomber-full.pcap")
        subprocess.run(["python3", gen, "--requests-only", rx], check=True, capture_output=True)
        subprocess.run(["python3", gen, "--responses-only", core_rx], check=True, capture_output=True)
        subprocess.run(["python3", gen, full], check=True, capture_output=True)
        sp = h.sippcap()
        sent = len(sp.read_pcap(rx))
        t.eq(sent, 24, "the bomber capture: 12 INVITEs and their ACKs")
        core_sent = len(sp.read_pcap(core_rx))
        t.eq(core_sent, 24, "the core side: 100 Trying and 486 Busy for each")
        same = t.compile_rules("detect-same", RULES.replace("it-detect.1", "it-detect.2").replace(
            "action: drop", "action: {tag: {score: 10}}"))
        changed = t.compile_rules("detect-changed", RULES.replace("it-detect.1", "it-detect.3").replace(
            "block: 10\n", "block: 50\n"))
        enforcing = t.compile_rules("detect-enforcing", RULES.replace("it-detect.1", "it-detect.4").replace(
            "block: 10\n", "block: 50\n").replace("    report: true\n", ""))

        trunk_out, core_out = t.path("trunk-out.pcap"), t.path("core-out.pcap")
        ports = [("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk"),
                 ("core", f"net_pcap1,rx_pcap={core_rx},tx_pcap={core_out}", "core")]
        with h.Dataplane(t, "dp", ports, artifact=art) as dp:
            dp.start()
            dp.wait_rx(sent + core_sent)
            time.sleep(0.3)  # a few merges

            d = dp.request({"v": 1, "cmd": "detections"})
            t.check(d.get("ok"), f"detections: {d}")
            rows = {x["detector"]: x for x in d.get("detections", [])}
            t.eq(sorted(rows), ["bombing", "busy-caller"], f"two held keys: {rows}")
            if "bombing" in rows:
                r = rows["bombing"]
                t.eq(r["detector"], "bombing", "detections: detector")
                t.eq(r["key"], f"{BOMBER} -> {BOMBED}", "detections: the key as numbers")
                t.eq(r["count"], 12, "detections: count in the window")
                t.eq(r["level"], "block", "detections: level")
                t.eq(r["action"], "reject", "detections: the action taken")
                t.check(595 <= r.get("expires_in_s", 0) <= 600, f"detections: held 10 min: {r}")
                # From the INVITE that crossed to the hold every worker reads: at most
                # fired - first report (the 2nd INVITE, a millisecond before the 11th).
                delay_ms = (iso_ms(r["fired"]) - iso_ms(r["first_seen"]))
                print(f"crossing -> published hold: <= {delay_ms} ms (merge every {d.get('merge_ms')} ms)")
                t.check(0 <= delay_ms <= 200, f"the hold was published within 200 ms of the crossing: {delay_ms} ms")
            if "busy-caller" in rows:
                # Report mode holds and shows like any detector, and says what it would do.
                r = rows["busy-caller"]
                t.eq((r["key"], r["report_only"], r["action"]), (BOMBER, True, "report (would drop)"),
                     "detections: the report-mode key")
                t.check(r.get("expires_in_s", 99) <= 1.0, f"no block_for: held while over (1 s grace): {r}")

            cli = subprocess.run([t.args.sipwallctl, "detections", "--dataplane-socket", dp.socket],
                                 capture_output=True, text=True, timeout=30)
            t.eq(cli.returncode, 0, f"sipwallctl detections: {cli.stderr}")
            t.check("bombing" in cli.stdout and f"{BOMBER} -> {BOMBED}" in cli.stdout and "reject" in cli.stdout,
                    f"sipwallctl detections shows the row:\n{cli.stdout}")

            st = dp.stats()
            det = {x["name"]: x for x in st["detection"]["detectors"]}
            t.eq(det["bombing"]["hits"], 2, "stats: bombing decided 2 INVITEs")
            t.eq(det["bombing"]["fires"], 1, "stats: bombing fired once")
            t.eq(det["busy-caller"]["report_hits"], 5, "stats: busy-caller would have decided calls 6..10")
            t.eq(det["busy-caller"]["hits"], 0, "stats: report mode enforced nothing")
            t.eq(st["detection"]["calls"]["size"], 12, "stats: 12 calls followed")
            t.check(st["detection"]["memory_bytes"] > 0, "stats: detection memory reported")
            t.eq(st["counters"]["core_sip_parsed"], core_sent, "stats: every core-side response parsed")

            recs = dp.request({"v": 1, "cmd": "trace-drain"}).get("records", [])
            by_call = {r["call_id"]: r for r in recs}
            for n, count in ((11, 11), (12, 12)):
                r = by_call.get(bomb(n), {})
                t.eq(r.get("action"), "reject", f"trace of call {n}: action")
                t.eq(r.get("detector"), {"name": "bombing", "count": count, "level": "block", "report": False},
                     f"trace of call {n}: the detector's figures")
            for n in range(6, 11):
                r = by_call.get(bomb(n), {})
                t.eq((r.get("detector") or {}).get("report"), True, f"trace of call {n}: report mode")
                t.eq((r.get("detector") or {}).get("would"), "drop", f"trace of call {n}: what it would do")

            # Reloads: state kept for unchanged definitions, dropped for changed ones.
            r = dp.request({"v": 1, "cmd": "load", "artifact": same})
            t.check(r.get("ok"), f"load of the set with another rule: {r}")
            time.sleep(0.2)
            kept = {x["detector"]: x for x in dp.request({"v": 1, "cmd": "detections"}).get("detections", [])}
            t.eq((kept.get("bombing") or {}).get("count"), 12, "after a reload that kept it: bombing still holds, count 12")
            st = dp.stats()
            t.eq(st["detection"]["calls"]["size"], 12, "after the reload: the call table was taken over")
            det = {x["name"]: x for x in st["detection"]["detectors"]}
            t.eq((det["bombing"]["keys"], det["busy-caller"]["keys"]), (1, 1), "after the reload: the tables were taken over")

            r = dp.request({"v": 1, "cmd": "load", "artifact": changed})
            t.check(r.get("ok"), f"load of the set with bombing's threshold changed: {r}")
            time.sleep(0.2)
            det = {x["name"]: x for x in dp.stats()["detection"]["detectors"]}
            t.eq(det["bombing"]["keys"], 0, "a changed detector starts with empty tables")
            t.eq(det["busy-caller"]["keys"], 1, "an unchanged one keeps its keys")
            held = [x["detector"] for x in dp.request({"v": 1, "cmd": "detections"}).get("detections", [])]
            t.eq(held, ["busy-caller"], "the changed detector's hold went with its old definition")

            r = dp.request({"v": 1, "cmd": "load", "artifact": enforcing})
            t.check(r.get("ok"), f"load of the set with busy-caller out of report mode: {r}")
            time.sleep(0.2)
            det = {x["name"]: x for x in dp.stats()["detection"]["detectors"]}
            t.eq(det["busy-caller"]["keys"], 1, "report mode off: busy-caller kept its keys")
            rows = {x["detector"]: x for x in dp.request({"v": 1, "cmd": "detections"}).get("detections", [])}
            t.eq(((rows.get("busy-caller") or {}).get("report_only"), (rows.get("busy-caller") or {}).get("count")),
                 (False, 12), f"report mode off: the held key stays, now enforced, count 12: {rows}")

            bad = dp.request({"v": 1, "cmd": "detections-lift", "key": "not a number"})
            t.check(not bad.get("ok") and "is not a key" in bad.get("error", ""), f"lift of a bad key: {bad}")
            bad = dp.request({"v": 1, "cmd": "detections-lift", "key": BOMBER, "detector": "bomb\xff"})
            t.check(not bad.get("ok") and "no detector named" in bad.get("error", ""), f"unknown detector: {bad}")
            cli = subprocess.run([t.args.sipwallctl, "detections", "lift", BOMBER, "busy-caller", "--dataplane-socket",
                                  dp.socket], capture_output=True, text=True, timeout=30)
            t.eq(cli.returncode, 0, f"sipwallctl detections lift: {cli.stdout}{cli.stderr}")
            t.check("lifted 1 detection" in cli.stdout, f"lift output: {cli.stdout}")
            d = dp.request({"v": 1, "cmd": "detections"})
            t.eq(d.get("detections"), [], "nothing held after the lift")
            d = dp.request("detections-lift " + BOMBER)  # the text form, every detector
            t.check(d.get("ok"), f"detections-lift (text form): {d}")
            # The worker applies a lift at its next poll loop after the merged
            # set that carries it is published (within a merge period): wait
            # for it, bounded, rather than read stats in the same millisecond.
            keys = None
            for _ in range(100):
                keys = {x["name"]: x for x in dp.stats()["detection"]["detectors"]}["busy-caller"]["keys"]
                if keys == 0:
                    break
                time.sleep(0.02)
            t.eq(keys, 0, "the lift reset the key's counts on the worker (within 2 s)")

            rc = dp.stop()
            t.eq(rc, 0, "exit code after SIGTERM")
            stats = dp.final_stats()
        h.check_counters(t, "dp", stats, sent=sent, trunk_out=trunk_out, core_out=core_out, core_sent=core_sent)
        to_trunk = [f for f in h.tshark_fields(t, trunk_out, ["sip.Call-ID", "sip.Status-Code"])
                    if f["sip.Status-Code"] not in ("100", "486")]
        t.eq(len(h.tshark_fields(t, trunk_out, ["sip.Call-ID"])), 2 + core_sent,
             "the core's responses were forwarded to the trunk side, with the two 608s")
        t.eq(invites(t, core_out), [bomb(n) for n in range(1, 11)], "the INVITEs of calls 1..10 reached the core")
        t.eq(sorted((f["sip.Call-ID"], f["sip.Status-Code"]) for f in to_trunk),
             [(bomb(11), "608"), (bomb(12), "608")], "calls 11 and 12 were answered 608")

        # The same capture explained offline, with the core's responses, on its timestamps.
        ex = subprocess.run([t.args.sipwallctl, "rules", "explain", "--format", "json", "--rules",
                             t.path("detect.yaml"), full], capture_output=True, text=True, timeout=60)
        t.eq(ex.returncode, 0, f"rules explain: {ex.stderr}")
        lines = [json.loads(x) for x in ex.stdout.splitlines() if x.strip()]
        t.eq(len(lines), 12, "explain: one object per INVITE")
        decided = [(x["call_id"], x["action"], x["rule"], x["detector"]) for x in lines if x["detector"] == "bombing"]
        t.eq(decided, [(bomb(11), "reject", "stop-bombing", "bombing"), (bomb(12), "reject", "stop-bombing", "bombing")],
             "explain: the detector decided calls 11 and 12")
        if len(lines) == 12:
            t.eq(lines[10].get("detector_count"), 11, "explain: count 11 at the 11th INVITE")
            t.eq([x["action"] for x in lines[:10]], ["pass"] * 10, "explain: calls 1..10 pass")
            t.eq([x.get("report_only") for x in lines[5:10]], [True] * 5, "explain: 6..10 in report mode")


if __name__ == "__main__":
    main()
