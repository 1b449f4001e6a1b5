#!/usr/bin/env python3
"""last-good.swr holds a set that has run, never one that only loaded (issue 12).

A set that loads and then takes the workers down on its first INVITE must not
become the set every restart falls back to. So the data plane makes a set
last-good only once the workers have classified an INVITE with it and it has
been current for ruleset.last_good_after_ms (1500 ms here; 5 s by default).

The trunk port reads a FIFO (as in test_reload) that a writer thread keeps
filling with OPTIONS requests (SIP, but never classified), and with INVITEs
when the test asks for them, so the test decides when a set sees its first
INVITE while traffic flows all the time (a `load` waits for the worker to
pass a quiescent point, which it does between bursts).

  1. start with A configured, empty state dir: no last-good while only OPTIONS
     flow, even well past the grace time;
  2. INVITEs: last-good.swr becomes A, byte for byte, and the log says so;
  3. `load` B: right after the reply, and after the grace time with only
     OPTIONS flowing, last-good is still A;
  4. INVITEs: last-good becomes B;
  5. `load` C, then its file is replaced by other bytes before it has run:
     after INVITEs and the grace time, last-good is still B, and the log says
     why (the file is no longer the set that was loaded).
  6. a set that was on trial when the process died does not come back: start
     with D configured, kill -9 before D has run; the next start (D still
     configured, as store.current_link would be) runs last-good B, says why,
     and `load D` is refused with the reason while `load A` works; a clean
     stop clears the mark, and the start after it runs D again.
"""
import os
import queue
import re
import shutil
import struct
import threading
import time

import harness as h
import traffic as tr

GRACE_MS = 1500
RULES = """\
version: "{version}"
name: last-good
dial_plan: {{preset: china}}
rules:
  - id: block-x
    match: {{caller: {{equals: ["+86 138 0013 8000"]}}}}
    action: drop
"""


