#!/usr/bin/env python3
"""Live end-to-end test: SIPp calls through sipwall in network namespaces.

    UAC (SIPp)  ns swuac*  10.77.0.1 ─veth─ swt* ┐
                                                 sipwall-dataplane (net_af_packet x2, --no-huge)
    UAS (SIPp)  ns swuas*  10.77.0.2 ─veth─ swc* ┘      ▲ load / stats / trace-drain
                                                 sipwall-control (watches rules/*.yaml + lists,
                                                 /metrics on loopback, trace log)

Phase 1, correctness: calls from clean, harassment, do-not-call and
suspected callers in several number formats. Blocked callers get 603/608 at
the UAC and never reach the UAS; clean calls complete (INVITE/200/ACK/BYE);
tagged calls reach the UAS with the X-Sipwall-Risk header (tshark on the UAS
side says so too).

Phase 2, reload under load: SIPp calls at a steady rate while the test adds
a caller to the harassment list file (saved in two writes, like an editor);
the change must take effect within 2 s, with zero failed or unexpected calls
and zero retransmissions (no lost packets) across the switch. Then a broken
YAML edit must be refused while traffic goes on under the running set.

Phase 3, what ops see: /metrics (promtool-valid) counts what SIPp sent and
received; the trace log holds one record per blocked call and
`sipwallctl trace --caller` finds them.

Everything runs as root (namespaces, DPDK); without root the test exits 77
(skipped) and says why. Every process and namespace is removed at the end,
also on failure. Bounded: ~320 calls, ~1 minute.
"""
import argparse
import csv
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netns  # noqa: E402

SKIP = 77

SWITCH_CALLER = "+8613911112222"
# Phase 1: (caller as written, callee as written, user agent, expected code at the UAC)
PHASE1 = [
    ("+8613512345678", "13600136000", "e2e-clean", 200),
    ("02161234567", "13600136001", "e2e-clean", 200),
    ("008613512340001", "+8613600136002", "e2e-clean", 200),
    ("13512340002", "13600136003", "e2e-clean", 200),
    ("+8613800138000", "13600136004", "e2e-harass", 608),
    ("013800138000", "13600136005", "e2e-harass", 608),
    ("008613900139000", "13600136006", "e2e-harass", 608),
    ("13900139000", "13600136007", "e2e-harass", 608),
    ("+8613512349999", "13700137000", "e2e-dnc", 603),
    ("+8613512349998", "+8613700137000", "e2e-dnc", 603),
    ("+8618600186000", "13600136008", "e2e-suspect", 200),
    ("18600186000", "13600136009", "e2e-suspect", 200),
]
SUSPECTED = {"+8618600186000", "18600186000"}
# Phase 2: callers cycled at a steady rate; SWITCH_CALLER becomes blocked mid-run.
PHASE2_CALLERS = ["+8613512345601", "+8613512345602", SWITCH_CALLER, "+8613512345603"]


class Failed(Exception):
    pass


# As deploy/examples/lab-af_packet.yaml: frames large enough for a datagram
# the kernel reassembled (docs/deploy.md); the two RX pools take ~124 MB.
AF_PACKET_RING = "framesz=61440,blocksz=61440,framecnt=256"

def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        raise Failed(what)


