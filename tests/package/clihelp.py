"""What the three binaries say about themselves: every command path, its
options and its subcommands, read from their CLI11 `--help` output (the
source of truth the man pages and the bash completion are checked against)."""
import os
import re

from pkgtest import Failure, run

BINARIES = ["sipwall-dataplane", "sipwall-control", "sipwallctl"]


class Command:
    def __init__(self, path):
        self.path = path  # ("rules", "check"); () for the binary itself
        self.options = []  # every name: "-c", "--config", ...
        self.choices = {}  # option name -> allowed values ({a,b} in the help)
        self.subcommands = []

    @property
    def name(self):
        return " ".join(self.path)


def parse_help(text, path):
    """One CLI11 help text -> Command."""
    cmd = Command(path)
    section = None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", line):
            section = line[:-1]
            continue
        m = re.match(r"^  (\S+)(.*)$", line)  # an item (continuation lines are indented further)
        if not m or section is None:
            continue
        first, rest = m.groups()
        if section == "Options":
            names = [re.split(r"[{=]", n)[0] for n in first.split(",")]
            names = [n for n in names if n.startswith("-")]
            cmd.options += names
            ch = re.search(r":\{([^}]*)\}", rest)
            if ch:
                for n in names:
                    cmd.choices[n] = ch.group(1).split(",")
        elif section == "Subcommands":
            cmd.subcommands.append(first)
    return cmd


def commands(bin_dir, binary):
    """Every command path of `binary` (the binary itself first), from --help."""
    out, todo = [], [()]
    while todo:
        path = todo.pop(0)
        argv = [os.path.join(bin_dir, binary)] + list(path) + ["--help"]
        r = run(argv)
        if r.returncode != 0 or "Options:" not in r.stdout:
            raise Failure("%s: exit %d, no option list (%s)" % (" ".join(argv), r.returncode, r.stderr.strip()[:200]))
        cmd = parse_help(r.stdout, path)
        out.append(cmd)
        todo += [path + (s,) for s in cmd.subcommands]
    return out


def long_options(cmd):
    return [o for o in cmd.options if o.startswith("--")]
