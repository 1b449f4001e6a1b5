#!/usr/bin/env python3
"""sipwall-control against a real sipwall-dataplane, end to end.

The data plane runs on two DPDK net_pcap ports replaying tests/data/sample.pcap
(no NIC, no hugepages); sipwall-control watches a copy of the demo rule set.
Checked, each with a bounded wait:
  * /metrics over real HTTP passes `promtool check metrics`, and its counters
    equal the data plane's `stats`;
  * the trace log has one record per INVITE the sample expects to be blocked,
    tagged or traced, and `sipwallctl trace --caller 013800138000` finds them;
  * editing the YAML in two writes (pause shorter than the debounce) reloads
    exactly once and the new version runs within 2 s;
  * a broken edit is refused: status shows file:line:col, the failure counter
    goes up by one, the data plane keeps its version;
  * rollback restores the previous version; history lists it all;
  * sipwallctl's exit codes for bad arguments and unreachable sockets;
  * with the data plane gone, /metrics says sipwall_dataplane_up 0 and still
    passes promtool; SIGTERM stops sipwall-control cleanly.
Every process started here is stopped in `finally`, also on failure.

Needs root (DPDK). Exit status: 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE).
  control_integration.py --bin build/bin --source .
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("  ok: " + what, flush=True)


def wait_for(what, fn, timeout, interval=0.05):
    """Polls fn() until it returns a true value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as e:  # a socket not there yet, a half-written file
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise Failure("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))


def unix_request(path, req, timeout=5):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text):
    """{'name{labels}': float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


class Run:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.tmp = tempfile.mkdtemp(prefix="sipwall-ctl-it-")
        self.procs = []
        self.dp_sock = os.path.join(self.tmp, "dataplane.sock")
        self.ctl_sock = os.path.join(self.tmp, "control.sock")
        self.rules = os.path.join(self.tmp, "rules", "demo.yaml")
        self.trace_dir = os.path.join(self.tmp, "trace")
        self.port = free_port()

    # -- processes ---------------------------------------------------------
    def start(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        p.name = name
        p.logfile = log
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        p.logfile.close()
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            try:
                self.stop(p)
            except Exception:
                traceback.print_exc()

    def ctl(self, *argv, timeout=60):
        r = subprocess.run([os.path.join(self.bin, "sipwallctl")] + list(argv), capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def sockets(self):
        return ["--dataplane-socket", self.dp_sock, "--control-socket", self.ctl_sock]

    def dp_status(self):
        return unix_request(self.dp_sock, {"v": 1, "cmd": "status"})

    def dp_stats(self):
        return unix_request(self.dp_sock, {"v": 1, "cmd": "stats"})

    def ctl_status(self):
        return unix_request(self.ctl_sock, {"v": 1, "cmd": "status"})

    def metrics_text(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
            check_ct = r.headers.get("Content-Type", "")
            assert check_ct.startswith("text/plain"), check_ct
            return r.read().decode()

    def promtool(self, text):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def write_rules(self, text, split_pause=None):
        """Writes the rule file in place; with split_pause, in two writes with a pause between."""
        with open(self.rules, "w") as f:
            if split_pause is None:
                f.write(text)
            else:
                half = len(text) // 2
                f.write(text[:half])
                f.flush()
                os.fsync(f.fileno())
                time.sleep(split_pause)
                f.write(text[half:])

    # -- set-up ------------------------------------------------------------
    def setup(self):
        shutil.copytree(os.path.join(self.src, "rules", "examples", "lists"), os.path.join(self.tmp, "rules", "lists"))
        shutil.copy(os.path.join(self.src, "rules", "examples", "demo.yaml"), self.rules)
        self.demo_text = open(self.rules).read()
        assert 'version: "2024-06-01.1"' in self.demo_text
        # The data plane starts with the demo set already compiled, so the
        # sample is filtered from its first packet.
        initial = os.path.join(self.tmp, "initial.swr")
        rc, out, err = self.ctl("rules", "compile", self.rules, "-o", initial)
        check(rc == 0, "sipwallctl rules compile the demo set (%s)" % err.strip()[:200])
        sample = os.path.join(self.src, "tests", "data", "sample.pcap")
        with open(os.path.join(self.tmp, "dataplane.yaml"), "w") as f:
            f.write("""eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 256
  no_huge: true
  no_pci: true
  file_prefix: swctl%d
  extra: ["--no-shconf", "--log-level=lib.eal:warning"]
  vdevs:
    - "net_pcap0,rx_pcap=%s,tx_pcap=%s/trunk-out.pcap"
    - "net_pcap1,tx_pcap=%s/core-out.pcap"
