#!/usr/bin/env python3
"""Hostile traffic through a rule set that traces and rejects it, its traces
drained by the real sipwall-control: both processes must live (issue 12).

One INVITE whose Call-ID was not UTF-8 (`a\\xff`) used to make the next
trace-drain throw nlohmann type_error 316 and abort the data plane, a second
after the packet arrived. This sends the data plane (DPDK net_pcap vdevs, as
control_integration.py does) every PROTOS c07-sip INVITE (rendered here by
tests/corpus/render_protos.py; UDP, and TCP for the ones too big for a
datagram) plus hand-made INVITEs with bytes that are not UTF-8, NUL, ESC, C1
and bidirectional controls in the Call-ID, the From/To user, the display
name and the User-Agent, some over TCP. The rule set traces and rejects
everything from the trunk, so every INVITE the parser accepts gets a trace
record; sipwall-control drains them into its trace log. Checked:

  * both processes are up after the drain, and stop cleanly on SIGTERM (exit 0);
  * the data plane received every frame; rx = forwarded + dropped + rejected +
    absorbed + held; no trace record lost (trace_ring_full, overflow);
  * the trace log is valid UTF-8 JSON lines, one per trace record the data
    plane made, with no control byte and no C1/bidirectional control; the
    hand-made Call-IDs are there, invalid bytes as U+FFFD, a long UTF-8 one
    cut at a character boundary;
  * `sipwallctl trace` reads the log whole (--json and table), and finds a
    record by a Call-ID that held an invalid byte;
  * /metrics still answers with the data plane up.

Needs root (DPDK). Exit: 0 pass, 1 fail, 77 skipped.
  hostile_trace.py --bin build/bin --source . --testdata ../shared/testdata
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import Failure, check, free_port, unix_request, run_guarded, wait_for  # noqa: E402

SKIP = 77
PEER, CORE, PROTOS_SRC, PROTOS_DST = "192.0.2.11", "10.10.0.10", "192.0.2.20", "192.0.2.10"
FFFD = "\ufffd"
# C1 controls, line/paragraph separators, bidirectional controls (rules/text/safe_text.h).
HIDDEN = set(chr(c) for c in range(0x80, 0xA0)) | {"\u2028", "\u2029"} | \
    set(chr(c) for c in range(0x202A, 0x202F)) | set(chr(c) for c in range(0x2066, 0x206A))

RULES = """\
version: "hostile.1"
name: hostile
dial_plan: {preset: china}
trunks:
  hostile: {class: peer, sources: [192.0.2.0/24]}
defaults: {action: pass, malformed: fail_closed}
rules:
  - id: trace-hostile
    priority: 100
    match: {trunk: hostile}
    action: trace
  - id: reject-hostile
    priority: 10
    match: {trunk: hostile}
    action:
      reject: {code: 608, reason: Rejected by the hostile-traffic test}
