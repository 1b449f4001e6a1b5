#!/usr/bin/env python3
"""sipwallctl over every PROTOS c07-sip message: nothing is lost, output is safe.

Issue 12 (item 1): one message whose Call-ID, display name or User-Agent is not
UTF-8 used to throw nlohmann type_error 316 out of `sipwallctl parse`, losing
that message and every one after it (425 of the 9,054 PROTOS messages). This
runs the real CLI over all of them, rendered by render_protos.py (the ctest
fixture corpus.render_protos), and checks:

  parse --format json, raw message files: exit 0, one line per message (in =
    out), every line valid UTF-8 JSON naming its file, in input order, no C1 or
    bidirectional control code point even inside strings, and the stderr
    summary counts every message;
  parse --format json, one pcap with every message that fits a UDP datagram
    (the path of a capture): the same, per frame;
  parse --format table and rules explain --all (text for terminals): one
    row / one `==` header per message, valid UTF-8, no control byte but LF,
    no C1 or bidirectional control.

Usage: protos_cli_test.py --sipwallctl BIN --rendered DIR --source-dir SRC
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

EXPECTED_MESSAGES = 9054
# C1 controls and the bidirectional/line-separator code points (rules/text/safe_text.h).
HIDDEN = [chr(c) for c in range(0x80, 0xA0)] + ["\u2028", "\u2029"] + \
         [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def run(argv, timeout=600):
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def terminal_safe(what, data):
    """Text meant for a terminal: valid UTF-8, no control byte but LF, no hidden control."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return check(False, f"{what}: not valid UTF-8 ({e})")
    bad = sorted({hex(ord(c)) for c in text if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F or c in HIDDEN})
    return check(not bad, f"{what}: control code points in the output: {bad[:10]}")


def check_json_lines(what, out, sources):
    """One JSON object per message, naming `sources[i]` in order."""
    lines = out.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    check(len(lines) == len(sources), f"{what}: {len(lines)} output lines for {len(sources)} messages")
    bad = 0
    for i, raw in enumerate(lines):
        try:
            text = raw.decode("utf-8")
            rec = json.loads(text)
        except (UnicodeDecodeError, ValueError) as e:
            bad += 1
            if bad <= 5:
                check(False, f"{what}: line {i + 1} is not UTF-8 JSON: {e}: {raw[:120]!r}")
            continue
        if any(h in text for h in HIDDEN):
            bad += 1
            if bad <= 5:
                check(False, f"{what}: line {i + 1} carries a C1/bidirectional control unescaped")
        if i < len(sources) and rec.get("source") != sources[i]:
            bad += 1
            if bad <= 5:
                check(False, f"{what}: line {i + 1} is about {rec.get('source')!r}, expected {sources[i]!r}")
    check(bad == 0, f"{what}: {bad} bad lines")
    return lines


def summary_count(err):
    """N from the last stderr line "N SIP messages: ..."."""
    for line in reversed(err.decode("utf-8", "replace").splitlines()):
        if " SIP messages: " in line:
            return int(line.split()[0])
    return None


def pcap_of(files, path, source_dir):
    sys.path.insert(0, os.path.join(source_dir, "tests", "tools"))
    import sippcap as sp
    frames, kept = [], []
    for f in files:
        payload = open(f, "rb").read()
        if len(payload) > 65507:  # not one UDP datagram
            continue
        frames.append(sp.udp_frame("192.0.2.20", "192.0.2.10", 5060, 5060, payload))
        kept.append(f)
    sp.write_pcap(path, frames)
    return kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipwallctl", required=True)
    ap.add_argument("--rendered", required=True, help="render_protos.py output directory")
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    if not os.path.isdir(a.rendered):
        print(f"FAIL: {a.rendered} is missing (the corpus.render_protos fixture renders it)")
        return 1
    files = sorted(os.path.join(a.rendered, n) for n in os.listdir(a.rendered)
                   if n.endswith((".invite", ".teardown")))
    check(len(files) == EXPECTED_MESSAGES, f"{len(files)} rendered PROTOS messages, expected {EXPECTED_MESSAGES}")

    # 1. JSON, raw files: every message its own input.
    rc, out, err = run([a.sipwallctl, "parse", "--format", "json"] + files)
    check(rc == 0, f"parse --format json: exit {rc}: {err[-300:]!r}")
    check_json_lines("parse json (files)", out, files)
    check(summary_count(err) == len(files), f"parse json (files): summary counts {summary_count(err)} messages")

    with tempfile.TemporaryDirectory(prefix="sipwall-protos-cli-") as tmp:
        # 2. JSON, one pcap.
        pcap = os.path.join(tmp, "protos.pcap")
        kept = pcap_of(files, pcap, a.source_dir)
        rc, out, err = run([a.sipwallctl, "parse", "--format", "json", pcap])
        check(rc == 0, f"parse --format json pcap: exit {rc}: {err[-300:]!r}")
        check_json_lines("parse json (pcap)", out, [f"{pcap}#{i + 1}" for i in range(len(kept))])
        check(summary_count(err) == len(kept), f"parse json (pcap): summary counts {summary_count(err)} of {len(kept)}")

        # 3. Tables and explain: text for terminals.
        rc, out, err = run([a.sipwallctl, "parse", "--format", "table", "--no-summary"] + files)
        check(rc == 0, f"parse --format table: exit {rc}: {err[-300:]!r}")
        rows = out.count(b"\n")
        check(rows == len(files), f"parse table: {rows} rows for {len(files)} messages")
        terminal_safe("parse table", out)

        rules = os.path.join(tmp, "trace-all.yaml")
        with open(rules, "w") as f:
            f.write('version: "protos-cli"\ndial_plan: {preset: china}\n'
                    "trunks:\n  protos: {class: peer, sources: [192.0.2.0/24]}\n"
                    "rules:\n  - id: reject-protos\n    match: {trunk: protos}\n"
                    "    action: {reject: {code: 608}}\n")
        rc, out, err = run([a.sipwallctl, "rules", "explain", "--all", "--rules", rules, pcap])
        check(rc == 0, f"rules explain: exit {rc}: {err[-300:]!r}")
        headers = [ln for ln in out.split(b"\n") if ln.startswith(b"== ")]
        check(len(headers) == len(kept), f"rules explain --all: {len(headers)} '==' headers for {len(kept)} messages")
        terminal_safe("rules explain", out)
        terminal_safe("rules explain (stderr)", err)

    if failures:
        print(f"FAIL: {len(failures)} checks failed")
        return 1
    print(f"PASS: {len(files)} PROTOS messages through sipwallctl parse/explain, nothing lost, output safe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
