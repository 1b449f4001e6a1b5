#!/usr/bin/env python3
"""Hostile clients on every socket of a running sipwall (issue 12, items 2, 5, 9).

A real sipwall-dataplane (two net_pcap ports replaying tests/data/sample.pcap)
and sipwall-control, then:

  1. hostile lines on both Unix sockets: `\\xff`, "v" as a string, null and
     array, wrong types in every field, escape sequences, a 50 MB line; each
     gets an error reply that is valid JSON with the outside bytes escaped
     (or, for the 50 MB line, costs only its own connection), and both
     processes stay alive and answer;
  2. a siege: on each Unix socket more idle connections than the server
     holds, re-opened as soon as they are closed, plus slowloris clients
     (one byte a second, never a newline), plus a client that never reads its
     replies; on /metrics idle TCP connections, slowloris request heads and a
     client that never reads. Meanwhile `sipwallctl status`, a rule-file edit
     (reload), `sipwallctl rules reload` and scrapes of /metrics must each
     work within a few seconds;
  3. a reload that cannot reach the data plane (its socket moved away) is
     retried once the data plane answers again (before: never retried).

Needs root (DPDK). Exit status: 0 pass, 1 fail, 77 skipped.
  hostile_clients.py --bin build/bin --source .
"""
import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import Failure, check, free_port, run_guarded, wait_for  # noqa: E402

SKIP = 77
FAST = 4.0  # seconds a normal client may take while the siege runs


def raw_request(path, data, timeout=5):
    """Sends raw bytes on a fresh connection; returns the first reply line (bytes) or b''."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\n", 1)[0]


def unix_request(path, req, timeout=5):
    line = raw_request(path, (json.dumps(req) + "\n").encode(), timeout)
    if not line:
        raise OSError("connection closed without a reply")
    return json.loads(line)


# --- the siege -----------------------------------------------------------------

class Siege:
    """Threads that keep hostile connections open until stop(): `idle` silent
    connections per target (re-opened when the server closes one), `slow`
    slowloris connections (a byte a second, re-opened when closed), and one
    client per target that pipelines requests and never reads."""

    def __init__(self, unix_paths, tcp_port, idle, slow):
        self.targets = [("unix", p) for p in unix_paths] + [("tcp", tcp_port)]
        self.idle, self.slow = idle, slow
        self.stop_flag = threading.Event()
        self.threads = []
        self.reopened = 0
        self.errors = []

    def connect(self, target):
        kind, where = target
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(where)
        else:
            s = socket.create_connection(("127.0.0.1", where), timeout=2)
        s.setblocking(False)
        return s

    def hold(self, target, n, dribble):
        """Keeps n connections open; with dribble, each sends one byte a second."""
        payload = b"GET /metrics HTTP/1.1\r\nX-Slow: " if target[0] == "tcp" else b'{"v":1,"cmd":"status'
        conns = []
        deadline = time.monotonic() + 300  # bounded even if stop() is never called
        next_byte = time.monotonic()
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                while len(conns) < n:
                    conns.append([self.connect(target), 0])
                    self.reopened += 1
            except OSError:
                pass  # a full backlog for a moment: try again next round
            if dribble and time.monotonic() >= next_byte:
                next_byte = time.monotonic() + 1.0
                for c in conns:
                    try:
                        c[0].send(payload[c[1]:c[1] + 1] or b"a")
                        c[1] += 1
                    except OSError:
                        pass
            readable, _, _ = select.select([c[0] for c in conns], [], [], 0.2) if conns else ([], [], [])
            for s in readable:
                try:
                    gone = s.recv(65536) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    s.close()
                    conns = [c for c in conns if c[0] is not s]
        for c in conns:
            c[0].close()

    def hog(self, target):
        """Sends requests without ever reading a byte of the replies."""
        req = b"GET /metrics HTTP/1.1\r\n\r\n" if target[0] == "tcp" else b'{"v":1,"cmd":"status"}\n' * 200
        deadline = time.monotonic() + 300
        s = None
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                if s is None:
                    s = self.connect(target)
                    s.send(req)
            except OSError:
                if s:
                    s.close()
                s = None
            self.stop_flag.wait(0.5)
        if s:
            s.close()

    def start(self):
        for t in self.targets:
            n_idle = self.idle if t[0] == "unix" else self.idle // 2
            for fn, args in ((self.hold, (t, n_idle, False)), (self.hold, (t, self.slow, True)), (self.hog, (t,))):
                th = threading.Thread(target=self._guard, args=(fn, args), daemon=True)
                th.start()
                self.threads.append(th)
        time.sleep(1.0)  # let the connections pile up

    def _guard(self, fn, args):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            self.errors.append("%s%r: %r" % (fn.__name__, args, e))

    def stop(self):
        self.stop_flag.set()
        for th in self.threads:
            th.join(10)


# --- the run -------------------------------------------------------------------

class Run:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.tmp = tempfile.mkdtemp(prefix="sipwall-hostile-")
        self.procs = []
        self.dp_sock = os.path.join(self.tmp, "dataplane.sock")
        self.ctl_sock = os.path.join(self.tmp, "control.sock")
        self.rules = os.path.join(self.tmp, "rules", "demo.yaml")
        self.port = free_port()

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        p.name, p.logfile = name, log
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            p.logfile.close()

    def ctl(self, *argv, timeout=60):
        r = subprocess.run([os.path.join(self.bin, "sipwallctl")] + list(argv), capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def metrics(self, timeout=FAST):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=timeout) as r:
            return r.read().decode()

    def dp_version(self):
        return unix_request(self.dp_sock, {"v": 1, "cmd": "status"})["ruleset"]["version"]

    def set_version(self, version):
        with open(self.rules, "w") as f:
            f.write(self.demo_text.replace('version: "2024-06-01.1"', 'version: "%s"' % version))

    def setup(self):
        shutil.copytree(os.path.join(self.src, "rules", "examples", "lists"), os.path.join(self.tmp, "rules", "lists"))
        shutil.copy(os.path.join(self.src, "rules", "examples", "demo.yaml"), self.rules)
        self.demo_text = open(self.rules).read()
        assert 'version: "2024-06-01.1"' in self.demo_text
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
  file_prefix: swhostile%d
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
""" % (os.getpid(), sample, self.tmp, self.tmp, initial, self.tmp, self.dp_sock))
        with open(os.path.join(self.tmp, "control.yaml"), "w") as f:
            f.write("""rules:
  file: %s
  debounce_ms: 200
store:
  dir: %s/store
dataplane:
  socket: %s
  poll_interval_ms: 200
  request_timeout_ms: 2000
  load_timeout_ms: 5000
control:
  socket: %s
metrics:
  listen: 127.0.0.1:%d
trace:
  dir: %s/trace
""" % (self.rules, self.tmp, self.dp_sock, self.ctl_sock, self.port, self.tmp))


