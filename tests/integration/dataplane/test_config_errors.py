#!/usr/bin/env python3
"""Configuration errors: every mistake reported as file:line:col: message, exit 2.

`--check-config` on a file with eleven mistakes must print each of them at
its exact line and column, in file order (one pass reports all), and exit 2;
the same file without --check-config must also exit 2 before EAL starts; a YAML syntax
error and a missing file are reported the same way; a valid file exits 0 and
prints the EAL arguments it stands for; a control socket path longer than
a Unix socket path can be (sun_path, 107 bytes) fails --check-config with
file:line:col, and so does `--control-socket` with one. No DPDK here: runs
without root.
"""
import os
import re
import subprocess

import harness as h

BAD = """\
eal:
  lcores: "0-1"
  memory_mb: 12
  vdevs: ["net_null0", "net_null1"]
ports:
  - {name: trunk, device: net_null0, role: edge}
  - {name: core, device: net_null1, role: core, mtu: 100000}
  - {name: core, device: net_null0}
pairs:
  - [trunk, nowhere]
workers:
  lcores: [0]
  rx_ring: 512
control:
  mode: "0999"
portz: 1
sip:
  malformed: fail_sometimes
"""
# (line, column, text the message must contain), in file order: the one
# YAML reader (rules/yaml) sorts them.
EXPECTED = [
    (3, 14, "'memory_mb' must be between 64 and 1048576, got 12"),
    (6, 44, "'role' must be trunk or core, got 'edge'"),
    (7, 54, "'mtu' must be between 576 and 9000, got 100000"),
    (8, 12, "port name 'core' used twice"),
    (8, 26, "device 'net_null0' used by two ports"),
    (10, 13, "unknown port 'nowhere' (ports: trunk, core)"),
    (12, 3, "worker lcore 0 is the main lcore"),
    (13, 3, "unknown key 'rx_ring' in workers"),
    (15, 9, "'mode' must be an octal file mode such as \"0660\", got '0999'"),
    (16, 1, "unknown key 'portz' in the configuration; did you mean 'ports'?"),
    (18, 14, "'malformed' must be fail_open or fail_closed, got 'fail_sometimes'"),
]

GOOD = """\
eal:
  lcores: "0-1"
  memory_mb: 256
  file_prefix: it-check
  extra: ["--no-shconf"]
  vdevs: ["net_null0", "net_null1"]
ports:
  - {name: trunk, device: net_null0, role: trunk}
  - {name: core, device: net_null1, role: core}
pairs:
  - [trunk, core]
"""

