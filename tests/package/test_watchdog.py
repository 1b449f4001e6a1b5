#!/usr/bin/env python3
"""sipwall-dataplane speaks systemd's notify protocol, as Type=notify +
WatchdogSec= in sipwall-dataplane.service expect.

Started on two net_null vdevs (no NIC, no hugepages) with NOTIFY_SOCKET
pointing at a datagram socket this test reads:
* with WATCHDOG_USEC=1000000: READY=1 once up, then WATCHDOG=1 more often
  than every 1 s (it pings at half the interval) while it runs; STOPPING=1 on SIGTERM,
  exit 0;
* without WATCHDOG_USEC: READY=1 and no WATCHDOG=1 at all.
Needs root (DPDK EAL); exits 77 otherwise.
"""
import os
import select
import signal
import socket
import subprocess
import time

from pkgtest import Skip, check, main

CONFIG = """eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 256
  no_huge: true
  no_pci: true
  file_prefix: pkgwd%(pid)d
  extra: ["--no-shconf", "--log-level=lib.eal:warning"]
  vdevs: ["net_null0", "net_null1"]
ports:
  - {name: trunk, device: net_null0, role: trunk}
  - {name: core, device: net_null1, role: core}
pairs:
  - [trunk, core]
workers:
  lcores: [1]
ruleset:
  state_dir: %(tmp)s/state
control:
  socket: %(tmp)s/dataplane.sock
"""


def run_dataplane(args, tmp, name, watchdog_usec, watch_s):
    """Runs the data plane for watch_s seconds after READY=1; returns [(t, msg)] and the exit code."""
    sock_path = os.path.join(tmp, name + ".notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    conf = os.path.join(tmp, name + ".yaml")
    os.makedirs(os.path.join(tmp, "state"), exist_ok=True)
    open(conf, "w").write(CONFIG % {"pid": os.getpid(), "tmp": tmp})
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen([os.path.join(args.bin, "sipwall-dataplane"), "-c", conf], env=env, stdout=log,
                         stderr=subprocess.STDOUT)
    msgs, ready_at = [], None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if ready_at is not None and time.monotonic() > ready_at + watch_s:
                break
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                for m in s.recv(4096).decode().split("\n"):
                    if m:
                        msgs.append((time.monotonic(), m))
                        if m == "READY=1" and ready_at is None:
                            ready_at = time.monotonic()
            if p.poll() is not None:
                break
        p.send_signal(signal.SIGTERM)
        rc = p.wait(20)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                msgs.extend((time.monotonic(), m) for m in s.recv(4096).decode().split("\n") if m)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        log.close()
        s.close()
    if ready_at is None:
        print(open(os.path.join(tmp, name + ".log")).read()[-2000:])
    return msgs, rc


def test(args, tmp):
    if os.geteuid() != 0:
        raise Skip("needs root (DPDK EAL on net_null vdevs); CI runs it as root")
    print("== WATCHDOG_USEC=1000000")
    msgs, rc = run_dataplane(args, tmp, "wd", 1000000, 2.6)
    names = [m for _, m in msgs]
    check("READY=1" in names, "READY=1 sent")
    ready = next(t for t, m in msgs if m == "READY=1")
    pings = [t for t, m in msgs if m == "WATCHDOG=1" and t >= ready - 0.01]
    check(len(pings) >= 4, "WATCHDOG=1 sent %d times in the 2.6 s after READY=1 (expect ~6)" % len(pings))
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    check(gaps and max(gaps) < 0.9, "never more than WATCHDOG_USEC between pings (max gap %.3f s)" %
          (max(gaps) if gaps else -1))
    check("STOPPING=1" in names, "STOPPING=1 on SIGTERM")
    check(rc == 0, "exit 0 after SIGTERM (%d)" % rc)

    print("== no WATCHDOG_USEC")
    msgs, rc = run_dataplane(args, tmp, "nowd", 0, 0.6)
    names = [m for _, m in msgs]
    check("READY=1" in names, "READY=1 sent")
    check("WATCHDOG=1" not in names, "no WATCHDOG=1 when systemd did not ask for it")
    check(rc == 0, "exit 0 after SIGTERM")


if __name__ == "__main__":
    main(test, __doc__)
