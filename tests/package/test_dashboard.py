#!/usr/bin/env python3
"""The Grafana dashboard and the Prometheus examples query metrics that exist.

sipwall-dataplane (net_pcap, tests/data/sample.pcap, the demo rule set) and
sipwall-control are started with the harness of
tests/integration/control/control_integration.py (imported, not copied), and
a REAL /metrics is fetched once the sample has been filtered. Then:
* every sipwall_* metric name in the dashboard's PromQL (panels, template
  variables, annotations) and in deploy/prometheus/sipwall-alerts.yml is a
  sample name in that output;
* every label the expressions group by (`by (...)`) or print
  (`{{label}}` legends) is carried by one of the metrics of that expression
  (instance/job are added by Prometheus);
* the dashboard covers what operators look at: INVITE verdicts, rule hits,
  reloads and swap latency, malformed, per-port rx/tx, workers, rule-set version;
* dashboard structure: unique panel ids, gridPos inside 24 columns, every
  query panel has a datasource and expressions;
* `promtool check rules` on the alerts, `promtool check config` on the scrape
  example.
Needs root (DPDK); exits 77 otherwise.
"""
import json
import os
import re
import shutil
import sys
import tempfile

from pkgtest import Failure, Skip, check, main, run

REQUIRED = ["sipwall_invite_verdicts_total", "sipwall_rule_hits_total", "sipwall_control_reloads_total",
            "sipwall_dataplane_reloads_total", "sipwall_dataplane_last_reload_duration_seconds",
            "sipwall_malformed_total", "sipwall_port_rx_packets_total", "sipwall_port_tx_packets_total",
            "sipwall_workers", "sipwall_ruleset_info", "sipwall_dataplane_up",
            # issue 17: worker load and the processes
            "sipwall_worker_busy_seconds_total", "sipwall_worker_rx_burst_packets_bucket",
            "sipwall_held_segments", "process_cpu_seconds_total", "process_resident_memory_bytes",
            # issue 17: counters that split one quantity, as labelled families
            "sipwall_frames_total", "sipwall_malformed_handled_total"]
NAME = re.compile(r"\b((?:sipwall|process)_[A-Za-z0-9_]+)\b")


def exprs_of_dashboard(d):
    """[(where, expr, legend)] for every PromQL expression in the dashboard."""
    out = []

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(d["panels"]):
        for t in p.get("targets", []):
            out.append(("panel '%s'" % p["title"], t["expr"], t.get("legendFormat", "")))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if v.get("type") == "query":
            out.append(("variable $%s" % v["name"], q, ""))
    for a in d.get("annotations", {}).get("list", []):
        if "expr" in a:
            out.append(("annotation '%s'" % a["name"], a["expr"], ""))
    return out


def exprs_of_alerts(text):
    out = []
    for m in re.finditer(r"^\s*- alert: (\S+)\n\s*expr: (.+)$", text, re.M):
        out.append(("alert %s" % m.group(1), m.group(2), ""))
    return out


def sample_labels(metrics_text):
    """{metric name: set of label names} of the samples in an exposition."""
    out = {}
    for line in metrics_text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})? ", line)
        labels = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(3) or ""))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def real_metrics(args):
    """Starts data plane + control with the control integration test's harness; returns /metrics text."""
    sys.path.insert(0, os.path.join(args.source, "tests", "integration", "control"))
    import control_integration as ci
    r = ci.Run(args)
    try:
        r.setup()
        dp = r.start("dataplane", [os.path.join(r.bin, "sipwall-dataplane"), "-c", os.path.join(r.tmp, "dataplane.yaml")])
        ci.wait_for("the data plane's socket", lambda: dp.poll() is None and r.dp_status()["ok"], 30)
        ci.wait_for("the sample replayed (35 frames)", lambda: r.dp_stats()["counters"]["rx_packets"] == 35, 15)
        r.start("control", [os.path.join(r.bin, "sipwall-control"), "-c", os.path.join(r.tmp, "control.yaml")])
        text = ci.wait_for("a /metrics with the data plane up and its rule set",
                           lambda: (lambda t: t if "sipwall_dataplane_up 1" in t and "sipwall_ruleset_info{" in t
                                    and "sipwall_control_last_reload_success" in t else None)(r.metrics_text()), 30)
        return text
    except ci.Failure as e:
        raise Failure(str(e))
    finally:
        r.stop_all()
        shutil.rmtree(r.tmp, ignore_errors=True)


def test(args, tmp):
    if os.geteuid() != 0:
        raise Skip("needs root (DPDK EAL on net_pcap vdevs); CI runs it as root")
    if not shutil.which("promtool"):
        raise Failure("promtool (Debian package prometheus) is missing")
    dash_path = os.path.join(args.source, "deploy", "grafana", "sipwall-dashboard.json")
    alerts_path = os.path.join(args.source, "deploy", "prometheus", "sipwall-alerts.yml")
    prom_path = os.path.join(args.source, "deploy", "prometheus", "prometheus.yml")
    dash = json.load(open(dash_path))

    print("== promtool")
    r = run(["promtool", "check", "rules", alerts_path])
    check(r.returncode == 0 and "SUCCESS" in r.stdout, "promtool check rules sipwall-alerts.yml")
    conf = os.path.join(tmp, "prometheus.yml")
    open(conf, "w").write(open(prom_path).read().replace("/etc/prometheus/sipwall-alerts.yml", alerts_path))
    r = run(["promtool", "check", "config", conf])
    check(r.returncode == 0, "promtool check config prometheus.yml (%s)" % (r.stdout + r.stderr).strip()[-300:])

    print("== dashboard structure")
    ids, queried = set(), 0
    stack = list(dash["panels"])
    while stack:
        p = stack.pop()
        stack.extend(p.get("panels", []))
        check(p["id"] not in ids, "panel id %d unique ('%s')" % (p["id"], p["title"]))
        ids.add(p["id"])
        g = p["gridPos"]
        check(0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, "panel '%s' inside 24 columns" % p["title"])
        if p["type"] != "row":
            queried += 1
            check(p.get("datasource", {}).get("uid") == "${datasource}" and p.get("targets") and
                  all(t.get("expr") for t in p["targets"]), "panel '%s' has a datasource and queries" % p["title"])
    check(queried >= 20, "%d query panels" % queried)

    print("== a real /metrics from sipwall-control")
    text = real_metrics(args)
    have = sample_labels(text)
    check(len(have) >= 40, "/metrics has %d metric names" % len(have))

    exprs = exprs_of_dashboard(dash) + exprs_of_alerts(open(alerts_path).read())
    used = set()
    for where, expr, legend in exprs:
        names = set(NAME.findall(expr))
        check(names or where.startswith("alert SipwallControlDown"), "%s queries sipwall metrics: %s" % (where, expr))
        for n in sorted(names):
            if n not in have:
                raise Failure("%s uses %s, which sipwall-control's /metrics does not have" % (where, n))
        used |= names
        labels = set()
        for by in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            labels |= {l.strip() for l in by.split(",") if l.strip()}
        labels |= set(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", legend))
        carried = set().union(*(have[n] for n in names)) if names else set()
        for l in sorted(labels - {"instance", "job"}):
            if l not in carried:
                raise Failure("%s groups or prints by label '%s', which none of %s carries" % (where, l, sorted(names)))
    check(True, "all %d expressions use %d metric names, every one in /metrics with its labels" % (len(exprs), len(used)))
    for n in REQUIRED:
        check(n in used, "dashboard/alerts cover %s" % n)


if __name__ == "__main__":
    main(test, __doc__)
