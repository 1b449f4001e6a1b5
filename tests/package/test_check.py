#!/usr/bin/env python3
"""`sipwall-dataplane --check` on the three deployment shapes and on mistakes.

* Each shipped example (lab box on af_packet, 2x10G appliance with one pair,
  4-port appliance with two pairs and cpu: core lists, the pcap demo) is
  valid: exit 0, "FILE: OK", the EAL argv, then the plan: cores, ports with
  device/role/mtu/pair, queues per worker, ring sizes, mbuf pool, SIP ports,
  offloads. The facts printed are checked against the file.
* `--check FILE` (positional) and `-c FILE --check-config` agree.
* It never starts EAL: no /run/dpdk/<file_prefix> appears, no EAL log line.
* cpu: mistakes are reported as file:line:col with exit 2: cpu together with
  eal.lcores/workers.lcores, main_core inside corelist_workers, a bad list,
  a worker outside eal.lcores, a PCI device with no_pci, a device that is no vdev.
No root needed (no DPDK).
"""
import os
import re

from pkgtest import check, main, run

SHAPES = {
    "lab-af_packet.yaml": dict(main=0, workers=[1], lcores="0-1", ports=[("trunk", "net_af_packet0", "trunk", "core"),
                                                                        ("core", "net_af_packet1", "core", "trunk")],
                               eal=["--no-huge", "-m", "1024", "--no-pci", "--vdev"]),
    "sipwall.yaml": dict(main=0, workers=[1, 2], lcores="0-2", ports=[("trunk", "0000:3b:00.0", "trunk", "core"),
                                                                      ("core", "0000:3b:00.1", "core", "trunk")],
                         eal=["-a", "0000:3b:00.0", "-a", "0000:3b:00.1"]),
    "appliance-4port.yaml": dict(main=1, workers=[2, 3, 4, 5], lcores="1-5",
                                 ports=[("trunk-a", "0000:3b:00.0", "trunk", "core-a"),
                                        ("core-a", "0000:3b:00.1", "core", "trunk-a"),
                                        ("trunk-b", "0000:5e:00.0", "trunk", "core-b"),
                                        ("core-b", "0000:5e:00.1", "core", "trunk-b")],
                                 eal=["-a", "0000:5e:00.0", "-a", "0000:5e:00.1"]),
    "pcap-demo.yaml": dict(main=0, workers=[1], lcores="0-1", ports=[("trunk", "net_pcap0", "trunk", "core"),
                                                                     ("core", "net_pcap1", "core", "trunk")],
                           eal=["--no-huge", "-m", "512"]),
}

BAD = [
    # (yaml, [(line, col, text)])
    ("""eal:
  vdevs: ["net_null0", "net_null1"]
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
offload:
  steering: maybe
  rss: true
""", [(6, 13, "true or false"), (7, 3, "unknown key 'rss' in offload")]),
    ("""cpu:
  main_core: 1
  corelist_workers: "2-3"
eal:
  lcores: "1-3"
  vdevs: ["net_null0", "net_null1"]
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
workers:
  lcores: [2, 3]
""", [(5, 11, "eal.lcores and cpu: both give the cores"), (10, 11, "workers.lcores and cpu: both give the cores"),
      (2, 3, "cpu: given together with eal/workers")]),
    ("""cpu: {main_core: 3, corelist_workers: "2-5"}
eal: {vdevs: ["net_null0", "net_null1"]}
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
""", [(1, 39, "corelist_workers contains core 3, the main_core")]),
    ("""cpu: {main_core: 0, corelist_workers: "4-2"}
eal: {vdevs: ["net_null0", "net_null1"]}
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
""", [(1, 39, "range 4-2 goes down")]),
    ("""cpu: {main_core: 0, corelist_workers: "1,x"}
eal: {vdevs: ["net_null0", "net_null1"]}
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
""", [(1, 39, "is not a core list")]),
    ("""cpu: {main_core: 0, corelist_workers: "1-2,2"}
eal: {vdevs: ["net_null0", "net_null1"]}
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
""", [(1, 39, "core 2 listed twice")]),
    ("""cpu: {main_core: 0}
eal: {vdevs: ["net_null0", "net_null1"]}
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
""", [(1, 6, "cpu needs corelist_workers")]),
    ("""eal:
  lcores: "0-1"
  vdevs: ["net_null0", "net_null1"]
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
workers:
  lcores: [1, 2]
""", [(7, 11, "worker lcore 2 is not in eal.lcores \"0-1\"")]),
    ("""eal:
  lcores: "0-1"
  no_pci: true
  vdevs: ["net_null0"]
ports: [{name: a, device: net_null0}, {name: b, device: "0000:3b:00.1", role: core}, {name: c, device: net_tap0}]
pairs: [[a, b]]
""", [(5, 57, "is a PCI address but eal.no_pci is true"),
      (5, 104, "device 'net_tap0' is neither a PCI address nor a vdev")]),
]


