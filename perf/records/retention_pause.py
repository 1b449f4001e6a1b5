#!/usr/bin/env python3
"""What a retention drop costs while records flow (docs/performance.md "Call records").

sipwall-control drops a partition of the call store on its one loop thread;
meanwhile it neither reads the records socket nor answers its control
socket. This runs the real processes and measures both effects:

* sipwall-data plane on net_pcap vdevs (root, --no-huge, lcores 0-1), the
  trunk port reading a FIFO into which this script writes INVITEs at --rate
  per second (each one invite record at its verdict: the record rate), with
  records on (records.ring_size 16,384);
* sipwall-control with records on, over --store (a store built by
  `bench_call_store --rows N --db FILE`; it is modified: partitions are
  dropped) and records.max_mb 16, so retention drops the oldest closed
  partition at start and one every minute after;
* a probe asking sipwall-control's `status` every 100 ms on a fresh
  connection, timing each answer, and noting when `records.deleted` moves;
  another one timing GET /metrics every 100 ms.

At the end it prints, for each drop seen, the rows it removed and the
longest a `status` answer took around it, and the data plane's
`call_records` and `call_records_dropped` counters (every loss at the ring is
counted there: docs/records.md).

  sudo perf/records/retention_pause.py --build build --store /path/store.db [--rate 2000] [--seconds 75]
"""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "dataplane"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import harness as h  # noqa: E402
import traffic as tr  # noqa: E402


class Run:
    """What harness.Dataplane needs of a test: a directory, a name, the binary."""

    def __init__(self, args):
        self.args = args
        self.name = "retention_pause"
        self.dir = tempfile.mkdtemp(prefix="sipwall-retention-pause-")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def fatal(self, msg):
        raise SystemExit(f"retention_pause: {msg} (files in {self.dir})")


def unix_request(path, req, timeout=30.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf.decode())