def alive(run, dp, ctl):
    check(dp.poll() is None, "sipwall-dataplane is alive")
    check(ctl.poll() is None, "sipwall-control is alive")
    check(unix_request(run.dp_sock, {"v": 1, "cmd": "status"})["ok"] is True, "the data plane answers status")
    check(unix_request(run.ctl_sock, {"v": 1, "cmd": "status"})["ok"] is True, "sipwall-control answers status")


def hostile_lines(run, dp, ctl):
    print("== hostile lines on both Unix sockets")
    common = [
        (b"\xff\n", "unknown command '\\xff'"),
        (b'{"v":"1","cmd":"status"}\n', '"v" must be the integer 1 (the protocol version), got a string ("1")'),
        (b'{"v":null,"cmd":"status"}\n', '"v" must be the integer 1 (the protocol version), got null'),
        (b'{"v":[1],"cmd":"status"}\n', '"v" must be the integer 1 (the protocol version), got an array'),
        (b'{"v":{},"cmd":"status"}\n', "got an object"),
        (b'{"v":1,"cmd":null}\n', '"cmd" must be a string, got null'),
        (b'{"v":1,"cmd":"st\xffatus"}\n', "request is not valid JSON"),
        (b'\x1b[2J\x1b]0;pwned\x07\n', "unknown command '\\x1b[2J\\x1b]0;pwned\\x07'"),
        (b"[1,2,3]\n", "unknown command '[1,2,3]'"),
        (b'"status"\n', "unknown command '\"status\"'"),
    ]
    per_socket = {
        run.dp_sock: [(b'{"v":1,"cmd":"load","artifact":null}\n', '"artifact" must be a non-empty string, got null'),
                      (b'{"v":1,"cmd":"load","artifact":"/nonexistent/\\u001b[31m.swr"}\n', "\\x1b[31m"),
                      (b'{"v":1,"cmd":"trace-drain","max":"x"}\n', '"max" must be a non-negative integer'),
                      (b'{"v":1,"cmd":"trace-drain","max":-1}\n', "got -1"),
                      (b"load /tmp/\xff\x1b.swr\n", "\\xff\\x1b")],
        run.ctl_sock: [(b'{"v":1,"cmd":"history","limit":[1]}\n', '"limit" must be a non-negative integer'),
                       (b'{"v":1,"cmd":"rollback","target":{}}\n', '"target" must be a non-empty string'),
                       (b"rollback \xff\x1b[0m\n", "\\xff\\x1b[0m")],
    }
    for path in (run.dp_sock, run.ctl_sock):
        name = "data plane" if path == run.dp_sock else "sipwall-control"
        for data, want in common + per_socket[path]:
            line = raw_request(path, data)
            try:
                reply = json.loads(line)
            except ValueError:
                raise Failure("%s: %r: the reply is not JSON: %r" % (name, data, line))
            err = reply.get("error", "")
            if reply.get("ok") is not False or want not in err:
                raise Failure("%s: %r: want an error with %r, got %r" % (name, data, want, reply))
            if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in err):
                raise Failure("%s: %r: a control character in the error %r" % (name, data, err))
        check(True, "%s: %d hostile lines, each an escaped error reply" % (name, len(common) + len(per_socket[path])))
        if path == run.dp_sock:
            last = unix_request(path, {"v": 1, "cmd": "status"})["reloads"]["last_error"]
            check("\\xff\\x1b" in last and not any(ord(ch) < 0x20 for ch in last),
                  "data plane status: the last load error is escaped too (%r)" % last[:80])
        # A 50 MB line: the server answers it (or drops it) and lives.
        t0 = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            chunk = b"x" * (1 << 20)
            sent = 0
            try:
                for _ in range(50):
                    s.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            try:
                reply = s.recv(65536).split(b"\n", 1)[0]
            except OSError:
                reply = b""
        check(sent < (50 << 20) and (not reply or b"longer than" in reply) and time.monotonic() - t0 < 10,
              "%s: a 50 MB line is cut off after %d bytes (%r)" % (name, sent, reply[:80]))
        alive(run, dp, ctl)