"""


def terminal_safe(text):
    return not any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F or c in HIDDEN for c in text)


# --- traffic ---------------------------------------------------------------------

def handmade(sp):
    """(label, payload, accepted by the parser, Call-ID as the log must show it or None)."""
    def inv(call_id=b"hm@x", from_=None, to=None, ua=b"Carrier-SBC/4.2", cseq=1, transport=b"UDP"):
        from_ = from_ or b"<sip:+8613512345678@" + PEER.encode() + b">;tag=hm1"
        to = to or b"<sip:13600136000@" + CORE.encode() + b">"
        h = [b"INVITE sip:13600136000@" + CORE.encode() + b" SIP/2.0",
             b"Via: SIP/2.0/" + transport + b" " + PEER.encode() + b":5060;branch=z9hG4bKhm" + str(cseq).encode(),
             b"Max-Forwards: 70", b"From: " + from_, b"To: " + to, b"Call-ID: " + call_id,
             b"CSeq: " + str(cseq).encode() + b" INVITE", b"User-Agent: " + ua, b"Content-Length: 0"]
        return b"\r\n".join(h) + b"\r\n\r\n"
    long_utf8 = "\u5927" * 40 + "@x"  # 122 bytes of UTF-8: cut to <= 95 at a character boundary
    return [
        ("call-id a\\xff", inv(b"a\xff"), True, "a" + FFFD),
        ("call-id overlong + latin-1", inv(b"\xc0\xaf\xe5\xe4\xf6@x"), True, FFFD * 5 + "@x"),
        ("call-id C1 CSI + RLO", inv(b"hm-\xc2\x9b" b"2J\xe2\x80\xae@x"), True, "hm-\u009b2J\u202e@x"),
        ("call-id long UTF-8", inv(long_utf8.encode()), True, "\u5927" * 31),
        ("display name raw \\xff\\xfe", inv(b"hm-dn1@x", from_=b"\xff\xfe <sip:+8613512345678@192.0.2.11>;tag=d1"),
         True, "hm-dn1@x"),
        ("display name quoted NUL, ESC", inv(b"hm-dn2@x", from_=b'"a\\\x00b\\\x1b[2J" <sip:+8613512345678@192.0.2.11>;tag=d2'),
         True, "hm-dn2@x"),
        ("from user %00%ff%1b", inv(b"hm-fu@x", from_=b"<sip:%00%ff%1b@192.0.2.11>;tag=f1"), True, "hm-fu@x"),
        ("to user %ff", inv(b"hm-tu@x", to=b"<sip:%ff%c2%9b@10.10.0.10>"), True, "hm-tu@x"),
        ("user-agent \\xff C1 RLO", inv(b"hm-ua@x", ua=b"\xff\xc2\x9b\xe2\x80\xae"), True, "hm-ua@x"),
        ("call-id a\\xff over TCP", inv(b"tcp-a\xff", transport=b"TCP"), True, "tcp-a" + FFFD),
        # Refused by the parser (control_character / bad_from): malformed, dropped, no trace.
        ("call-id NUL", inv(b"hm-\x00@x"), False, None),
        ("call-id ESC", inv(b"hm-\x1b[2J@x"), False, None),
        ("user-agent BEL", inv(b"hm-bel@x", ua=b"x\x07"), False, None),
        ("from user raw \\xff", inv(b"hm-raw@x", from_=b"<sip:\xff@192.0.2.11>;tag=r1"), False, None),
    ]


def build_traffic(sp, protos_dir):
    """(frames, hand-made cases, PROTOS INVITEs sent, of which over TCP)."""
    frames = []
    port = [40000]

    def tcp_message(src, dst, payload, mss=1460):
        port[0] += 1
        seq = 1000
        for off in range(0, len(payload), mss):
            chunk = payload[off:off + mss]
            frames.append(sp.ether(sp.ipv4(src, dst, 6, sp.tcp(src, dst, port[0], 5060, chunk, seq=seq, ack=1,
                                                                 flags=0x18)), sp.ETH_IPV4))
            seq += len(chunk)

    names = sorted(n for n in os.listdir(protos_dir) if n.endswith(".invite"))
    n_tcp = 0
    for n in names:
        payload = open(os.path.join(protos_dir, n), "rb").read()
        if len(payload) <= 65000:  # one datagram, one frame (a chain over 2 KB)
            frames.append(sp.udp_frame(PROTOS_SRC, PROTOS_DST, 5060, 5060, payload))
        else:                      # too big for a datagram: a TCP stream
            tcp_message(PROTOS_SRC, PROTOS_DST, payload)
            n_tcp += 1
    cases = handmade(sp)
    for label, payload, _, _ in cases:
        if label.endswith("over TCP"):
            tcp_message(PEER, CORE, payload)
        else:
            frames.append(sp.udp_frame(PEER, CORE, 5060, 5060, payload))
    return frames, cases, len(names), n_tcp


# --- the run -----------------------------------------------------------------------

class Run:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.testdata = os.path.abspath(args.testdata)
        self.tmp = tempfile.mkdtemp(prefix="sipwall-hostile-")
        self.procs = []
        self.dp_sock = os.path.join(self.tmp, "dataplane.sock")
        self.ctl_sock = os.path.join(self.tmp, "control.sock")
        self.trace_dir = os.path.join(self.tmp, "trace")
        self.port = free_port()
        self.prefix = "swhostile%d" % os.getpid()

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        p.name, p.logfile = name, log
        self.procs.append(p)
        return p

    def stop(self, p, timeout=20):
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
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)

    def ctl(self, *argv, timeout=120):
        r = subprocess.run([os.path.join(self.bin, "sipwallctl")] + list(argv), capture_output=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def setup(self, frames):
        sys.path.insert(0, os.path.join(self.src, "tests", "tools"))
        import sippcap as sp
        self.rules = os.path.join(self.tmp, "rules", "hostile.yaml")
        os.makedirs(os.path.dirname(self.rules))
        with open(self.rules, "w") as f:
            f.write(RULES)
        artifact = os.path.join(self.tmp, "hostile.swr")
        rc, out, err = self.ctl("rules", "compile", self.rules, "-o", artifact)
        check(rc == 0, "sipwallctl rules compile (%s)" % err.decode(errors="replace").strip()[:200])
        self.in_pcap = os.path.join(self.tmp, "hostile.pcap")
        sp.write_pcap(self.in_pcap, frames, snaplen=max(65535, max(len(f) for f in frames)))
        with open(os.path.join(self.tmp, "dataplane.yaml"), "w") as f:
            f.write("""eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 256
  no_huge: true
  no_pci: true
  file_prefix: %s
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
""" % (self.prefix, self.in_pcap, self.tmp, self.tmp, artifact, self.tmp, self.dp_sock))
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
""" % (self.rules, self.tmp, self.dp_sock, self.ctl_sock, self.port, self.trace_dir))