class Writer(threading.Thread):
    """Keeps the FIFO fed: OPTIONS all the time, INVITEs on request."""

    def __init__(self, fifo):
        super().__init__(daemon=True)
        self.fifo = fifo
        self.sp = h.sippcap()
        self.invites = queue.Queue()
        self.stop = threading.Event()
        self.error = None
        self.sent = 0
        self.n = 0

    def options(self):
        self.n += 1
        p = (f"OPTIONS sip:core@{h.CORE4} SIP/2.0\r\n"
             f"Via: SIP/2.0/UDP {h.PEER4}:5060;branch=z9hG4bK-lg{self.n}\r\n"
             f"Max-Forwards: 70\r\nFrom: <sip:ping@{h.PEER4}>;tag=lg\r\nTo: <sip:core@{h.CORE4}>\r\n"
             f"Call-ID: lg-opt-{self.n}@it\r\nCSeq: {self.n} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        return self.sp.udp_frame(h.PEER4, h.CORE4, 5060, 5060, p)

    def invite(self):
        self.n += 1
        p = tr.invite(h.CALLER_CLEAN, call_id=f"lg-inv-{self.n}@it", cseq=self.n, sdp=False)
        return self.sp.udp_frame(h.PEER4, h.CORE4, 5060, 5060, p)

    def run(self):
        try:
            end = time.monotonic() + 30
            fd = None
            while fd is None:
                try:
                    fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    if time.monotonic() > end:
                        raise RuntimeError("the data plane never opened the FIFO")
                    time.sleep(0.01)
            os.set_blocking(fd, True)
            with os.fdopen(fd, "wb", buffering=0) as f:
                f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
                while not self.stop.is_set():
                    frames = [self.options() for _ in range(32)]
                    try:
                        while True:
                            self.invites.get_nowait()
                            frames.append(self.invite())
                    except queue.Empty:
                        pass
                    for fr in frames:
                        f.write(struct.pack("<IIII", 1764320400, self.sent % 1000000, len(fr), len(fr)) + fr)
                        self.sent += 1
                    time.sleep(0.005)
        except Exception as e:  # reported by the main thread
            self.error = e


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


with h.Test("last_good", __doc__) as t:
    art = {v: t.compile_rules("rules-" + v, RULES.format(version="lg-" + v)) for v in ("A", "B", "C", "D")}
    blob = {v: open(p, "rb").read() for v, p in art.items()}
    state = t.path("state")
    last_good = os.path.join(state, "last-good.swr")
    fifo = t.path("trunk-in.fifo")
    os.mkfifo(fifo)
    trunk_out, core_out = t.path("trunk-out.pcap"), t.path("core-out.pcap")
    writer = Writer(fifo)
    writer.start()

    def check_writer():
        if writer.error:
            t.fatal(f"writer: {writer.error}")

    def invites(dp, n=40):
        """Sends n INVITEs and waits until the data plane counted them."""
        before = dp.stats()["counters"]["invites"]
        for _ in range(n):
            writer.invites.put(1)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            check_writer()
            if dp.stats()["counters"]["invites"] >= before + n:
                return
            time.sleep(0.02)
        t.fatal(f"the data plane did not count {n} INVITEs within 20 s")

    def wait_last_good(want, what, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if read(last_good) == want:
                return True
            time.sleep(0.05)
        return t.check(False, f"{what}: last-good.swr did not become the expected set within {timeout} s")

    def options_only(dp, seconds):
        """Lets OPTIONS flow for `seconds`; no INVITE is classified meanwhile."""
        before = dp.stats()["counters"]
        time.sleep(seconds)
        after = dp.stats()["counters"]
        check_writer()
        t.check(after["rx_packets"] > before["rx_packets"], "traffic kept flowing")
        t.eq(after["invites"], before["invites"], "no INVITE meanwhile")

    with h.Dataplane(t, "last-good", [("trunk", f"net_pcap0,rx_pcap={fifo},tx_pcap={trunk_out}", "trunk"),
                                      ("core", f"net_pcap1,tx_pcap={core_out}", "core")],
                     artifact=art["A"], state_dir=state, last_good_after_ms=GRACE_MS) as dp:
        try:
            dp.start()
            # 1. A is loaded and current, but has not classified anything.
            st = dp.request({"v": 1, "cmd": "status"})
            t.eq((st["ruleset"] or {}).get("version"), "lg-A", "status: A is running")
            t.eq(read(last_good), None, "1: no last-good.swr at load time")
            options_only(dp, GRACE_MS / 1000 + 1.0)
            t.eq(read(last_good), None, "1: no last-good.swr after the grace time without an INVITE")

            # 2. A runs: it becomes last good.
            invites(dp)
            wait_last_good(blob["A"], "2: A has run")
            t.check(re.search(r"rule set lg-A has run; remembered as last good", dp.log()),
                    f"2: the log says A was remembered:\n{dp.log()}")

            # 3. B is loaded: not last good at load time, nor without INVITEs.
            r = dp.request({"v": 1, "cmd": "load", "artifact": art["B"]}, timeout=30)
            t.eq(r.get("ok"), True, f"3: load B ({r})")
            t.check(read(last_good) == blob["A"], "3: right after loading B, last-good.swr is still A")
            options_only(dp, GRACE_MS / 1000 + 1.0)
            t.check(read(last_good) == blob["A"], "3: B current past the grace time, no INVITE: still A")

            # 4. B runs.
            invites(dp)
            wait_last_good(blob["B"], "4: B has run")

            # 5. C loads, then its file is replaced before C has run.
            c_path = t.path("c-live.swr")
            shutil.copyfile(art["C"], c_path)
            r = dp.request({"v": 1, "cmd": "load", "artifact": c_path}, timeout=30)
            t.eq(r.get("ok"), True, f"5: load C ({r})")
            shutil.copyfile(art["A"], c_path + ".new")
            os.replace(c_path + ".new", c_path)
            invites(dp)
            options_only(dp, GRACE_MS / 1000 + 1.5)
            t.check(read(last_good) == blob["B"], "5: C's file changed after loading: last-good.swr is still B")
            t.check(re.search(r"not remembered as last good: .*c-live\.swr is no longer the set that was loaded",
                              dp.log()), f"5: the log says why C was not remembered:\n{dp.log()}")
        finally:
            writer.stop.set()
            writer.join(10)
        t.eq(dp.stop(), 0, "exit code after SIGTERM")
    check_writer()

    # 6. On trial when the process died: neither a restart nor a resync brings it back.
    on_trial = os.path.join(state, "on-trial")
    ports = lambda tag: [("trunk", f"net_pcap0,rx_pcap={t.path('empty-' + tag + '.pcap')}", "trunk"),
                         ("core", f"net_pcap1,tx_pcap={t.path('core-' + tag + '.pcap')}", "core")]
    for tag in ("d1", "d2", "d3"):
        with open(t.path("empty-" + tag + ".pcap"), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    with h.Dataplane(t, "trial-d1", ports("d1"), artifact=art["D"], state_dir=state,
                     last_good_after_ms=GRACE_MS) as dp:
        dp.start()
        t.eq(dp.request({"v": 1, "cmd": "status"})["ruleset"]["version"], "lg-D", "6: D is running")
        t.check((read(on_trial) or b"").endswith((" " + art["D"] + "\n").encode()), "6: D is marked on trial")
        dp.proc.kill()  # a crash before D has run
        dp.proc.wait(10)
    with h.Dataplane(t, "trial-d2", ports("d2"), artifact=art["D"], state_dir=state,
                     last_good_after_ms=GRACE_MS) as dp:
        dp.start()
        st = dp.request({"v": 1, "cmd": "status"})
        t.eq(st["ruleset"]["version"], "lg-B", "6: after the crash the last good set B runs, not D")
        t.check("was on trial" in dp.log() and "previous run ended while a rule set was on trial" in dp.log(),
                f"6: the log says why D was skipped:\n{dp.log()}")
        r = dp.request({"v": 1, "cmd": "load", "artifact": art["D"]}, timeout=30)
        t.check(r.get("ok") is False and "was on trial when the data plane last stopped" in r.get("error", ""),
                f"6: load D is refused with the reason ({r})")
        t.eq(dp.request({"v": 1, "cmd": "status"})["ruleset"]["version"], "lg-B", "6: B still runs")
        r = dp.request({"v": 1, "cmd": "load", "artifact": art["A"]}, timeout=30)
        t.eq(r.get("ok"), True, f"6: another set loads ({r})")
        t.eq(dp.stop(), 0, "6: clean stop")
        t.eq(read(on_trial), None, "6: a clean stop clears the on-trial mark")
    with h.Dataplane(t, "trial-d3", ports("d3"), artifact=art["D"], state_dir=state,
                     last_good_after_ms=GRACE_MS) as dp:
        dp.start()
        t.eq(dp.request({"v": 1, "cmd": "status"})["ruleset"]["version"], "lg-D",
             "6: after a clean stop, D is tried again at start")
        t.eq(dp.stop(), 0, "6: clean stop")