def wait_for(what, fn, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise Failed("timed out after %.0fs waiting for %s" % (timeout, what))


def unix_request(path, req, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall((json.dumps(req) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    finally:
        s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sipp_stats(stat_csv):
    """Last row of SIPp's -trace_stat CSV as a dict (cumulative columns end in (C))."""
    with open(stat_csv, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    head, last = rows[0], rows[-1]
    return {k: v for k, v in zip(head, last)}


def uac_log(path):
    """Lines '<call-id> <code> <caller> <callee> ...' in the order SIPp wrote them."""
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path, errors="replace"):
        f = line.split()
        if len(f) >= 4 and f[1].isdigit():
            out.append({"call_id": f[0], "code": int(f[1]), "caller": f[2], "callee": f[3]})
    return out


def uas_log(path):
    """call-id -> risk header value ('' if none) for every INVITE the UAS got."""
    got = {}
    if not os.path.exists(path):
        return got
    for line in open(path, errors="replace"):
        f = line.rstrip("\n").split(" ", 2)
        if len(f) >= 2 and f[1] == "INVITE":
            rest = f[2] if len(f) > 2 else ""
            got[f[0]] = rest.split(" X-Sipwall-Risk:")[0].strip()
    return got


def call_number(call_id):
    return int(call_id.split("-", 1)[0])


def parse_metrics(text):
    vals = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, v = line.rpartition(" ")
        vals[name] = float(v)
    return vals


class Run:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.keep = args.keep
        self.tmp = tempfile.mkdtemp(prefix="sipwall-e2e-")
        self.topo = netns.Topology()
        self.procs = []
        self.dp_sock = os.path.join(self.tmp, "dataplane.sock")
        self.ctl_sock = os.path.join(self.tmp, "control.sock")
        self.metrics_port = free_port()
        self.rules_dir = os.path.join(self.tmp, "rules")
        self.rules = os.path.join(self.rules_dir, "e2e.yaml")
        self.trace_dir = os.path.join(self.tmp, "trace")

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def start(self, name, argv, ns=None):
        full = (["ip", "netns", "exec", ns] if ns else []) + argv
        log = open(self.path(name + ".out"), "w")
        p = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        p.name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=10)

    def ctl(self, *argv, timeout=60):
        # The sockets through the environment: not every command takes both options.
        env = dict(os.environ, SIPWALL_DATAPLANE_SOCKET=self.dp_sock, SIPWALL_CONTROL_SOCKET=self.ctl_sock)
        r = subprocess.run([os.path.join(self.bin, "sipwallctl"), *argv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout, env=env)
        return r.returncode, r.stdout, r.stderr

    def dp(self, cmd, **kw):
        return unix_request(self.dp_sock, dict(v=1, cmd=cmd, **kw))

    def ctl_status(self):
        return unix_request(self.ctl_sock, {"v": 1, "cmd": "status"})

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port, timeout=10) as r:
            return r.read().decode()

    def write_file(self, path, text, split_pause=None):
        """Saves like an editor that writes in two steps (a half-written file exists
        for split_pause seconds): sipwall-control must not load the half."""
        with open(path, "w") as f:
            if split_pause is None:
                f.write(text)
                return
            half = len(text) // 2
            f.write(text[:half])
            f.flush()
            os.fsync(f.fileno())
            time.sleep(split_pause)
            f.write(text[half:])

    def sipp_uac(self, name, calls, rate, max_calls, timeout_s):
        """Runs the UAC in its namespace to completion; returns (rc, stat dict, log lines)."""
        inf = self.path(name + ".csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for caller, callee, ua in calls:
                f.write("%s;%s;%s\n" % (caller, callee, ua))
        stat = self.path(name + "-stat.csv")
        log = self.path(name + "-calls.log")
        argv = ["sipp", "%s:5060" % self.topo.ip_uas, "-sf", os.path.join(HERE, "uac.xml"), "-inf", inf,
                "-i", self.topo.ip_uac, "-p", "5060", "-m", str(max_calls), "-r", str(rate), "-rp", "1000",
                "-l", "200", "-trace_stat", "-stf", stat, "-fd", "1", "-trace_logs", "-log_file", log,
                "-timeout", "%ds" % timeout_s, "-timeout_error", "-nostdin", "-max_recv_loops", "1000"]
        r = subprocess.run(["ip", "netns", "exec", self.topo.ns_uac] + argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout_s + 30)
        open(self.path(name + ".out"), "w").write(r.stdout)
        return r.returncode, sipp_stats(stat), uac_log(log)

    def setup(self):
        os.makedirs(self.rules_dir)
        for f in glob.glob(os.path.join(HERE, "rules", "*")):
            shutil.copy(f, self.rules_dir)
        self.rules_text = open(self.rules).read()
        t = self.topo
        with open(self.path("dataplane.yaml"), "w") as f:
            f.write("""eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 512
  file_prefix: swe2e%d
  extra: ["--no-shconf", "--log-level=lib.eal:warning"]
  vdevs: ["net_af_packet0,iface=%s,%s", "net_af_packet1,iface=%s,%s"]
ports:
  - {name: trunk, device: net_af_packet0, role: trunk}
  - {name: core, device: net_af_packet1, role: core}
pairs: [[trunk, core]]
workers: {lcores: [1]}
ruleset: {state_dir: %s}
control: {socket: %s}
""" % (os.getpid(), t.dp_trunk, AF_PACKET_RING, t.dp_core, AF_PACKET_RING, self.path("state"), self.dp_sock))
        with open(self.path("control.yaml"), "w") as f:
            f.write("""rules: {file: %s, debounce_ms: 300}
store: {dir: %s, keep: 5}
dataplane: {socket: %s, poll_interval_ms: 200}
control: {socket: %s}
metrics: {listen: "127.0.0.1:%d"}
trace: {dir: %s}
log: {level: debug}
""" % (self.rules, self.path("store"), self.dp_sock, self.ctl_sock, self.metrics_port, self.trace_dir))


def run_test(run):
    t = run.topo
    print("== network: namespaces %s / %s, veth %s / %s" % (t.ns_uac, t.ns_uas, t.dp_trunk, t.dp_core))
    t.up()
    run.setup()

    print("== sipwall-dataplane (net_af_packet on the veths) and sipwall-control")
    run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c", run.path("dataplane.yaml"),
                            "--stats-json", run.path("dataplane-stats.json")])
    wait_for("the data plane's control socket", lambda: os.path.exists(run.dp_sock), 30)
    run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", run.path("control.yaml")])
    st = wait_for("sipwall-control to load the rule set into the data plane",
                  lambda: (lambda s: s if (s.get("ruleset") or {}).get("version") == "e2e.1" else None)(run.dp("status")),
                  30)
    check(st["ruleset"]["version"] == "e2e.1", "data plane runs rule set e2e.1, loaded by sipwall-control")

    print("== tshark on the UAS side, SIPp UAS")
    cap = run.path("uas-side.pcap")
    tshark_proc = run.start("tshark", ["tshark", "-i", t.if_uas, "-f", "udp port 5060", "-w", cap, "-q"], ns=t.ns_uas)
    wait_for("tshark to capture", lambda: "Capturing on" in open(run.path("tshark.out")).read(), 20)
    uas_log_path = run.path("uas-calls.log")
    run.start("uas", ["sipp", "-sf", os.path.join(HERE, "uas.xml"), "-i", t.ip_uas, "-p", "5060",
                      "-trace_logs", "-log_file", uas_log_path, "-nostdin"], ns=t.ns_uas)
    time.sleep(1.0)

    # ---------------------------------------------------------------- phase 1
    print("== phase 1: %d calls, every verdict" % len(PHASE1))
    rc, stat, calls = run.sipp_uac("phase1", [(c, d, u) for c, d, u, _ in PHASE1], rate=10,
                                   max_calls=len(PHASE1), timeout_s=60)
    check(rc == 0, "phase 1: SIPp UAC exit 0 (rc %d)" % rc)
    check(int(stat["SuccessfulCall(C)"]) == len(PHASE1) and int(stat["FailedCall(C)"]) == 0,
          "phase 1: SIPp counts %s successful, %s failed calls" % (stat["SuccessfulCall(C)"], stat["FailedCall(C)"]))
    check(int(stat["Retransmissions(C)"]) == 0, "phase 1: no retransmissions")
    by_caller = {c["caller"]: c for c in calls}
    for caller, callee, _, code in PHASE1:
        got = by_caller.get(caller)
        check(got is not None and got["code"] == code,
              "phase 1: %s -> %s answered %s (expected %d)" % (caller, callee, got and got["code"], code))
    uas = uas_log(uas_log_path)
    passed = {c["call_id"] for c in calls if c["code"] == 200}
    blocked = {c["call_id"] for c in calls if c["code"] != 200}
    check(passed <= set(uas), "phase 1: every answered call reached the UAS")
    check(not (blocked & set(uas)), "phase 1: no blocked call reached the UAS")
    tagged = {c["call_id"] for c in calls if c["caller"] in SUSPECTED}
    check(all(uas[c].startswith("score=60; rule=suspected") for c in tagged),
          "phase 1: suspected callers arrive tagged at the UAS (%s)" % [uas.get(c) for c in tagged])
    check(all(uas[c] == "" for c in passed - tagged), "phase 1: clean calls arrive untagged")
    # tshark's view of the UAS side, independent of SIPp's.
    time.sleep(0.5)
    run.stop(tshark_proc, sig=signal.SIGINT)
    r = subprocess.run(["tshark", "-r", cap, "-Y", "sip.Method == \"INVITE\"", "-T", "fields", "-e", "sip.Call-ID",
                        "-e", "sip.msg_hdr", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = {}
    for line in r.stdout.splitlines():
        cid, _, hdrs = line.partition("\t")
        seen[cid] = [h for h in hdrs.split("\\r\\n") if h.startswith("X-Sipwall-Risk:")]
    check(set(seen) == passed, "phase 1: tshark on the UAS side sees exactly the %d answered INVITEs" % len(passed))
    check(all(seen[c] == ["X-Sipwall-Risk: score=60; rule=suspected"] for c in tagged)
          and all(seen[c] == [] for c in passed - tagged),
          "phase 1: tshark sees the X-Sipwall-Risk header on the suspected calls only")
    r = subprocess.run(["tshark", "-r", cap, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                        "-Y", "udp.checksum.status == 0 || ip.checksum.status == 0"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    check(r.stdout.strip() == "", "phase 1: no bad IP/UDP checksum on the UAS side (tagged INVITEs included)")

    # ---------------------------------------------------------------- phase 2
    rate, n2 = 20, 300
    print("== phase 2: %d calls at %d/s; the harassment list changes after ~5 s, a broken edit after ~10 s" % (n2, rate))
    before = run.dp("status")["ruleset"]["checksum"]
    uac = {}

    def phase2():
        uac["result"] = run.sipp_uac("phase2", [(c, "13600136%03d" % i, "e2e-steady") for i, c in enumerate(PHASE2_CALLERS)],
                                     rate=rate, max_calls=n2, timeout_s=90)

    import threading
    th = threading.Thread(target=phase2)
    th.start()
    time.sleep(5)
    harass = os.path.join(run.rules_dir, "harassment.txt")
    run.write_file(harass, open(harass).read() + SWITCH_CALLER + "\n", split_pause=0.1)
    edit_time = time.time()
    after = wait_for("the list edit to reach the data plane",
                     lambda: (lambda c: c if c != before else None)(run.dp("status")["ruleset"]["checksum"]), 5, 0.05)
    applied_s = time.time() - edit_time
    print("      list edit applied in the data plane %.2f s after the save" % applied_s)
    check(applied_s <= 2.0, "phase 2: the rule change took effect within 2 s (%.2f s)" % applied_s)
    time.sleep(5 - applied_s if applied_s < 5 else 0)
    failed_before = run.ctl_status()["reloads"]["failed"]
    run.write_file(run.rules, run.rules_text.replace("priority: 100", "priority: high"))
    cst = wait_for("sipwall-control to refuse the broken edit",
                   lambda: (lambda s: s if s["reloads"]["failed"] > failed_before else None)(run.ctl_status()), 10)
    th.join(120)
    check(not th.is_alive(), "phase 2: SIPp finished")
    rc, stat, calls = uac["result"]
    check(rc == 0, "phase 2: SIPp UAC exit 0 (rc %d)" % rc)
    check(int(stat["SuccessfulCall(C)"]) == n2 and int(stat["FailedCall(C)"]) == 0,
          "phase 2: %s successful, %s failed calls (zero failed or unexpected)" % (stat["SuccessfulCall(C)"], stat["FailedCall(C)"]))
    check(int(stat["Retransmissions(C)"]) == 0, "phase 2: no retransmissions: no packet lost across the switch")
    sw = sorted((c for c in calls if c["caller"] == SWITCH_CALLER), key=lambda c: call_number(c["call_id"]))
    codes = [c["code"] for c in sw]
    first608 = codes.index(608) if 608 in codes else len(codes)
    check(first608 > 0 and all(c == 200 for c in codes[:first608]) and all(c == 608 for c in codes[first608:])
          and first608 < len(codes),
          "phase 2: the switching caller's calls go 200 x%d then 608 x%d, one switch" % (first608, len(codes) - first608))
    others = [c["code"] for c in calls if c["caller"] != SWITCH_CALLER]
    check(others and all(c == 200 for c in others), "phase 2: the %d other calls all completed" % len(others))
    lr = cst["last_reload"]
    err = " ".join([lr.get("error", "")] + lr.get("diagnostics", []))
    check(lr["result"] == "failed" and "e2e.yaml:" in err and "priority" in err,
          "phase 2: the broken edit is refused with file:line:col (%s)" % err[:200])
    check(cst["reloads"]["failed"] == failed_before + 1, "phase 2: exactly one failed reload counted")
    dps = run.dp("status")
    check(dps["ruleset"]["checksum"] == after, "phase 2: the data plane still runs the set from the list edit")

    # ---------------------------------------------------------------- phase 3
    print("== phase 3: metrics and trace log")
    time.sleep(1.0)  # one more poll + trace drain
    text = run.metrics()
    open(run.path("metrics.txt"), "w").write(text)
    r = subprocess.run(["promtool", "check", "metrics"], input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0, "phase 3: promtool check metrics (%s)" % r.stdout.strip()[:300])
    m = parse_metrics(text)
    all_calls = uac_log(run.path("phase1-calls.log")) + calls
    n_calls = len(PHASE1) + n2
    rejects = sum(1 for c in all_calls if c["code"] in (603, 608))
    tags = sum(1 for c in all_calls if c["caller"] in SUSPECTED)
    check(m.get("sipwall_invites_total") == n_calls,
          "phase 3: sipwall_invites_total %s = INVITEs SIPp sent %d" % (m.get("sipwall_invites_total"), n_calls))
    check(m.get('sipwall_invite_verdicts_total{action="reject"}') == rejects,
          "phase 3: reject verdicts %s = 603/608 SIPp received %d" % (m.get('sipwall_invite_verdicts_total{action="reject"}'), rejects))
    check(m.get('sipwall_invite_verdicts_total{action="tag"}') == tags, "phase 3: tag verdicts = %d" % tags)
    check(m.get("sipwall_replies_sent_total") == rejects, "phase 3: replies sent = %d" % rejects)
    check(not any("8613" in k for k in m), "phase 3: no phone number in any metric label")
    recs = []
    for f in sorted(glob.glob(os.path.join(run.trace_dir, "trace.jsonl*")), reverse=True):
        recs += [json.loads(line) for line in open(f) if line.strip()]
    blocked_ids = {c["call_id"] for c in all_calls if c["code"] != 200}
    rec_ids = [r["call_id"] for r in recs if r["action"] == "reject"]
    check(sorted(rec_ids) == sorted(blocked_ids),
          "phase 3: one trace record per blocked call (%d records, %d blocked)" % (len(rec_ids), len(blocked_ids)))
    rc, out, errtxt = run.ctl("trace", "--caller", "013800138000", "--json")
    found = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
    if len(found) == 1 and isinstance(found[0].get("records"), list):
        found = found[0]["records"]
    want = [c for c in all_calls if c["caller"] in ("+8613800138000", "013800138000")]
    check(rc == 0, "phase 3: sipwallctl trace exit 0 (%d: %s)" % (rc, errtxt.strip()[:200]))
    check(len(found) == len(want) and all(r["caller"] == "+8613800138000" for r in found),
          "phase 3: sipwallctl trace --caller 013800138000 finds the %d calls of +8613800138000 (%d)" % (len(want), len(found)))
    # Data-plane side of "no packet lost": the NIC queue never overflowed, TX never refused.
    s = run.dp("stats")
    c = s["counters"]
    check(c["rx_packets"] == c["forwarded"] + c["dropped"] + c["rejected"] + c["absorbed"] + c.get("held", 0),
          "phase 3: rx = forwarded + dropped + rejected + absorbed (+ held)")
    check(c["tx_dropped"] == 0 and all(p["nic_imissed"] == 0 for p in s["ports"]),
          "phase 3: no TX drops, no RX misses")


def main(doc=__doc__, test=None, tools=("sipp", "tshark", "ip", "ethtool", "promtool")):
    """Parses --bin/--source/--keep, skips without root, runs `test(run)` in a
    fresh topology, tears it down whatever happened; the exit code of a test
    script (sipp_detect_e2e.py and sipp_records_e2e.py call this too)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory with sipwall-dataplane, sipwall-control, sipwallctl")
    ap.add_argument("--source", required=True, help="source tree")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir even on success")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the end-to-end test needs root (network namespaces, veth, DPDK af_packet)")
        return SKIP
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print("FAIL: tools missing: %s (scripts/deps.sh installs them)" % ", ".join(missing))
        return 1
    run = Run(args)
    ok = False
    try:
        (test or run_test)(run)
        ok = True
    except Failed as e:
        print("FAILED: %s" % e)
    except Exception as e:  # a crash of the test itself is a failure too, with the cause
        import traceback
        traceback.print_exc()
        print("FAILED: %s" % e)
    finally:
        run.stop_all()
        run.topo.down()
        if ok and not run.keep:
            shutil.rmtree(run.tmp, ignore_errors=True)
        else:
            print("logs and captures kept in %s" % run.tmp)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