def plan_facts(out):
    """Parses the --check output into a dict of facts."""
    f = {"ports": []}
    f["ok"] = out.splitlines()[0]
    f["eal"] = out.splitlines()[1].split()[1:]
    m = re.search(r"^  main lcore\s+(\d+)", out, re.M)
    f["main"] = int(m.group(1)) if m else None
    m = re.search(r"^  worker lcores\s+([\d, ]+?)\s+\(", out, re.M)
    f["workers"] = [int(x) for x in m.group(1).split(",")] if m else None
    m = re.search(r"^  EAL lcores\s+(\S+)", out, re.M)
    f["lcores"] = m.group(1) if m else None
    for m in re.finditer(r"^  (\S+)  device (\S+)  role (\S+)  mtu (\d+)  pair (\S+)$", out, re.M):
        f["ports"].append((m.group(1), m.group(2), m.group(3), m.group(5)))
    m = re.search(r"^  (\d+) RX \+ (\d+) TX queues? per port", out, re.M)
    f["queues"] = (int(m.group(1)), int(m.group(2))) if m else None
    f["worker_lines"] = re.findall(r"^  worker (\d+) \(lcore (\d+)\):(.*)$", out, re.M)
    m = re.search(r"^  mbuf pool\s+(\d+) mbufs \(workers.mbufs (\d+), needed (\d+)\)", out, re.M)
    f["pool"] = tuple(int(x) for x in m.groups()) if m else None
    m = re.search(r"^  udp ports\s+(.+)$", out, re.M)
    f["udp"] = m.group(1) if m else None
    f["rss"] = re.search(r"^  RSS\s+(.+)$", out, re.M)
    f["rte_flow"] = re.search(r"^  rte_flow\s+.*probed.*sipwallctl status", out, re.M)
    return f


