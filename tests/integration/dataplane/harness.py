"""Shared machinery of the data plane's integration tests (stdlib only).

Each test script runs the real `sipwall-dataplane` on DPDK `net_pcap` vdevs
(`--no-huge`, no NIC) in its own temporary directory, with its own EAL file
prefix and control socket, and checks what came out of each port. This module
gives them:

* `Test`: arguments, the temporary directory, rule-set compilation, the
  list of failed checks, and the exit code (77 = skipped: not root).
* `Dataplane`: writes the YAML config, starts the process, talks to its
  control socket, waits for the traffic to be consumed, stops it with SIGTERM
  and always kills it in `finally`.
* `decode()`: a small L2-L4 decoder for checking output frames in Python.
* `tshark_fields()`: tshark with checksum validation on, one dict per frame.
* `check_counters()`: the counter invariant every run must satisfy.
"""
import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

# Addresses of the crafted traffic: trunks on the left, the core on the right.
PEER4, PEER6 = "192.0.2.11", "2001:db8:a::11"
CORE4, CORE6 = "10.10.0.10", "2001:db8:c0::10"

# Numbers the test rule sets act on (China dial plan).
CALLER_CLEAN = "+8613512345678"
CALLER_608 = "+8613800138000"
CALLER_603 = "+8613900139000"
CALLER_DROP = "+8613700137000"
CALLER_TAG = "+8618600186000"
TAG_LINE = "X-Sipwall-Risk: score=70; rule=tag-caller"
REASON_608 = "Rejected by integration test"
REASON_603 = "Do not call"
CALL_INFO_608 = "https://sipwall.example.net/608/it.jwt"

# The rule set most tests use; `malformed` is fail_open or fail_closed.
RULES_TEMPLATE = """\
version: "{version}"
name: it-packets
dial_plan: {{preset: china}}
defaults: {{action: pass, malformed: {malformed}}}
rules:
  - id: block-608
    match: {{caller: {{equals: ["+86 138 0013 8000"]}}}}
    action:
      reject: {{code: 608, reason: "{r608}", call_info: "{ci}"}}
  - id: block-603
    match: {{caller: {{equals: ["+86 139 0013 9000"]}}}}
    action:
      reject: {{code: 603, reason: "{r603}"}}
  - id: drop-caller
    match: {{caller: {{equals: ["+86 137 0013 7000"]}}}}
    action: drop
  - id: tag-caller
    match: {{caller: {{equals: ["+86 186 0018 6000"]}}}}
    action:
      tag: {{header: X-Sipwall-Risk, value: "score={{score}}; rule={{rule}}", score: 70}}
"""


def packet_rules(version="it-packets.1", malformed="fail_open"):
    return RULES_TEMPLATE.format(version=version, malformed=malformed, r608=REASON_608,
                                 r603=REASON_603, ci=CALL_INFO_608)