ports:
  - {name: trunk, device: net_pcap0, role: trunk}
  - {name: core, device: net_pcap1, role: core}
pairs:
  - [trunk, core]
workers:
  lcores: [1]
ruleset:
  artifact: %s
  state_dir: %s/state
control:
  socket: %s
run:
  stop_when_idle_ms: 0
""" % (os.getpid(), sample, self.tmp, self.tmp, initial, self.tmp, self.dp_sock))
        with open(os.path.join(self.tmp, "control.yaml"), "w") as f:
            f.write("""rules:
  file: %s
  debounce_ms: 300
store:
  dir: %s/store
  keep: 5
dataplane:
  socket: %s
  poll_interval_ms: 200
control:
  socket: %s
metrics:
  listen: 127.0.0.1:%d
trace:
  dir: %s
  max_bytes: 1048576
  keep: 3
log:
  level: debug
""" % (self.rules, self.tmp, self.dp_sock, self.ctl_sock, self.port, self.trace_dir))


def expected_traces(src):
    """call_id -> (action, reject code) for every INVITE of the sample that
    yields a trace record (every final action but pass, and trace rules)."""
    out = {}
    with open(os.path.join(src, "tests", "data", "sample.expected.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            packet, expected = line.split("\t")[:2]
            action = {"reject-608": ("reject", 608), "reject-603": ("reject", 603), "drop": ("drop", None),
                      "tag": ("tag", None), "trace": ("trace", None)}.get(expected)
            if action:
                out["demo-%03d@sipwall.example" % int(packet)] = action
    return out


def run_guarded(run, body, logs=("dataplane", "control"), tail=40, before_stop=None):
    """The end of every control test's main(): runs body(); whatever happens,
    stops every process `run` started (before_stop() first, if given), prints
    the last `tail` lines of run.tmp/NAME.log for each of `logs` (a list, or
    a function that returns one) on failure,
    removes run.tmp unless the test failed and SIPWALL_KEEP_TMP is set. Prints
    PASS or FAILED; returns the exit code."""
    ok = False
    try:
        body()
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        if before_stop:
            before_stop()
        run.stop_all()
        if not ok:
            for name in logs() if callable(logs) else logs:
                path = os.path.join(run.tmp, name + ".log")
                if os.path.exists(path):
                    print("---- %s log (last %d lines) ----" % (name, tail))
                    print("".join(open(path, errors="replace").readlines()[-tail:]))
        if ok or not os.environ.get("SIPWALL_KEEP_TMP"):
            shutil.rmtree(run.tmp, ignore_errors=True)
        else:
            print("kept " + run.tmp)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


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
    if not shutil.which("promtool"):
        print("FAIL: promtool (Debian package prometheus) is missing")
        return 1

    run = Run(args)

    def body():
        run.setup()
        test(run)
    return run_guarded(run, body)


def test(run):
    print("== start sipwall-dataplane on net_pcap (sample.pcap) and sipwall-control")
    dp = run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c",
                                 os.path.join(run.tmp, "dataplane.yaml")])
    wait_for("the data plane's socket", lambda: dp.poll() is None and run.dp_status()["ok"], 30)
    wait_for("the sample replayed (35 frames)", lambda: run.dp_stats()["counters"]["rx_packets"] == 35, 15)
    check(run.dp_status()["ruleset"]["version"] == "2024-06-01.1", "data plane runs the demo set 2024-06-01.1")

    ctl = run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", os.path.join(run.tmp, "control.yaml")])
    st = wait_for("sipwall-control's start-up load", lambda: (lambda s: s if s["last_reload"] else None)(
        run.ctl_status()), 30)
    check(st["last_reload"]["result"] == "unchanged",
          "start-up: the compiled set equals the running one, no reload (%s)" % st["last_reload"]["result"])
    check(run.dp_stats()["reloads"]["ok"] == 1, "data plane loaded once (at its start)")

    print("== trace log")
    expected = expected_traces(run.src)
    trace_file = os.path.join(run.trace_dir, "trace.jsonl")

    def records():
        if not os.path.exists(trace_file):
            return None
        recs = [json.loads(l) for l in open(trace_file) if l.strip()]
        return recs if len(recs) >= len(expected) else None
    recs = wait_for("%d trace records" % len(expected), records, 10)
    time.sleep(0.5)  # a straggler would show up now
    recs = records()
    by_call = {}
    for r in recs:
        by_call.setdefault(r["call_id"], []).append(r)
    check(len(recs) == len(expected) and set(by_call) == set(expected),
          "one trace record per blocked/tagged/traced INVITE of the sample (%d)" % len(expected))
    for cid, (action, code) in expected.items():
        r = by_call[cid][0]
        if r["action"] != action or r["reject_code"] != code:
            raise Failure("%s: trace says %s %s, sample expects %s %s" % (cid, r["action"], r["reject_code"], action,
                                                                           code))
    check(True, "every record has the expected action and reject code")
    r = by_call["demo-002@sipwall.example"][0]
    for field in ("time", "in_port", "src_ip", "src_port", "dst_ip", "dst_port", "transport", "trunk", "call_id",
                  "caller", "callee", "rule_id", "ruleset_version", "action", "reject_code"):
        if field not in r:
            raise Failure("trace record lacks %s: %r" % (field, r))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) is not None,
          "time is ISO 8601 UTC with milliseconds (%s)" % r["time"])
    check(r["in_port"] == "trunk" and r["trunk"] == "peer-a" and r["rule_id"] == "harassment-callers"
          and r["caller"] == "+8613800138000", "record of demo-002: port, trunk, rule, caller")

    want = sorted(x["call_id"] for x in recs if x["caller"] == "+8613800138000")
    rc, out, err = run.ctl("trace", "--caller", "013800138000", "--json", "--control-socket", run.ctl_sock)
    got = sorted(json.loads(l)["call_id"] for l in out.splitlines() if l.strip())
    check(rc == 0 and want and got == want,
          "sipwallctl trace --caller 013800138000 finds the %d records of +8613800138000" % len(want))
    rc, out, err = run.ctl("trace", "--caller", "+86 138-0013-8000", "--rule", "harassment-callers",
                           "--since", "1h", "--control-socket", run.ctl_sock)
    check(rc == 0 and sum("demo-0" in l for l in out.splitlines()) == len(want), "the same as a table, with --rule/--since")
    rc, out, err = run.ctl("trace", "--caller", "13999999999", "--control-socket", run.ctl_sock)
    check(rc == 1 and "no matching trace records" in err, "no match: exit 1")
    rc, out, err = run.ctl("trace", "--call-id", "demo-011@sipwall.example", "--json", "--trace-dir", run.trace_dir)
    check(rc == 0 and json.loads(out)["action"] == "drop", "--call-id with --trace-dir (no socket needed)")

    print("== /metrics")
    text = run.metrics_text()
    rc, msg = run.promtool(text)
    check(rc == 0, "promtool check metrics passes (%s)" % msg.strip()[:300])
    m = parse_metrics(text)
    stats = run.dp_stats()
    mismatches = []

    def same(key, value):
        if m.get(key) != float(value):
            mismatches.append("%s: metrics %s, stats %s" % (key, m.get(key), value))
    for name, v in stats["counters"].items():
        # A level in the data plane's counter list (its help says "gauge", e.g. held) has no _total.
        same("sipwall_%s" % name if ("# TYPE sipwall_%s gauge" % name) in text else "sipwall_%s_total" % name, v)
    for p in stats["ports"]:
        same('sipwall_port_rx_packets_total{port="%s"}' % p["name"], p["rx_packets"])
        same('sipwall_port_tx_bytes_total{port="%s"}' % p["name"], p["tx_bytes"])
    for action, v in stats["verdicts"].items():
        same('sipwall_invites_traced_total' if action == "trace" else
             'sipwall_invite_verdicts_total{action="%s"}' % action, v)
    actions = sum(v for k, v in m.items() if k.startswith("sipwall_invite_verdicts_total{"))
    check(actions == m["sipwall_invites_total"] - m["sipwall_no_ruleset_total"],
          "the final actions sum to the INVITEs classified (%s)" % actions)
    for reason, v in stats["parse_errors"].items():
        same('sipwall_parse_errors_total{reason="%s"}' % reason, v)
    for r in stats["rules"]:
        same('sipwall_rule_hits_total{rule_id="%s"}' % r["id"], r["hits"])
    for t in stats["trunks"]:
        same('sipwall_trunk_invites_total{trunk="%s"}' % t["name"], t["invites"])
    same('sipwall_dataplane_reloads_total{result="success"}', stats["reloads"]["ok"])
    check(not mismatches, "every counter in /metrics equals the data plane's stats (%s)" % "; ".join(mismatches[:5]))
    check(m["sipwall_rx_packets_total"] == 35 and m['sipwall_invite_verdicts_total{action="reject"}'] > 0,
          "the sample's 35 frames are counted")
    check(m.get('sipwall_ruleset_info{name="demo",version="2024-06-01.1",checksum="%s"}'
                % run.dp_status()["ruleset"]["checksum"]) == 1, "sipwall_ruleset_info names the running set")
    check(m.get("sipwall_dataplane_up") == 1 and m.get("sipwall_trace_records_written_total") == len(expected),
          "sipwall_dataplane_up 1, trace records written counted")
    check(not re.search(r'="\+?\d{7,15}"', text), "no phone number in any label")
    # Issue 17: each worker's load, the processes, units in names.
    burst_sum = sum(v for k, v in m.items() if k.startswith("sipwall_worker_rx_burst_packets_sum{"))
    polls = sum(v for k, v in m.items() if k.startswith("sipwall_worker_rx_burst_packets_count{"))
    busy = sum(v for k, v in m.items() if k.startswith("sipwall_worker_busy_seconds_total{"))
    idle = sum(v for k, v in m.items() if k.startswith("sipwall_worker_idle_seconds_total{"))
    check(burst_sum == 35 and polls > 0 and busy > 0 and idle > 0,
          "worker load: the bursts sum to the 35 frames, %d polls, busy %.4f s, idle %.2f s" % (polls, busy, idle))
    check(m.get("sipwall_held_segments") == m.get("sipwall_held") == 0, "sipwall_held_segments (and the old name)")
    for comp in ("control", "dataplane"):
        check(m.get('process_resident_memory_bytes{component="%s"}' % comp, 0) > 0
              and m.get('process_open_fds{component="%s"}' % comp, 0) > 0
              and m.get('process_start_time_seconds{component="%s"}' % comp, 0) > 1.7e9,
              "process_* metrics of %s" % comp)

    print("== edit the YAML: two writes 100 ms apart (debounce 300 ms)")
    reloads0 = run.dp_stats()["reloads"]["ok"]
    rc, out, err = run.ctl("rules", "history", "--json", "--control-socket", run.ctl_sock)
    hist0 = len(json.loads(out))
    v2 = run.demo_text.replace('version: "2024-06-01.1"', 'version: "2024-06-01.2"')
    run.write_rules(v2, split_pause=0.1)
    t_saved = time.monotonic()
    wait_for("version 2024-06-01.2 running", lambda: run.dp_status()["ruleset"]["version"] == "2024-06-01.2", 5)
    took = time.monotonic() - t_saved
    check(took < 2.0, "the new version runs %.2f s after the save (< 2 s)" % took)
    time.sleep(1.0)  # long enough for a second, unwanted reload to show up
    check(run.dp_stats()["reloads"]["ok"] == reloads0 + 1, "the data plane loaded exactly once")
    rc, out, err = run.ctl("rules", "history", "--json", "--control-socket", run.ctl_sock)
    new = json.loads(out)[hist0:]
    check(len(new) == 1 and new[0]["result"] == "ok" and new[0]["trigger"] == "watch"
          and new[0]["version"] == "2024-06-01.2", "history: one reload (watch) ok")

    print("== a broken edit is refused")
    failed0 = run.ctl_status()["reloads"]["failed"]
    m0 = parse_metrics(run.metrics_text())
    broken = v2.replace("priority: 100", "priority: high")
    line = broken[:broken.index("priority: high")].count("\n") + 1
    run.write_rules(broken)
    st = wait_for("the failure in status", lambda: (lambda s: s if s["reloads"]["failed"] == failed0 + 1 else None)(
        run.ctl_status()), 5)
    where = "%s:%d:" % (run.rules, line)
    lr = st["last_reload"]
    check(lr["result"] == "failed" and lr["stage"] == "compile" and any(d.startswith(where) for d in lr["diagnostics"]),
          "status shows the error at %s<col>" % where)
    rc, out, err = run.ctl("status", *run.sockets())
    check(rc == 0 and re.search(re.escape(where) + r"\d+: 'priority' must be an integer", out) is not None,
          "sipwallctl status prints file:line:col")
    check(run.dp_status()["ruleset"]["version"] == "2024-06-01.2", "the data plane keeps 2024-06-01.2")
    m1 = wait_for("the failure in /metrics", lambda: (lambda x: x if x['sipwall_control_reloads_total{result="failure"}']
                  == m0['sipwall_control_reloads_total{result="failure"}'] + 1 else None)(
        parse_metrics(run.metrics_text())), 3)
    check(m1['sipwall_control_reload_failures_total{stage="compile"}']
          == m0['sipwall_control_reload_failures_total{stage="compile"}'] + 1, "failure counter +1 (stage compile)")
    rc, out, err = run.ctl("rules", "reload", "--control-socket", run.ctl_sock)
    check(rc == 1 and where in err, "sipwallctl rules reload: exit 1 and the error on stderr")

    print("== rollback")
    rc, out, err = run.ctl("rules", "rollback", "--json", "--control-socket", run.ctl_sock)
    r = json.loads(out) if out.strip() else {}
    check(rc == 0 and r.get("version") == "2024-06-01.1", "rollback: ok, 2024-06-01.1 (%s)" % err.strip())
    check(run.dp_status()["ruleset"]["version"] == "2024-06-01.1", "the data plane runs 2024-06-01.1 again")
    rc, out, err = run.ctl("rules", "rollback", "2024-06-01.2", "--control-socket", run.ctl_sock)
    check(rc == 0 and run.dp_status()["ruleset"]["version"] == "2024-06-01.2", "rollback 2024-06-01.2 by version")
    rc, out, err = run.ctl("rules", "rollback", "1999-01-01", "--control-socket", run.ctl_sock)
    check(rc == 1 and "no artifact" in err, "rollback to a version not in the store: exit 1")
    rc, out, err = run.ctl("rules", "history", "--control-socket", run.ctl_sock)
    check(rc == 0 and out.count("rollback") >= 2 and "failed" in out, "rules history lists reloads and rollbacks")

    print("== sipwallctl errors and exit codes")
    rc, out, err = run.ctl("nosuchcommand")
    check(rc != 0 and err, "unknown command: non-zero exit and a message")
    rc, out, err = run.ctl("statu")
    check(rc == 2 and "unknown command 'statu'; did you mean 'status'?" in err,
          "a mistyped command gets the closest one: exit 2 (%s)" % err.strip())
    rc, out, err = run.ctl("rules", "chek", "x.yaml")
    check(rc == 2 and "sipwallctl rules: unknown command 'chek'; did you mean 'check'?" in err,
          "a mistyped subcommand too (%s)" % err.strip())
    rc, out, err = run.ctl("stats", "--bogus")
    check(rc != 0 and err, "unknown option: non-zero exit")
    rc, out, err = run.ctl("status", "--timeout", "0")
    check(rc != 0 and "--timeout" in err and len(err) < 200,
          "--timeout 0: a short range message (%s)" % err.strip())
    rc, out, err = run.ctl("trace", "--control-socket", run.ctl_sock)
    check(rc == 2 and "at least one" in err, "trace without a filter: exit 2")
    rc, out, err = run.ctl("trace", "--caller", "1", "--since", "yesterday", "--control-socket", run.ctl_sock)
    check(rc == 2 and "--since" in err, "trace --since garbage: exit 2")
    rc, out, err = run.ctl("status", "--dataplane-socket", "/nonexistent/dp.sock", "--control-socket", run.ctl_sock)
    check(rc == 3 and "NOT REACHABLE" in out and "sipwall-control" in out, "status, data plane unreachable: exit 3")
    rc, out, err = run.ctl("rules", "reload", "--control-socket", "/nonexistent/c.sock")
    check(rc == 3, "rules reload, control unreachable: exit 3")
    rc, out, err = run.ctl("stats", "--json", "--dataplane-socket", run.dp_sock)
    check(rc == 0 and json.loads(out)["counters"]["rx_packets"] == 35, "stats --json")
    rc, out, err = run.ctl("stats", "--dataplane-socket", run.dp_sock)
    check(rc == 0 and "harassment-callers" in out and "trunk" in out, "stats table")
    for sub in (["status"], ["stats"], ["trace"], ["rules", "reload"], ["rules", "rollback"], ["rules", "history"]):
        rc, out, err = run.ctl(*(sub + ["--help"]))
        if rc != 0 or "--" not in out:
            raise Failure("sipwallctl %s --help" % " ".join(sub))
    check(True, "--help for every live command")

    print("== the data plane goes away")
    check(run.stop(dp) == 0, "sipwall-dataplane stopped by SIGTERM")
    m = wait_for("sipwall_dataplane_up 0", lambda: (lambda x: x if x.get("sipwall_dataplane_up") == 0 else None)(
        parse_metrics(run.metrics_text())), 5)
    check("sipwall_control_reloads_total{result=\"success\"}" in m and "sipwall_forwarded_total" not in m,
          "the control's own metrics stay, the data plane's go")
    rc, msg = run.promtool(run.metrics_text())
    check(rc == 0, "promtool still passes (%s)" % msg.strip()[:200])
    rc, out, err = run.ctl("status", *run.sockets())
    check(rc == 3 and "DOWN" in out, "status: data plane DOWN, exit 3")

    print("== SIGTERM")
    t0 = time.monotonic()
    rc = run.stop(ctl)
    check(rc == 0 and time.monotonic() - t0 < 5, "sipwall-control exits 0 on SIGTERM")
    check(not os.path.exists(run.ctl_sock), "its socket is removed")


if __name__ == "__main__":
    sys.exit(main())
