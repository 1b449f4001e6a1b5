#!/usr/bin/env python3
"""sipwallctl's commands for operators' scripts and staging, against a real
sipwall-dataplane (net_pcap, tests/data/sample.pcap) and sipwall-control.

Checked:
  * `rules diff --running NEW`: a rule file staged in another folder (its
    lists read from the live folder with --lists-from) is compared with the
    rule file sipwall-control watches, from another working directory
    (sipwall-control's config names the rule file relative to its own);
  * `rules lookup NUMBER`: the lists, prefixes, rules and detections of the
    RUNNING set (the artifact the data plane loaded, checked by checksum)
    for a number in any written form, as a table and as JSON; its exit codes;
  * `status --format json` and `stats --format json`: one JSON document, also
    when a socket cannot be reached, and their exit codes;
Every process started here is stopped in `finally`, also on failure.

Needs root (DPDK). Exit status: 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE).
  ops_cli.py --bin build/bin --source .
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import SKIP, Failure, Run, check, wait_for  # noqa: E402


class OpsRun(Run):
    def setup(self):
        super().setup()
        # sipwall-control (working directory self.tmp) names its rule file
        # relative to itself; sipwallctl runs elsewhere.
        path = os.path.join(self.tmp, "control.yaml")
        text = open(path).read()
        assert ("file: %s\n" % self.rules) in text
        open(path, "w").write(text.replace("file: %s\n" % self.rules, "file: rules/demo.yaml\n"))
        self.cwd = tempfile.mkdtemp(prefix="sipwall-ops-cwd-")

    def ctl_at(self, *argv, timeout=60):
        """sipwallctl run from a folder that is neither the repository nor sipwall-control's."""
        r = subprocess.run([os.path.join(self.bin, "sipwallctl")] + list(argv), capture_output=True, text=True,
                           timeout=timeout, cwd=self.cwd)
        return r.returncode, r.stdout, r.stderr


def start(run):
    dp = run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c",
                                 os.path.join(run.tmp, "dataplane.yaml")])
    wait_for("the data plane's socket", lambda: dp.poll() is None and run.dp_status()["ok"], 30)
    wait_for("the sample replayed (35 frames)", lambda: run.dp_stats()["counters"]["rx_packets"] == 35, 15)
    run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", os.path.join(run.tmp, "control.yaml")])
    wait_for("sipwall-control's start-up load", lambda: run.ctl_status()["last_reload"], 30)


def test_diff_running(run):
    print("== rules diff --running: a staged file against the rule file sipwall-control watches")
    staging = os.path.join(run.tmp, "staging")
    os.mkdir(staging)
    new = os.path.join(staging, "new.yaml")
    with open(new, "w") as f:
        f.write(run.demo_text.replace('version: "2024-06-01.1"', 'version: "2024-06-01.2"')
                .replace("priority: 100", "priority: 150"))
    live = os.path.dirname(run.rules)
    rc, out, err = run.ctl_at("rules", "diff", "--running", new, "--lists-from", live,
                              "--control-socket", run.ctl_sock)
    check(rc == 0 and "version 2024-06-01.1 -> version 2024-06-01.2" in out
          and "harassment-callers: priority 100 -> 150" in out and "lists" not in out,
          "diff --running names the version and the priority change, lists unchanged (rc %d, %s %s)"
          % (rc, out.strip()[:300], err.strip()[:300]))
    rc, out, err = run.ctl_at("rules", "diff", "--running", new, "--control-socket", run.ctl_sock)
    check(rc == 1 and "staging/lists/" in err,
          "without --lists-from the staged file's lists are read beside it (and are not there): exit 1")
    rc, out, err = run.ctl_at("rules", "diff", "--running", new, new, "--control-socket", run.ctl_sock)
    check(rc == 2 and "only NEW" in err, "--running with two files: exit 2 (%s)" % err.strip())
    rc, out, err = run.ctl_at("rules", "diff", "--running", new, "--control-socket", os.path.join(run.tmp, "no.sock"))
    check(rc == 3, "--running, sipwall-control unreachable: exit 3")
    st = run.ctl_status()
    check(st["rules_file_path"] == run.rules and st["lists_dir"] == live,
          "status names the rule file as an absolute path and the lists folder")