def siege(run, dp, ctl):
    print("== siege: idle, slowloris and never-reading clients on every socket")
    s = Siege([run.dp_sock, run.ctl_sock], run.port, idle=48, slow=8)
    s.start()
    try:
        t_end = time.monotonic() + 12  # past a slowloris' line timeout (10 s)
        rounds = 0
        version = 2
        while time.monotonic() < t_end or rounds < 2:
            rounds += 1
            t0 = time.monotonic()
            rc, out, err = run.ctl("status", "--dataplane-socket", run.dp_sock, "--control-socket", run.ctl_sock,
                                   "--timeout", str(FAST))
            took = time.monotonic() - t0
            check(rc == 0 and took < FAST, "sipwallctl status: exit %d in %.2f s %s" % (rc, took, err.strip()[:200]))
            t0 = time.monotonic()
            text = run.metrics()
            took = time.monotonic() - t0
            check("sipwall_dataplane_up 1" in text and took < FAST, "/metrics scraped in %.2f s, data plane up" % took)
            v = "2024-06-01.%d" % version
            version += 1
            t0 = time.monotonic()
            run.set_version(v)
            wait_for("version %s running after a rule-file edit" % v, lambda: run.dp_version() == v, FAST * 2)
            check(True, "rule-file edit: %s runs after %.2f s" % (v, time.monotonic() - t0))
            t0 = time.monotonic()
            rc, out, err = run.ctl("rules", "reload", "--control-socket", run.ctl_sock, "--timeout", str(FAST * 2))
            check(rc == 0, "sipwallctl rules reload: exit %d in %.2f s %s" % (rc, time.monotonic() - t0,
                                                                               err.strip()[:200]))
        check(not s.errors, "the siege threads ran (%s)" % s.errors[:3])
        check(s.reopened > 100, "the siege re-opened %d connections the servers closed" % s.reopened)
    finally:
        s.stop()
    alive(run, dp, ctl)
    dst = unix_request(run.dp_sock, {"v": 1, "cmd": "status"})["control_socket"]
    cst = unix_request(run.ctl_sock, {"v": 1, "cmd": "status"})["control_socket"]
    check(dst["evicted"] > 0 and cst["evicted"] > 0,
          "status counts the evictions (data plane %s; control %s)" % (dst, cst))
    check(dst["bad_requests"] > 0 and cst["bad_requests"] > 0, "status counts bad requests")


def retry(run, dp, ctl):
    print("== a reload that cannot reach the data plane is retried when it answers again")
    away = run.dp_sock + ".away"
    def history():
        return json.loads(run.ctl("rules", "history", "--json", "--limit", "0", "--control-socket", run.ctl_sock)[1])
    n0 = len(history())
    os.rename(run.dp_sock, away)
    try:
        run.set_version("2024-06-01.99")

        def failed():
            return [e for e in history()[n0:] if e.get("result") == "failed" and e.get("stage") == "dataplane"]
        wait_for("the reload failing at stage dataplane", failed, 10)
        time.sleep(0.6)  # a few polls while it is away
    finally:
        os.rename(away, run.dp_sock)
    t0 = time.monotonic()
    wait_for("2024-06-01.99 running once the data plane is reachable", lambda: run.dp_version() == "2024-06-01.99", 5)
    check(True, "the pending set runs %.2f s after the socket came back" % (time.monotonic() - t0))
    h = history()[n0:]
    check(any(e.get("op") == "resync" and e.get("trigger") == "dataplane-retry" and e.get("result") == "ok"
              for e in h), "history: a resync (dataplane-retry) ok")


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
    run = Run(args)

    def body():
        run.setup()
        dp = run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c",
                                     os.path.join(run.tmp, "dataplane.yaml")])
        wait_for("the data plane's socket", lambda: dp.poll() is None and unix_request(
            run.dp_sock, {"v": 1, "cmd": "status"})["ok"], 30)
        ctl = run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c",
                                    os.path.join(run.tmp, "control.yaml")])
        wait_for("sipwall-control's start-up load", lambda: unix_request(
            run.ctl_sock, {"v": 1, "cmd": "status"})["last_reload"], 30)
        hostile_lines(run, dp, ctl)
        siege(run, dp, ctl)
        retry(run, dp, ctl)
        alive(run, dp, ctl)
    return run_guarded(run, body, tail=30)


if __name__ == "__main__":
    sys.exit(main())