class Test:
    """One test run: arguments, temp dir, failures. Use as a context manager:
    `with Test("name") as t: ...`; leaving it prints the verdict and exits."""

    def __init__(self, name, description="", needs_root=True):
        p = argparse.ArgumentParser(description=description or name)
        p.add_argument("--dataplane", required=True, help="sipwall-dataplane binary")
        p.add_argument("--sipwallctl", required=True, help="sipwallctl binary")
        p.add_argument("--source-dir", required=True, help="repository root")
        p.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
        p.add_argument("--keep", action="store_true", help="keep the temp dir even on success")
        self.args = p.parse_args()
        self.name = name
        self.failures = []
        self.checks = 0
        self.dir = None
        self.needs_root = needs_root
        sys.path.insert(0, os.path.join(self.args.source_dir, "tests", "tools"))

    def __enter__(self):
        if self.needs_root and os.geteuid() != 0:
            print(f"SKIP {self.name}: needs root (DPDK --no-huge with net_pcap vdevs); CI runs it as root")
            sys.exit(SKIP)
        if not shutil.which(self.args.tshark):
            print(f"FAIL {self.name}: tshark not found (apt-get install tshark)")
            sys.exit(1)
        for b in (self.args.dataplane, self.args.sipwallctl):
            if not os.access(b, os.X_OK):
                print(f"FAIL {self.name}: {b} is not built")
                sys.exit(1)
        self.dir = tempfile.mkdtemp(prefix=f"sipwall-it-{self.name}-")
        print(f"{self.name}: working in {self.dir}")
        return self

    def __exit__(self, etype, exc, tb):
        if etype is not None and etype is not SystemExit:
            import traceback
            traceback.print_exception(etype, exc, tb)
            self.failures.append(f"exception: {etype.__name__}: {exc}")
        if etype is SystemExit:
            return False
        if self.failures:
            print(f"\nFAIL {self.name}: {len(self.failures)} of {self.checks} checks failed "
                  f"(files kept in {self.dir}):")
            for f in self.failures:
                print("  - " + f)
            sys.exit(1)
        print(f"PASS {self.name}: {self.checks} checks")
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        sys.exit(0)

    # --- checks -------------------------------------------------------------
    def check(self, cond, msg):
        self.checks += 1
        if not cond:
            self.failures.append(msg)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def fatal(self, msg):
        """A failure after which the rest of the test makes no sense."""
        self.failures.append(msg)
        raise SystemExit(self._exit_now())

    def _exit_now(self):
        print(f"\nFAIL {self.name}: stopped early (files kept in {self.dir}):")
        for f in self.failures:
            print("  - " + f)
        return 1

    # --- files --------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def compile_rules(self, name, yaml_text):
        """Writes NAME.yaml and compiles it to NAME.swr with sipwallctl; returns the .swr path."""
        src = self.write(name + ".yaml", yaml_text)
        out = self.path(name + ".swr")
        r = subprocess.run([self.args.sipwallctl, "rules", "compile", src, "-o", out],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not os.path.exists(out):
            self.fatal(f"sipwallctl rules compile {src} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return out


# --- the data plane process ---------------------------------------------------

class Dataplane:
    """A sipwall-dataplane process on net_pcap vdevs.

    `ports` is a list of (name, vdev devargs, role[, mtu]); the first two are
    paired. Use as a context manager: the process is killed on the way out
    whatever happened."""

    def __init__(self, t, tag, ports, artifact=None, state_dir=None, idle_ms=0, extra_yaml="",
                 stats_json=True, last_good_after_ms=None, memory_mb=256, workers=1):
        self.t = t
        # More workers than this VM has CPUs besides the main one: they share
        # CPU 1 through an lcore@cpu mapping (EAL --lcores).
        self.workers = workers
        self.memory_mb = memory_mb
        self.last_good_after_ms = last_good_after_ms
        self.tag = tag
        self.ports = ports
        self.artifact = artifact
        self.state_dir = state_dir or t.path(tag + "-state")
        self.idle_ms = idle_ms
        self.socket = t.path(tag + ".sock")
        self.stats_path = t.path(tag + "-stats.json") if stats_json else None
        self.prefix = f"sipwall-it-{t.name}-{tag}-{os.getpid()}"
        self.config = t.path(tag + ".yaml")
        self.stdout = t.path(tag + ".stdout")
        self.stderr = t.path(tag + ".stderr")
        self.proc = None
        self.rc = None
        self._write_config(extra_yaml)

    def _write_config(self, extra):
        vdevs = "\n".join(f'    - "{p[1]}"' for p in self.ports)
        ports = "\n".join(
            f"  - {{name: {p[0]}, device: {p[1].split(',')[0]}, role: {p[2]}"
            + (f", mtu: {p[3]}" if len(p) > 3 else "") + "}" for p in self.ports)
        art = f"  artifact: {self.artifact}\n" if self.artifact else ""
        if self.last_good_after_ms is not None:
            art += f"  last_good_after_ms: {self.last_good_after_ms}\n"
        run = f"run:\n  stop_when_idle_ms: {self.idle_ms}\n" if self.idle_ms else ""
        text = f"""\
# generated by tests/integration/dataplane ({self.t.name})
eal:
  lcores: "{'0-1' if self.workers == 1 else f'0@0,(1-{self.workers})@1'}"
  main_lcore: 0
  memory_mb: {self.memory_mb}
  no_huge: true
  no_pci: true
  file_prefix: {self.prefix}
  extra: ["--no-shconf", "--log-level=lib.eal:warning"]
  vdevs:
{vdevs}
ports:
{ports}
pairs:
  - [{self.ports[0][0]}, {self.ports[1][0]}]
workers:
  lcores: [{", ".join(str(i) for i in range(1, self.workers + 1))}]
ruleset:
{art}  state_dir: {self.state_dir}
control:
  socket: {self.socket}
{run}{extra}"""
        with open(self.config, "w") as f:
            f.write(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)
        return False

    def start(self, *extra_args, wait_socket=True):
        cmd = [self.t.args.dataplane, "-c", self.config]
        if self.stats_path:
            cmd += ["--stats-json", self.stats_path]
        cmd += list(extra_args)
        self.out_f = open(self.stdout, "w")
        self.err_f = open(self.stderr, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out_f, stderr=self.err_f)
        if wait_socket:
            self.wait_socket()
        return self

    def log(self):
        try:
            return open(self.stderr).read()
        except OSError:
            return ""

    def wait_socket(self, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.t.fatal(f"{self.tag}: sipwall-dataplane exited with {self.proc.returncode} "
                             f"before its control socket appeared:\n{self.log()}")
            if os.path.exists(self.socket):
                try:
                    self.request({"v": 1, "cmd": "status"}, timeout=5)
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        self.t.fatal(f"{self.tag}: no control socket {self.socket} after {timeout} s:\n{self.log()}")

    def request(self, req, timeout=10.0):
        """One request on a fresh connection; returns the decoded reply."""
        line = req if isinstance(req, str) else json.dumps(req)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf.decode())

    def stats(self):
        return self.request({"v": 1, "cmd": "stats"})

    def wait_rx(self, n, timeout=30.0):
        """Polls `stats` until the ports received `n` frames in all."""
        end = time.monotonic() + timeout
        rx = -1
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.t.fatal(f"{self.tag}: sipwall-dataplane exited ({self.proc.returncode}) "
                             f"while waiting for {n} frames:\n{self.log()}")
            rx = self.stats()["counters"]["rx_packets"]
            if rx >= n:
                return rx
            time.sleep(0.02)
        self.t.fatal(f"{self.tag}: only {rx} of {n} frames received after {timeout} s")

    def stop(self, timeout=20.0):
        """SIGTERM, then wait: a clean stop writes the pcaps and the stats file."""
        if self.proc is None or self.proc.poll() is not None:
            return self.wait(timeout)
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout=30.0):
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.t.fatal(f"{self.tag}: sipwall-dataplane did not exit within {timeout} s:\n{self.log()}")
        self.out_f.close()
        self.err_f.close()
        return self.rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def final_stats(self):
        with open(self.stats_path) as f:
            return json.load(f)


def run_pcap(t, tag, frames, artifact, *, core_mtu=None, trunk_mtu=None, state_dir=None, extra_args=(),
             extra_yaml="", settle_s=0.0):
    """The usual run: `frames` are replayed on the trunk port; returns
    (trunk-out frames, core-out frames, final stats, Dataplane). `extra_yaml`
    is appended to the config; `settle_s` is how long to let it run after the
    last frame arrived (timeouts) before stopping it."""
    sp = sippcap()
    rx = t.path(tag + "-in.pcap")
    sp.write_pcap(rx, frames, snaplen=max([65535] + [len(f) for f in frames]))
    trunk_out, core_out = t.path(tag + "-trunk-out.pcap"), t.path(tag + "-core-out.pcap")
    core = ("core", f"net_pcap1,tx_pcap={core_out}", "core") + ((core_mtu,) if core_mtu else ())
    trunk = ("trunk", f"net_pcap0,rx_pcap={rx},tx_pcap={trunk_out}", "trunk") + ((trunk_mtu,) if trunk_mtu else ())
    with Dataplane(t, tag, [trunk, core],
                   artifact=artifact, state_dir=state_dir, extra_yaml=extra_yaml) as dp:
        dp.start(*extra_args)
        dp.wait_rx(len(frames))
        if settle_s:
            time.sleep(settle_s)
        rc = dp.stop()
        t.eq(rc, 0, f"{tag}: exit code after SIGTERM")
        stats = dp.final_stats()
    out_t, out_c = sp.read_pcap(trunk_out), sp.read_pcap(core_out)
    check_counters(t, tag, stats, sent=len(frames), trunk_out=trunk_out, core_out=core_out)
    return out_t, out_c, stats, dp


def sippcap():
    import sippcap as sp  # tests/tools, on sys.path once Test() ran
    return sp


# --- counters -------------------------------------------------------------------

def tshark_count(t, path):
    return len(tshark_fields(t, path, ["frame.number"]))


def check_counters(t, tag, stats, *, sent, trunk_out, core_out, core_sent=0):
    """What every run must satisfy: every frame received is accounted for once
    (rx = forwarded + dropped + rejected + absorbed + held, where `held`, the
    TCP segments waiting for the rest of a message, is 0 once stopped), the
    receive counter equals what was sent, and the port TX counters equal the
    frames tshark finds in each output pcap."""
    c = stats["counters"]
    t.eq(c["rx_packets"], sent + core_sent, f"{tag}: rx_packets = frames sent")
    t.eq(c["forwarded"] + c["dropped"] + c["rejected"] + c["absorbed"] + c["held"], c["rx_packets"],
         f"{tag}: forwarded {c['forwarded']} + dropped {c['dropped']} + rejected {c['rejected']} "
         f"+ absorbed {c['absorbed']} + held {c['held']} = rx_packets")
    t.eq(c["held"], 0, f"{tag}: nothing held after a clean stop")
    ports = {p["name"]: p for p in stats["ports"]}
    t.eq(ports["trunk"]["rx_packets"], sent, f"{tag}: trunk port rx_packets")
    n_trunk, n_core = tshark_count(t, trunk_out), tshark_count(t, core_out)
    t.eq(ports["trunk"]["tx_packets"], n_trunk, f"{tag}: trunk tx_packets = frames tshark counts in trunk-out")
    t.eq(ports["core"]["tx_packets"], n_core, f"{tag}: core tx_packets = frames tshark counts in core-out")
    t.eq(c["tx_dropped"], 0, f"{tag}: tx_dropped")
    return n_trunk, n_core


# --- tshark ---------------------------------------------------------------------

TSHARK_CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                    "-o", "tcp.check_checksum:TRUE"]


