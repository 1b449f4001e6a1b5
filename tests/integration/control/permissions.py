#!/usr/bin/env python3
"""Who may read and change what (docs/deploy.md "Users, groups and
permissions"), with the package's own sysusers and tmpfiles snippets.

A scratch root gets user and group `sipwall` (systemd-sysusers --root) and
the directories (systemd-tmpfiles --create --root), with the ids they were
given there. sipwall-dataplane runs as the unit runs it (root, group
sipwall, umask 0007) and sipwall-control as user sipwall (umask 0007), with
the sockets, the store and the trace log inside that root. Checked:
  * every socket and file the services create has the owner, group and mode
    the table in docs/deploy.md gives;
  * a user outside group sipwall (nobody, no supplementary groups) can
    neither reload the rules (exit 3, "Permission denied" naming the group)
    nor read the trace log (sipwallctl trace and a plain open() are refused),
    nor reach the data plane's socket;
  * the same user as a member of group sipwall can do all three.
Every process started here is stopped in `finally`.

Needs root (DPDK, setpriv). Exit status: 0 pass, 1 fail, 77 skipped.
  permissions.py --bin build/bin --source .
"""
import argparse
import grp
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import SKIP, Failure, check, free_port, unix_request, run_guarded, wait_for  # noqa: E402

NOBODY = 65534


def ids(root, db, name):
    for line in open(os.path.join(root, "etc", db)):
        f = line.split(":")
        if f[0] == name:
            return int(f[2])
    raise Failure("no %s in %s/etc/%s" % (name, root, db))


class Perms:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.tmp = tempfile.mkdtemp(prefix="sipwall-perm-")
        os.chmod(self.tmp, 0o755)  # others must reach the root's folders to be refused by them
        self.root = os.path.join(self.tmp, "root")
        self.procs = []

    def p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def start(self, name, argv, uid=None, gid=None):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        pre = ["setpriv"]
        if uid is not None:
            pre += ["--reuid=%d" % uid]
        pre += ["--regid=%d" % gid, "--clear-groups"]

        def umask():
            os.umask(0o007)
        proc = subprocess.Popen(pre + argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp, preexec_fn=umask)
        proc.name, proc.logfile = name, log
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            proc.logfile.close()

    def as_user(self, groups, *argv):
        """sipwallctl (or any argv) as nobody, with only `groups` as supplementary groups."""
        pre = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY]
        pre += ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
        r = subprocess.run(pre + list(argv), capture_output=True, text=True, timeout=120, cwd="/")
        return r.returncode, r.stdout, r.stderr

    def setup(self):
        os.makedirs(self.p("/etc"))
        for f in ("passwd", "group"):
            open(self.p("/etc/" + f), "w").close()
        sysusers = os.path.join(self.src, "deploy", "systemd", "sipwall.sysusers")
        tmpfiles = os.path.join(self.src, "deploy", "systemd", "sipwall.tmpfiles")
        for argv in (["systemd-sysusers", "--root=" + self.root, sysusers],
                     ["systemd-tmpfiles", "--create", "--root=" + self.root, tmpfiles]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, "%s into the scratch root (%s)" % (argv[0], r.stderr.strip()[:200]))
        self.uid, self.gid = ids(self.root, "passwd", "sipwall"), ids(self.root, "group", "sipwall")
        check(self.gid not in (0, NOBODY) and self.uid not in (0, NOBODY),
              "user sipwall %d, group sipwall %d" % (self.uid, self.gid))
        # /etc/sipwall as the package's postinst leaves it: root:sipwall 0750.
        etc = self.p("/etc/sipwall")
        shutil.copytree(os.path.join(self.src, "rules", "examples", "lists"), os.path.join(etc, "rules", "lists"))
        self.rules = os.path.join(etc, "rules", "main.yaml")
        shutil.copy(os.path.join(self.src, "rules", "examples", "demo.yaml"), self.rules)
        os.chown(etc, 0, self.gid)
        os.chmod(etc, 0o750)
        self.dp_sock = self.p("/run/sipwall/dataplane.sock")
        self.ctl_sock = self.p("/run/sipwall/control.sock")
        self.trace_dir = self.p("/var/log/sipwall")
        initial = os.path.join(self.tmp, "initial.swr")
        r = subprocess.run([os.path.join(self.bin, "sipwallctl"), "rules", "compile", self.rules, "-o", initial],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "the demo set compiles")
        sample = os.path.join(self.src, "tests", "data", "sample.pcap")
        with open(self.p("/etc/sipwall/sipwall.yaml"), "w") as f:
            f.write("""eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 256
  no_huge: true
  no_pci: true
  file_prefix: swperm%d
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
  state_dir: %s
  last_good_after_ms: 100
control:
  socket: %s
run:
  stop_when_idle_ms: 0
""" % (os.getpid(), sample, self.tmp, self.tmp, initial, self.p("/var/lib/sipwall"), self.dp_sock))
        with open(self.p("/etc/sipwall/control.yaml"), "w") as f:
            f.write("""rules:
  file: %s
  debounce_ms: 200
store:
  dir: %s
dataplane:
  socket: %s
  poll_interval_ms: 200
control:
  socket: %s
metrics:
  listen: 127.0.0.1:%d
trace:
  dir: %s
""" % (self.rules, self.p("/var/lib/sipwall/store"), self.dp_sock, self.ctl_sock, free_port(), self.trace_dir))


