#!/usr/bin/env python3
"""Docs that drift: every counter, metric, command and option the docs name exists.

* every counter of the data plane's list (dataplane/app/counters.h) has a row in
  the counters table of docs/operations.md, and every row there is a counter;
* every `sipwall_*` metric named in README.md and docs/*.md is one /metrics can
  show: a counter of that list (`sipwall_<name>_total`, a gauge without
  `_total`) or a family sipwall-control renders (control/daemon/*.cpp);
* every `sipwallctl ...` command in a code span of the docs exists
  (`sipwallctl <command> --help` succeeds), and every `--option` written after
  it in the same span is one that command's --help prints; the same for the
  options of `sipwall-dataplane` and `sipwall-control`.

Prints every problem with its file and line and exits 1 if there is one.
usage: check_docs.py --source DIR --bin DIR
"""
import argparse
import glob
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--source", required=True)
ap.add_argument("--bin", required=True)
args = ap.parse_args()
src = args.source
problems = []


def docs():
    for path in [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                yield os.path.relpath(path, src), n, line


# --- counters ----------------------------------------------------------------------
counters_h = open(os.path.join(src, "dataplane/app/counters.h"), encoding="utf-8").read()
counters = dict(re.findall(r'X\((\w+),[\s\\]*"([^"]*)"', counters_h))
gauges = {c for c, text in counters.items() if "gauge" in text}
ops = open(os.path.join(src, "docs/operations.md"), encoding="utf-8").read().splitlines()
table, in_table = set(), False
for line in ops:
    m = re.match(r"\| `(\w+)` \| ", line)
    if m and (m.group(1) in counters or in_table):
        in_table = True
        table.add(m.group(1))
    elif in_table and not line.startswith("|"):
        break
for c in sorted(set(counters) - table):
    problems.append(f"docs/operations.md: counter `{c}` (dataplane/app/counters.h) has no row in the counters table")
for c in sorted(table - set(counters)):
    problems.append(f"docs/operations.md: the counters table names `{c}`, which is not a counter")

# --- metrics -----------------------------------------------------------------------
known = set()
for c in counters:
    known.add("sipwall_" + c if c in gauges else "sipwall_" + c + "_total")
# Counters the stats reply adds outside the list (sums over ports).
commands_cpp = open(os.path.join(src, "dataplane/app/commands.cpp"), encoding="utf-8").read()
for c in re.findall(r'counters\["(\w+)"\]', commands_cpp):
    known.add("sipwall_" + c + "_total")
for path in glob.glob(os.path.join(src, "control/daemon/*.cpp")):
    known.update(re.findall(r'"(sipwall_[a-z0-9_]+)"', open(path, encoding="utf-8").read()))
# Names that are not metrics: CMake targets and ctest resources.
not_metrics = set()
for path in glob.glob(os.path.join(src, "**", "CMakeLists.txt"), recursive=True) + \
        glob.glob(os.path.join(src, "cmake", "*.cmake")):
    if "/build" not in path:
        not_metrics.update(re.findall(r"\bsipwall_[a-z0-9_]+", open(path, encoding="utf-8").read()))
for path, n, line in docs():
    for name in re.findall(r"\bsipwall_[a-z0-9_]+", line):
        if name.endswith("_") or re.match(r"sipwall_\d", name):
            continue  # a family prefix (`sipwall_trace_*`) or a package file name (sipwall_0.1.0-1_amd64.deb)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in known or base in known or name in not_metrics:
            continue
        problems.append(f"{path}:{n}: metric `{name}` is not one /metrics shows")

# --- commands and options ------------------------------------------------------------
help_cache = {}


def help_of(argv):
    key = tuple(argv)
    if key not in help_cache:
        r = subprocess.run([os.path.join(args.bin, argv[0])] + argv[1:] + ["--help"], capture_output=True,
                           text=True, timeout=30)
        help_cache[key] = r.stdout if r.returncode == 0 else None
    return help_cache[key]


def subcommands(argv):
    h = help_of(argv) or ""
    part = h.split("Subcommands:", 1)
    return set(re.findall(r"^  (\w[\w-]*)", part[1], re.M)) if len(part) == 2 else set()


for path, n, line in docs():
    for span in re.findall(r"`([^`]+)`", line):
        words = span.split()
        if not words or words[0] not in ("sipwallctl", "sipwall-dataplane", "sipwall-control"):
            continue
        argv = [words[0]]
        i = 1
        while i < len(words) and words[i] in subcommands(argv):
            argv.append(words[i])
            i += 1
        if i < len(words) and re.fullmatch(r"[a-z][a-z-]+", words[i]) and subcommands(argv) \
                and not words[i].startswith("-"):
            problems.append(f"{path}:{n}: `{' '.join(argv + [words[i]])}`: no such command "
                            f"(has: {', '.join(sorted(subcommands(argv)))})")
            continue
        h = help_of(argv)
        if h is None:
            problems.append(f"{path}:{n}: `{' '.join(argv)} --help` fails")
            continue
        for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", " ".join(words[i:])):
            if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", h):
                problems.append(f"{path}:{n}: `{' '.join(argv)}` has no option {opt}")

for p in problems:
    print(p)
print(f"check_docs: {len(counters)} counters, {len(known)} metric names, "
      f"{len(help_cache)} command helps checked; {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