class InviteFeed(threading.Thread):
    """INVITEs into the trunk FIFO at `rate` per second while `feeding` is set,
    a filler frame every millisecond otherwise (net_pcap reads the FIFO with
    blocking reads)."""

    def __init__(self, path, rate):
        super().__init__(daemon=True)
        self.path, self.rate = path, rate
        os.mkfifo(path)
        self.feeding = threading.Event()
        self.closing = threading.Event()
        self.sent = 0
        self.error = None
        sp = h.sippcap()
        self.filler = sp.udp_frame(h.PEER4, h.CORE4, 40000, 9, b"filler")
        self.build = tr.udp_builder(h.PEER4, h.CORE4)

    def frame(self, i):
        return self.build(tr.invite(h.CALLER_CLEAN, call_id=f"pause-{i}@records.example"))[0]

    def run(self):
        try:
            with open(self.path, "wb", buffering=0) as f:
                f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
                n = 0
                start = None
                while not self.closing.is_set():
                    if not self.feeding.is_set():
                        start = None
                        frames = [self.filler]
                        time.sleep(0.001)
                    else:
                        now = time.monotonic()
                        start = start or (now, self.sent)
                        due = start[1] + int((now - start[0]) * self.rate) - self.sent
                        frames = [self.frame(self.sent + k) for k in range(min(due, 200))] or [self.filler]
                        self.sent += len(frames) if due > 0 else 0
                        if due <= 0:
                            time.sleep(0.0005)
                    out = b""
                    for fr in frames:
                        n += 1
                        out += struct.pack("<IIII", 1764320400 + n // 1000000, n % 1000000, len(fr), len(fr)) + fr
                    f.write(out)
        except Exception as e:  # reported by the main thread
            self.error = e


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="the build directory (bin/sipwall-dataplane ...)")
    p.add_argument("--store", required=True, help="a call store built by bench_call_store (modified)")
    p.add_argument("--rate", type=int, default=2000, help="INVITEs (= records) per second")
    p.add_argument("--seconds", type=float, default=75, help="how long the INVITEs flow")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("retention_pause: needs root (DPDK --no-huge with net_pcap vdevs)")
    b = os.path.join(args.build, "bin")
    args.dataplane, args.sipwallctl = os.path.join(b, "sipwall-dataplane"), os.path.join(b, "sipwallctl")
    control = os.path.join(b, "sipwall-control")
    run = Run(args)

    rules = run.path("rules.yaml")
    with open(rules, "w") as f:
        f.write(h.packet_rules(version="pause-1"))
    art = run.path("rules.swr")
    subprocess.run([args.sipwallctl, "rules", "compile", rules, "-o", art], check=True, capture_output=True)
    rec_sock, ctl_sock = run.path("records.sock"), run.path("control.sock")
    feed = InviteFeed(run.path("trunk.fifo"), args.rate)
    ports = [("trunk", f"net_pcap0,rx_pcap={feed.path},tx_pcap={run.path('trunk-out.pcap')}", "trunk"),
             ("core", f"net_pcap1,tx_pcap={run.path('core-out.pcap')}", "core")]
    extra = f"records: {{enabled: true, socket: {rec_sock}, ring_size: 16384}}\n"
    dp = h.Dataplane(run, "dp", ports, artifact=art, extra_yaml=extra, stats_json=False)
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        metrics_port = probe_port.getsockname()[1]
    with open(run.path("control.yaml"), "w") as f:
        f.write(f"""rules: {{file: {rules}}}
store: {{dir: {run.path('store')}, keep: 2}}
dataplane: {{socket: {dp.socket}, poll_interval_ms: 500}}
control: {{socket: {ctl_sock}}}
metrics: {{listen: "127.0.0.1:{metrics_port}"}}
trace: {{dir: {run.path('trace')}}}
records: {{enabled: true, socket: {rec_sock}, database: {args.store}, max_mb: 16, group: ""}}
""")
    metrics = []  # GET /metrics latencies (s)
    samples = []  # (seconds since control started, status latency s, records.deleted, records.received)
    ctl = None
    with dp:
        feed.start()
        dp.start()
        t0 = time.monotonic()
        ctl = subprocess.Popen([control, "-c", run.path("control.yaml")], stdout=open(run.path("control.out"), "w"),
                               stderr=subprocess.STDOUT)
        try:
            stop_probe = threading.Event()

            def probe():
                while not stop_probe.is_set():
                    a = time.monotonic()
                    try:
                        r = unix_request(ctl_sock, {"v": 1, "cmd": "status"})
                        rec = r.get("records") or {}
                        samples.append((a - t0, time.monotonic() - a, rec.get("deleted"), rec.get("received")))
                    except (OSError, ValueError):
                        pass
                    time.sleep(max(0.0, 0.1 - (time.monotonic() - a)))

            def probe_metrics():
                while not stop_probe.is_set():
                    a = time.monotonic()
                    try:
                        with socket.create_connection(("127.0.0.1", metrics_port), timeout=30) as m:
                            m.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
                            while m.recv(65536):
                                pass
                        metrics.append(time.monotonic() - a)
                    except OSError:
                        pass
                    time.sleep(max(0.0, 0.1 - (time.monotonic() - a)))

            th = threading.Thread(target=probe, daemon=True)
            th.start()
            th2 = threading.Thread(target=probe_metrics, daemon=True)
            th2.start()
            end = time.monotonic() + 60
            while time.monotonic() < end and not (samples and samples[-1][2] is not None and samples[-1][2] > 0):
                time.sleep(0.1)
            feed.feeding.set()
            fed_from = time.monotonic() - t0
            time.sleep(args.seconds)
            feed.feeding.clear()
            time.sleep(3)  # the last records reach the store
            stop_probe.set()
            th.join(35)
            th2.join(35)
            st = dp.stats()
            cst = unix_request(ctl_sock, {"v": 1, "cmd": "status"})
        finally:
            ctl.terminate()
            ctl.wait(30)
            feed.closing.set()
        dp.stop()
    if feed.error:
        sys.exit(f"retention_pause: feed: {feed.error}")
    c = st["counters"]
    print(f"records: {args.rate} INVITEs/s from {fed_from:.1f} s for {args.seconds:.0f} s ({feed.sent} sent); "
          f"data plane call_records {c['call_records']}, call_records_dropped {c['call_records_dropped']}; "
          f"sipwall-control received {cst['records']['received']}, stored {cst['records']['stored']}")
    prev = 0
    for i, (at, lat, deleted, _) in enumerate(samples):
        if deleted is not None and deleted != prev:
            around = [s[1] for s in samples[max(0, i - 40):i + 2]]
            print(f"drop of {deleted - prev} rows seen at {at:.1f} s: longest status answer around it "
                  f"{max(around) * 1000:.0f} ms")
            prev = deleted
    slow = [f"{at:.1f} s: {lat * 1000:.0f} ms" for at, lat, _, _ in samples if lat > 0.1]
    print(f"status answers over 100 ms: {', '.join(slow) or 'none'}")
    quiet = sorted(s[1] for s in samples)
    if quiet:
        print(f"status answers: {len(quiet)}, median {quiet[len(quiet) // 2] * 1000:.1f} ms, "
              f"worst {quiet[-1] * 1000:.0f} ms")
    if metrics:
        metrics.sort()
        print(f"/metrics answers: {len(metrics)}, median {metrics[len(metrics) // 2] * 1000:.1f} ms, "
              f"worst {metrics[-1] * 1000:.0f} ms")
    if not args.keep:
        shutil.rmtree(run.dir, ignore_errors=True)
    else:
        print(f"files in {run.dir}")


if __name__ == "__main__":
    main()