def mode_of(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test(t):
    # The data plane as its unit runs it: root, Group=sipwall, UMask=0007.
    dp = t.start("dataplane", [os.path.join(t.bin, "sipwall-dataplane"), "-c", t.p("/etc/sipwall/sipwall.yaml")],
                 gid=t.gid)
    wait_for("the data plane's socket", lambda: dp.poll() is None and unix_request(t.dp_sock, {"v": 1, "cmd": "status"})
             ["ok"], 30)
    wait_for("the sample replayed", lambda: unix_request(t.dp_sock, {"v": 1, "cmd": "stats"})["counters"]
             ["rx_packets"] == 35, 15)
    # The start-up set has classified the sample's INVITEs: after
    # ruleset.last_good_after_ms the data plane writes it as last-good.swr.
    # Waited for here, before sipwall-control's start-up load replaces that
    # set (a set replaced before it is promoted never is, and the sets loaded
    # after it see no INVITE: the sample is over).
    wait_for("last-good.swr", lambda: os.path.exists(t.p("/var/lib/sipwall/last-good.swr")), 30)
    # sipwall-control: User=sipwall, Group=sipwall, UMask=0007.
    t.start("control", [os.path.join(t.bin, "sipwall-control"), "-c", t.p("/etc/sipwall/control.yaml")],
            uid=t.uid, gid=t.gid)
    wait_for("sipwall-control's start-up load", lambda: unix_request(t.ctl_sock, {"v": 1, "cmd": "status"})
             ["last_reload"], 30)
    trace = os.path.join(t.trace_dir, "trace.jsonl")
    wait_for("trace records", lambda: os.path.exists(trace) and os.path.getsize(trace) > 0, 10)
    # A new version, so the store gets a second artifact.
    text = open(t.rules).read()
    open(t.rules + ".new", "w").write(text.replace('version: "2024-06-01.1"', 'version: "2024-06-01.2"'))
    os.rename(t.rules + ".new", t.rules)
    rc, out, err = t.as_user([t.gid], os.path.join(t.bin, "sipwallctl"), "rules", "reload", "--control-socket",
                             t.ctl_sock)
    check(rc == 0 and "2024-06-01.2" in out, "a member of group sipwall reloads the rules (%s%s)"
          % (out.strip(), err.strip()))

    print("== owners and modes (docs/deploy.md, section 5)")
    store = t.p("/var/lib/sipwall/store")
    artifacts = [os.path.join(store, f) for f in os.listdir(store) if f.endswith((".swr", ".meta.json"))]
    want = [
        (t.p("/run/sipwall"), t.uid, t.gid, 0o750),
        (t.p("/var/lib/sipwall"), t.uid, t.gid, 0o750),
        (store, t.uid, t.gid, 0o750),
        (t.trace_dir, t.uid, t.gid, 0o750),
        (t.p("/etc/sipwall"), 0, t.gid, 0o750),
        (t.dp_sock, 0, t.gid, 0o660),
        (t.ctl_sock, t.uid, t.gid, 0o660),
        (trace, t.uid, t.gid, 0o640),
        (os.path.join(store, "history.jsonl"), t.uid, t.gid, 0o640),
        (os.path.join(store, ".lock"), t.uid, t.gid, 0o640),
        (t.p("/var/lib/sipwall/last-good.swr"), 0, t.gid, 0o640),
    ] + [(a, t.uid, t.gid, 0o640) for a in artifacts]
    check(artifacts, "the store holds %d artifact(s)" % len(artifacts))
    bad = []
    for path, uid, gid, mode in want:
        got = mode_of(path)
        if got != (uid, gid, mode):
            bad.append("%s: %d:%d %04o, want %d:%d %04o" % (path[len(t.root):], got[0], got[1], got[2], uid, gid,
                                                            mode))
    check(not bad, "every socket and file has the documented owner and mode (%s)" % "; ".join(bad))

    print("== a user outside group sipwall")
    ctl = os.path.join(t.bin, "sipwallctl")
    # The hint names the group as this host's NSS knows the scratch root's id.
    try:
        group = "group '%s'" % grp.getgrgid(t.gid).gr_name
    except KeyError:
        group = "group '%d'" % t.gid
    rc, out, err = t.as_user([], ctl, "rules", "reload", "--control-socket", t.ctl_sock)
    check(rc == 3 and "Permission denied" in err and group in err,
          "rules reload: exit 3, permission denied naming the group (%s)" % err.strip())
    rc, out, err = t.as_user([], ctl, "trace", "--call-id", "demo-002@sipwall.example", "--trace-dir", t.trace_dir)
    check(rc == 1 and "Permission denied" in err and group in err and "demo-002" not in out,
          "trace: refused, permission denied naming the group (%s)" % err.strip())
    rc, out, err = t.as_user([], "cat", trace)
    check(rc != 0 and "Permission denied" in err, "the trace log cannot be opened")
    rc, out, err = t.as_user([], ctl, "stats", "--dataplane-socket", t.dp_sock)
    check(rc == 3 and "Permission denied" in err, "the data plane's socket is refused too")

    print("== the same user in group sipwall")
    rc, out, err = t.as_user([t.gid], ctl, "trace", "--call-id", "demo-002@sipwall.example", "--json",
                             "--trace-dir", t.trace_dir)
    check(rc == 0 and json.loads(out)["call_id"] == "demo-002@sipwall.example", "trace finds the record")
    rc, out, err = t.as_user([t.gid], ctl, "rules", "reload", "--control-socket", t.ctl_sock)
    check(rc == 0 and "unchanged" in out, "rules reload works (%s)" % out.strip())
    rc, out, err = t.as_user([t.gid], ctl, "rules", "lookup", "013800138000", "--dataplane-socket", t.dp_sock,
                             "--control-socket", t.ctl_sock)
    check(rc == 0 and "harassment" in out, "rules lookup reads the running artifact (%s)" % err.strip()[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK, setpriv to other users)")
        return SKIP
    for tool in ("setpriv", "systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(tool):
            print("SKIP: %s is missing" % tool)
            return SKIP
    t = Perms(args)

    def body():
        t.setup()
        test(t)
    return run_guarded(t, body, tail=30)


if __name__ == "__main__":
    sys.exit(main())