def test_lookup(run):
    print("== rules lookup: one number in the running set")
    running = run.dp_status()["ruleset"]
    for written in ("013800138000", "+86 138-0013-8000", "tel:+8613800138000"):
        rc, out, err = run.ctl_at("rules", "lookup", written, "--format", "json", *run.sockets())
        j = json.loads(out) if rc == 0 else {}
        check(rc == 0 and j["number"] == "+8613800138000" and j["ruleset"]["checksum"] == running["checksum"]
              and [l["name"] for l in j["lists"] if l["origin"] == "list"] == ["harassment"]
              and [(r["as"], r["rule"], r["decides"]) for r in j["rules"]] == [("caller", "harassment-callers", True)]
              and j["verdicts"]["caller"] == {"action": "reject", "decided_by": "harassment-callers"}
              and j["detections"] == [],
              "lookup %r: list harassment, rule harassment-callers decides, running checksum (rc %d, %s)"
              % (written, rc, err.strip()[:300]))
    rc, out, err = run.ctl_at("rules", "lookup", "+8613800138000", "--trunk", "intl-gw", *run.sockets())
    check(rc == 0 and "intl-domestic-caller" in out and "prefix +86" in out and "from trunk intl-gw" in out,
          "--trunk intl-gw: the trunk's rule and the prefix that holds the number, as a table")
    rc, out, err = run.ctl_at("rules", "lookup", "110", "--format", "json", *run.sockets())
    check(rc == 0 and json.loads(out)["emergency"] is True, "110: an emergency number")
    rc, out, err = run.ctl_at("rules", "lookup", "13999999999", *run.sockets())
    check(rc == 1 and "rules: none" in out, "a number nothing holds: exit 1")
    rc, out, err = run.ctl_at("rules", "lookup", "alice", *run.sockets())
    check(rc == 2 and "not a number" in err, "not a number: exit 2 (%s)" % err.strip())
    rc, out, err = run.ctl_at("rules", "lookup", "110", "--trunk", "nope", *run.sockets())
    check(rc == 2 and "intl-gw" in err, "an unknown trunk: exit 2, the trunks named")
    rc, out, err = run.ctl_at("rules", "lookup", "110", "--dataplane-socket", os.path.join(run.tmp, "no.sock"))
    check(rc == 3, "data plane unreachable: exit 3")


def test_json_formats(run):
    print("== status and stats --format json")
    rc, out, err = run.ctl_at("status", "--format", "json", *run.sockets())
    j = json.loads(out)
    check(rc == 0 and j["dataplane"]["ruleset"]["version"] == "2024-06-01.1" and j["control"]["rules_file_path"]
          == run.rules, "status --format json: both replies in one document, exit 0")
    rc, out, err = run.ctl_at("status", "--format", "json", "--dataplane-socket", os.path.join(run.tmp, "no.sock"),
                              "--control-socket", run.ctl_sock)
    j = json.loads(out)
    check(rc == 3 and j["dataplane"] is None and j["dataplane_error"] and j["control"]["ok"],
          "status --format json, data plane unreachable: exit 3, still one document")
    rc, out, err = run.ctl_at("stats", "--format", "json", "--dataplane-socket", run.dp_sock)
    check(rc == 0 and json.loads(out)["counters"]["rx_packets"] == 35, "stats --format json: exit 0")
    rc, out, err = run.ctl_at("stats", "--format", "json", "--dataplane-socket", os.path.join(run.tmp, "no.sock"))
    check(rc == 3 and out == "", "stats --format json, unreachable: exit 3, nothing on stdout")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK EAL on net_pcap vdevs); run as root or via scripts/test.sh")
        return SKIP
    for tool in ("sipwall-dataplane", "sipwall-control", "sipwallctl"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            print("FAIL: %s/%s is not built" % (args.bin, tool))
            return 1
    run = OpsRun(args)
    ok = False
    try:
        run.setup()
        start(run)
        test_diff_running(run)
        test_lookup(run)
        test_json_formats(run)
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        run.stop_all()
        if not ok:
            for name in ("dataplane", "control"):
                path = os.path.join(run.tmp, name + ".log")
                if os.path.exists(path):
                    print("---- %s log (last 40 lines) ----" % name)
                    print("".join(open(path, errors="replace").readlines()[-40:]))
        for d in (run.tmp, getattr(run, "cwd", None)):
            if d and (ok or not os.environ.get("SIPWALL_KEEP_TMP")):
                shutil.rmtree(d, ignore_errors=True)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