with h.Test("config_errors", __doc__, needs_root=False) as t:
    dp = t.args.dataplane

    def run(*args):
        return subprocess.run([dp, *args], capture_output=True, text=True, timeout=30)

    bad = t.write("bad.yaml", BAD)
    r = run("-c", bad, "--check-config")
    t.eq(r.returncode, 2, "--check-config on the bad file: exit code")
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    form = re.compile(re.escape(bad) + r":(\d+):(\d+): (.+)$")
    for ln in lines:
        t.check(form.match(ln), f"line in file:line:col: message form: {ln!r}")
    got = [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in map(form.match, lines) if m]
    for line, col, text in EXPECTED:
        t.check(any(g[0] == line and g[1] == col and text in g[2] for g in got),
                f"error {line}:{col} '{text}' reported; got:\n      " + "\n      ".join(lines))
    t.eq(len(got), len(EXPECTED), "number of errors reported (all of them, in one pass)")
    t.eq([(g[0], g[1]) for g in got], [(e[0], e[1]) for e in EXPECTED], "errors in file order")

    r2 = run("-c", bad)
    t.eq(r2.returncode, 2, "starting with the bad file: exit code 2 (before EAL)")
    t.check("EAL" not in r2.stderr and "TELEMETRY" not in r2.stderr, "EAL never started")

    syn = t.write("syntax.yaml", 'eal: {lcores: "0-1"\nports: [\n')
    r = run("-c", syn, "--check-config")
    t.eq(r.returncode, 2, "YAML syntax error: exit code")
    t.check(re.match(re.escape(syn) + r":\d+:\d+: \S", r.stderr), f"YAML syntax error as file:line:col: {r.stderr!r}")

    missing = t.path("nowhere.yaml")
    r = run("-c", missing, "--check-config")
    t.eq(r.returncode, 2, "missing file: exit code")
    t.eq(r.stderr.strip(), missing + ": cannot read the configuration file: No such file or directory",
         "missing file: named, with the OS error")

    # Issue 12: an alias cycle crashed the YAML walkers, an alias bomb ate
    # memory, a FIFO blocked start-up; all refused before the tree is walked.
    cyc = t.write("cycle.yaml", "eal: &e\n  extra: [*e]\n")
    r = run("-c", cyc, "--check-config")
    t.eq(r.returncode, 2, "alias cycle: exit code")
    t.eq(r.stderr.strip(), cyc + ":2:11: YAML alias '*e' is inside the node its anchor '&e' (line 1) names: "
         "a node cannot contain itself", "alias cycle: file:line:col")
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10))
    bombf = t.write("bomb.yaml", bomb)
    r = run("-c", bombf, "--check-config")
    t.eq(r.returncode, 2, "alias bomb: exit code")
    t.check(re.match(re.escape(bombf) + r":\d+:\d+: YAML aliases expand this document to more than", r.stderr),
            f"alias bomb refused at an alias: {r.stderr!r}")
    fifo = t.path("fifo.yaml")
    os.mkfifo(fifo)
    r = run("-c", fifo, "--check-config")   # before: blocked until someone wrote to the FIFO
    t.eq(r.returncode, 2, "FIFO: exit code")
    t.eq(r.stderr.strip(), fifo + ": cannot read the configuration file: a FIFO, not a regular file", "FIFO: why")

    # Issue 17: an unknown option is named (before: only "--config is required").
    r = run("--bogus")
    t.check(r.returncode != 0 and "--bogus" in r.stderr, f"unknown option named: {r.stderr!r}")
    r = run()
    t.check(r.returncode == 2 and "--config is required" in r.stderr, f"no --config: exit 2, said: {r.stderr!r}")

    good = t.write("good.yaml", GOOD)
    r = run("-c", good, "--check-config")
    t.eq(r.returncode, 0, f"valid file: exit code ({r.stderr})")
    t.check(r.stdout.startswith(good + ": OK"), f"valid file: OK line: {r.stdout!r}")
    eal = r.stdout.split("EAL:", 1)[1].split() if "EAL:" in r.stdout else []
    t.eq(eal[1:5], ["-l", "0-1", "--main-lcore", "0"], "EAL: lcores and main lcore")
    for seq in (["--no-huge", "-m", "256"], ["--no-pci"], ["--vdev", "net_null0"], ["--vdev", "net_null1"],
                ["--file-prefix", "it-check"], ["--no-shconf"]):
        t.check(any(eal[i:i + len(seq)] == seq for i in range(len(eal))), f"EAL arguments contain {seq}: {eal}")

    # A socket path bind() cannot take (before: --check said OK, the start failed).
    long_path = "/run/sipwall/" + "s" * 117 + ".sock"  # 135 bytes
    longsock = t.write("longsock.yaml", GOOD + "control:\n  socket: " + long_path + "\n")
    r = run("-c", longsock, "--check-config")
    t.eq(r.returncode, 2, f"130+ character control.socket: --check-config exit code ({r.stdout})")
    t.check(re.search(re.escape(longsock) + r":13:11: socket: the socket path is 135 bytes long; a Unix socket "
                      r"path has at most 107", r.stderr), f"long control.socket reported at 13:11: {r.stderr!r}")
    r = run("-c", good, "--check-config", "--control-socket", long_path)
    t.eq(r.returncode, 2, f"--control-socket with a 135-byte path: exit code ({r.stdout})")
    t.check("--control-socket: the socket path is 135 bytes long" in r.stderr, f"--control-socket says why: {r.stderr!r}")