# Every field any test reads: one tshark run per output file serves them all
# (tshark takes ~0.5 s to start; the suite has a time budget).
_TSHARK_FIELDS = [
    "frame.number", "frame.len", "eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst", "ip.id",
    "ip.flags.mf", "ip.frag_offset", "ipv6.src", "ipv6.dst", "ipv6.fraghdr.ident", "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
    "tcp.ack_raw", "tcp.flags", "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status",
    "sip.Method", "sip.Status-Code", "sip.Status-Line", "sip.Call-ID", "sip.CSeq", "sip.Via.branch",
    "sip.to.tag", "sip.Reason", "sip.Call-Info", "sip.msg_hdr", "sip.Content-Length",
    "_ws.malformed", "_ws.expert.severity", "_ws.expert.message"]
_tshark_cache = {}


def tshark_fields(t, path, fields):
    """One dict per frame: field -> value ('' when absent; occurrences joined by ',').
    Checksum validation is on, so *.checksum.status is 1 (good) or 0 (bad)."""
    for f in fields:
        if f not in _TSHARK_FIELDS:
            _TSHARK_FIELDS.append(f)
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size, len(_TSHARK_FIELDS))
    if key not in _tshark_cache:
        cmd = [t.args.tshark, "-r", path, *TSHARK_CHECKSUMS, "-T", "fields", "-E", "separator=\t",
               "-E", "occurrence=a", "-E", "aggregator=,", "-E", "quote=n"]
        for f in _TSHARK_FIELDS:
            cmd += ["-e", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            t.fatal(f"tshark -r {path} failed ({r.returncode}): {r.stderr}")
        rows = []
        for line in r.stdout.split("\n"):
            if line == "":
                continue
            vals = line.split("\t")
            rows.append(dict(zip(_TSHARK_FIELDS, vals + [""] * (len(_TSHARK_FIELDS) - len(vals)))))
        _tshark_cache[key] = rows
    return _tshark_cache[key]


PI_ERROR = 0x00800000  # epan/proto.h: expert severity "error" (bad checksum, malformed, ...)


def tshark_malformed(t, path):
    """Frames tshark flags as malformed or with an error-level expert item."""
    bad = []
    for r in tshark_fields(t, path, []):
        sev = [int(x) for x in r["_ws.expert.severity"].split(",") if x]
        if r["_ws.malformed"] or any(x >= PI_ERROR for x in sev):
            bad.append(f"frame {r['frame.number']}: {r['_ws.expert.message']}")
    return bad


# --- frames ---------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Frame:
    """A decoded Ethernet frame (only what the tests look at)."""

    def __init__(self, raw):
        self.raw = raw
        self.dst_mac, self.src_mac = raw[0:6], raw[6:12]
        off, self.vlans, self.tpids = 12, [], []
        etype = struct.unpack("!H", raw[off:off + 2])[0]
        while etype in (0x8100, 0x88A8, 0x9100):
            tci = struct.unpack("!H", raw[off + 2:off + 4])[0]
            self.tpids.append(etype)
            self.vlans.append(tci & 0x0FFF)
            off += 4
            etype = struct.unpack("!H", raw[off:off + 2])[0]
        self.ethertype = etype
        self.l3 = off + 2
        self.ip = None
        self.frag = None          # (ident, offset, more) of an IP fragment
        self.proto = None
        self.l4 = None
        self.sport = self.dport = None
        self.payload = b""
        if etype == 0x0800:
            self._ipv4()
        elif etype == 0x86DD:
            self._ipv6()

    def _ipv4(self):
        r, o = self.raw, self.l3
        ihl = (r[o] & 0x0F) * 4
        tot, ident, ff, _ttl, proto = struct.unpack("!HHHBB", r[o + 2:o + 10])
        self.ip = 4
        self.ip_header = r[o:o + ihl]
        self.ip_total = tot
        self.ip_ident = ident
        self.ip_df = bool(ff & 0x4000)
        self.ip_ttl = r[o + 8]
        self.src = str(ipaddress.IPv4Address(r[o + 12:o + 16]))
        self.dst = str(ipaddress.IPv4Address(r[o + 16:o + 20]))
        self.ip_checksum_ok = csum(r[o:o + ihl]) == 0
        self.proto = proto
        self.ip_end = o + tot
        self.ip_payload = r[o + ihl:o + tot]
        more, foff = bool(ff & 0x2000), (ff & 0x1FFF) * 8
        if more or foff:
            self.frag = (ident, foff, more)
            if foff:
                return
        self._l4(o + ihl, o + tot)

    def _ipv6(self):
        r, o = self.raw, self.l3
        plen, nh = struct.unpack("!HB", r[o + 4:o + 7])
        self.ip = 6
        self.ip_hop = r[o + 7]
        self.src = str(ipaddress.IPv6Address(r[o + 8:o + 24]))
        self.dst = str(ipaddress.IPv6Address(r[o + 24:o + 40]))
        self.ip_end = o + 40 + plen
        p = o + 40
        self.ext = []
        while nh in (0, 43, 60, 44):
            self.ext.append(nh)
            if nh == 44:
                nxt, _, offm, ident = struct.unpack("!BBHI", r[p:p + 8])
                foff, more = offm & 0xFFF8, bool(offm & 1)
                self.frag = (ident, foff, more)
                self.frag_next = nxt
                nh, p = nxt, p + 8
                self.ip_payload = r[p:self.ip_end]
                if foff:
                    self.proto = nh
                    return
                continue
            nxt, hlen = r[p], (r[p + 1] + 1) * 8
            nh, p = nxt, p + hlen
        self.proto = nh
        self.ip_payload = r[p:self.ip_end]
        self._l4(p, self.ip_end)

    def _l4(self, o, end):
        r = self.raw
        self.l4 = o
        if self.proto == 17 and end - o >= 8:
            self.sport, self.dport, ulen = struct.unpack("!HHH", r[o:o + 6])
            self.udp_len = ulen
            self.payload = r[o + 8:min(end, o + ulen)] if not self.frag else r[o + 8:end]
        elif self.proto == 6 and end - o >= 20:
            (self.sport, self.dport, self.seq, self.ack, doff, self.tcp_flags,
             self.window) = struct.unpack("!HHIIBBH", r[o:o + 16])
            hl = (doff >> 4) * 4
            self.payload = r[o + hl:end]

    def l4_checksum_ok(self):
        """UDP/TCP checksum over the pseudo-header (whole datagrams only)."""
        if self.frag or self.l4 is None:
            return None
        seg = self.raw[self.l4:self.ip_end]
        if self.proto == 17 and self.ip == 4 and seg[6:8] == b"\0\0":
            return True
        s = ipaddress.ip_address(self.src).packed
        d = ipaddress.ip_address(self.dst).packed
        if self.ip == 4:
            pseudo = s + d + struct.pack("!BBH", 0, self.proto, len(seg))
        else:
            pseudo = s + d + struct.pack("!IxxxB", len(seg), self.proto)
        return csum(pseudo + seg) == 0

    def describe(self):
        v = ("vlan " + "/".join(map(str, self.vlans)) + " ") if self.vlans else ""
        if self.ip is None:
            return f"{v}ethertype 0x{self.ethertype:04x}, {len(self.raw)} bytes"
        f = f" frag(id={self.frag[0]:#x} off={self.frag[1]} more={self.frag[2]})" if self.frag else ""
        first = self.payload.split(b"\r\n", 1)[0][:60]
        return f"{v}IPv{self.ip} {self.src}:{self.sport} -> {self.dst}:{self.dport} proto {self.proto}{f} {first!r}"


def decode(raw):
    return Frame(raw)


def reassemble(frames):
    """The IP payload of a datagram from its fragments (any order); None if incomplete."""
    parts = sorted((f.frag[1], f.ip_payload, f.frag[2]) for f in frames)
    data, expect = b"", 0
    for off, chunk, more in parts:
        if off != expect:
            return None
        data += chunk
        expect += len(chunk)
    if parts and parts[-1][2]:
        return None
    return data


# --- SIP text -------------------------------------------------------------------

def sip_headers(text):
    """(first line, [(name, value)], body) of a SIP message as bytes/str."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = []
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        hdrs.append((name.strip(), value.strip()))
    return lines[0], hdrs, body


def header(hdrs, *names):
    names = [n.lower() for n in names]
    return [v for n, v in hdrs if n.lower() in names]