def test(run, protos_dir):
    sys.path.insert(0, os.path.join(run.src, "tests", "tools"))
    import sippcap as sp
    frames, cases, n_protos, n_tcp = build_traffic(sp, protos_dir)
    print("== %d frames: %d PROTOS INVITEs (%d over TCP), %d hand-made" % (len(frames), n_protos, n_tcp, len(cases)))
    check(n_protos == 4527, "every PROTOS INVITE rendered (%d)" % n_protos)
    run.setup(frames)

    print("== the data plane takes the traffic")
    dp = run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c",
                                 os.path.join(run.tmp, "dataplane.yaml"), "--stats-json",
                                 os.path.join(run.tmp, "stats.json")])
    wait_for("the data plane's socket", lambda: dp.poll() is None and unix_request(run.dp_sock, {"v": 1, "cmd": "status"})["ok"], 30)
    wait_for("every frame received", lambda: unix_request(run.dp_sock, {"v": 1, "cmd": "stats"})["counters"]
             ["rx_packets"] == len(frames), 60)
    st = unix_request(run.dp_sock, {"v": 1, "cmd": "stats"})
    traced = st["counters"]["traced"]
    check(traced >= n_protos // 2, "the data plane traced %d INVITEs (PROTOS and hand-made)" % traced)
    check(st["trace_buffered"] == traced, "all %d records wait in the data plane's buffer" % traced)

    print("== sipwall-control drains them")
    ctl = run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", os.path.join(run.tmp, "control.yaml")])
    trace_file = os.path.join(run.trace_dir, "trace.jsonl")

    def lines():
        if not os.path.exists(trace_file):
            return None
        data = open(trace_file, "rb").read()
        n = data.count(b"\n")
        return data if n >= traced else None
    raw = wait_for("%d trace lines" % traced, lines, 60)
    time.sleep(1.5)  # a few more drains: the data plane must survive them too
    check(dp.poll() is None, "the data plane is alive after the drains")
    check(ctl.poll() is None, "sipwall-control is alive after the drains")
    check(unix_request(run.dp_sock, {"v": 1, "cmd": "status"})["ok"], "the data plane answers status")
    cst = unix_request(run.ctl_sock, {"v": 1, "cmd": "status"})
    check(cst["ok"] and cst["dataplane"]["up"], "sipwall-control answers and sees the data plane up")
    st = unix_request(run.dp_sock, {"v": 1, "cmd": "stats"})
    check(st["trace_buffered"] == 0 and st["trace_overflow"] == 0, "the data plane's buffer drained, nothing overflowed")
    check(st["counters"]["trace_ring_full"] == 0, "no trace record lost at the ring")
    check(st["counters"]["traced"] == traced, "no new trace records")

    print("== the trace log")
    raw = open(trace_file, "rb").read()
    text = raw.decode("utf-8")  # raises if not UTF-8
    recs = [json.loads(line) for line in text.splitlines()]
    check(len(recs) == traced, "one log line per trace record (%d)" % len(recs))
    check(terminal_safe(text), "no control byte, C1 or bidirectional control in the log file")
    check(all(r["action"] == "reject" and r["rule_id"] == "reject-hostile" and r["reject_code"] == 608 for r in recs),
          "every record: rejected 608 by reject-hostile")
    by_cid = {}
    for r in recs:
        by_cid.setdefault(r["call_id"], []).append(r)
    for label, _, accepted, shown in cases:
        if accepted:
            check(len(by_cid.get(shown, [])) == 1, "%s: one record, Call-ID %r" % (label, shown))
    refused = [p for _, p, ok, _ in cases if not ok]
    check(not any(r["call_id"].startswith(("hm-\u0000", "hm-\u001b", "hm-bel", "hm-raw")) for r in recs),
          "the %d INVITEs the parser refuses have no record" % len(refused))
    long_cid = next(c for c in by_cid if c.startswith("\u5927"))
    check(len(long_cid.encode()) <= 95 and FFFD not in long_cid, "the long UTF-8 Call-ID cut at a character boundary")

    print("== sipwallctl trace reads it")
    rc, out, err = run.ctl("trace", "--trace-dir", run.trace_dir, "--since", "1h", "--limit", "0", "--json")
    out_lines = out.decode("utf-8").splitlines()
    check(rc == 0 and len(out_lines) == traced and all(json.loads(l) for l in out_lines),
          "trace --json: %d valid JSON lines (exit %d)" % (len(out_lines), rc))
    rc, out, err = run.ctl("trace", "--trace-dir", run.trace_dir, "--since", "1h", "--limit", "0")
    table = out.decode("utf-8")
    check(rc == 0 and len(table.splitlines()) == traced + 1 and terminal_safe(table + err.decode("utf-8")),
          "trace as a table: a header and %d rows, nothing that drives a terminal" % traced)
    rc, out, err = run.ctl("trace", "--trace-dir", run.trace_dir, "--call-id", "a" + FFFD, "--json")
    check(rc == 0 and json.loads(out)["call_id"] == "a" + FFFD, "trace --call-id finds the a\\xff INVITE")

    print("== /metrics")
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % run.port, timeout=10) as r:
        metrics = r.read().decode("utf-8")
    check("sipwall_dataplane_up 1" in metrics, "/metrics: sipwall_dataplane_up 1")
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "promtool check metrics passes (%s)" % (p.stdout + p.stderr).strip()[:200])

    print("== both stop cleanly; the counters add up")
    check(run.stop(ctl) == 0, "sipwall-control exits 0 on SIGTERM")
    check(run.stop(dp) == 0, "sipwall-dataplane exits 0 on SIGTERM")
    with open(os.path.join(run.tmp, "stats.json")) as f:
        final = json.load(f)
    c = final["counters"]
    check(c["rx_packets"] == len(frames), "rx_packets = %d frames sent" % len(frames))
    check(c["forwarded"] + c["dropped"] + c["rejected"] + c["absorbed"] + c["held"] == c["rx_packets"],
          "forwarded %d + dropped %d + rejected %d + absorbed %d + held %d = rx_packets" %
          (c["forwarded"], c["dropped"], c["rejected"], c["absorbed"], c["held"]))
    check(c["non_sip"] == 0, "nothing passed as non_sip")
    check(final["verdicts"]["reject"] == traced, "every traced INVITE rejected (%d)" % traced)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--testdata", required=True, help="the external SIP corpora (PROTOS under protos/)")
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
        protos_dir = os.path.join(run.tmp, "protos")
        r = subprocess.run([sys.executable, os.path.join(run.src, "tests", "corpus", "render_protos.py"),
                            os.path.join(run.testdata, "protos"), protos_dir], capture_output=True, text=True,
                           timeout=120)
        check(r.returncode == 0, "PROTOS rendered (%s)" % (r.stdout + r.stderr).strip()[-200:])
        test(run, protos_dir)
    return run_guarded(run, body, tail=30)


if __name__ == "__main__":
    sys.exit(main())