def test(args, tmp):
    dp = os.path.join(args.bin, "sipwall-dataplane")
    ex = os.path.join(args.source, "deploy", "examples")
    for name, want in SHAPES.items():
        print("== %s" % name)
        path = os.path.join(ex, name)
        # A copy with a unique file prefix: proves EAL never ran (it would create /run/dpdk/<prefix>).
        text = open(path).read()
        prefix = "pkgcheck%d" % os.getpid()
        text = re.sub(r"file_prefix:\s*\S+", "file_prefix: " + prefix, text) if "file_prefix" in text else \
            text.replace("eal:\n", "eal:\n  file_prefix: %s\n" % prefix, 1)
        copy = os.path.join(tmp, name)
        open(copy, "w").write(text)
        r = run([dp, "--check", copy], cwd=args.source)
        check(r.returncode == 0, "%s: --check exit 0 (%s)" % (name, r.stderr.strip()[:300]))
        r2 = run([dp, "-c", copy, "--check-config"], cwd=args.source)
        check(r2.returncode == 0 and r2.stdout == r.stdout, "%s: -c FILE --check-config prints the same" % name)
        check(not os.path.exists("/run/dpdk/" + prefix) and "EAL: " not in r.stderr,
              "%s: EAL was not started" % name)
        f = plan_facts(r.stdout)
        check(f["ok"] == copy + ": OK", "%s: OK line" % name)
        check(f["main"] == want["main"] and f["workers"] == want["workers"] and f["lcores"] == want["lcores"],
              "%s: cores main %s workers %s EAL -l %s" % (name, f["main"], f["workers"], f["lcores"]))
        eal = f["eal"]
        check(eal[1:5] == ["-l", want["lcores"], "--main-lcore", str(want["main"])], "%s: EAL -l/--main-lcore" % name)
        check(any(eal[i:i + len(want["eal"])] == want["eal"] for i in range(len(eal))),
              "%s: EAL argv contains %s" % (name, want["eal"]))
        check(f["ports"] == want["ports"], "%s: ports (name, device, role, pair) %s" % (name, f["ports"]))
        n = len(want["workers"])
        check(f["queues"] == (n, n), "%s: %d RX + %d TX queues per port" % (name, n, n))
        check([(int(a), int(b)) for a, b, _ in f["worker_lines"]] == list(enumerate(want["workers"])) and
              all(line.count("rxq %d/txq %d" % (k, k)) == len(want["ports"])
                  for k, (_, _, line) in enumerate(f["worker_lines"])),
              "%s: worker k polls rxq k / sends on txq k of every port" % name)
        pool, configured, needed = f["pool"]
        nports = len(want["ports"])
        check(needed >= nports * n * 2 * 64 and pool == max(configured, needed),
              "%s: mbuf pool %d = max(configured %d, needed %d)" % (name, pool, configured, needed))
        check(f["rss"] and (("ip, udp, tcp" in f["rss"].group(1)) == (n > 1)), "%s: RSS line fits %d worker(s)" % (name, n))
        check(f["rte_flow"], "%s: rte_flow line points at sipwallctl status" % name)
        check(f["udp"] and "5060" in f["udp"], "%s: SIP UDP ports %s" % (name, f["udp"]))

    print("== offload: switched off per kind")
    base = """eal:
  vdevs: ["net_null0", "net_null1"]
ports: [{name: a, device: net_null0}, {name: b, device: net_null1, role: core}]
pairs: [[a, b]]
"""
    for body, probed, off in [("offload: {steering: false}\n", "source-prefix deny is probed", "steering"),
                              ("offload: {deny: false}\n", "SIP steering is probed", "deny"),
                              ("offload: {steering: false, deny: false}\n", None, "steering and deny")]:
        path = os.path.join(tmp, "offload.yaml")
        open(path, "w").write(base + body)
        r = run([dp, "--check", path])
        check(r.returncode == 0, "offload %s: exit 0 (%s)" % (off, r.stderr.strip()[:200]))
        flow = re.findall(r"^  rte_flow.*$", r.stdout, re.M)
        want = ([] if probed is None else [probed]) + ["rte_flow off   %s (offload: in the config)" % off]
        check(len(flow) == len(want) and all(w in line for w, line in zip(want, flow)),
              "offload %s: rte_flow lines %s" % (off, flow))

    print("== mistakes: exit 2, file:line:col")
    for i, (yaml_text, expected) in enumerate(BAD):
        path = os.path.join(tmp, "bad%d.yaml" % i)
        open(path, "w").write(yaml_text)
        r = run([dp, "--check", path])
        check(r.returncode == 2, "bad%d: exit 2 (got %d)" % (i, r.returncode))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        form = re.compile(re.escape(path) + r":(\d+):(\d+): (.+)$")
        got = [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in map(form.match, lines) if m]
        check(len(got) == len(lines) == len(expected), "bad%d: %d error(s), all file:line:col: %s" % (
            i, len(expected), lines))
        for line, col, text in expected:
            check(any(g[0] == line and g[1] == col and text in g[2] for g in got),
                  "bad%d: %d:%d %s (got %s)" % (i, line, col, text, got))


if __name__ == "__main__":
    main(test, __doc__)
