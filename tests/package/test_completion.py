#!/usr/bin/env python3
"""The bash completion of the three binaries (deploy/bash-completion/<binary>,
installed in /usr/share/bash-completion/completions/), run in a real bash.

For every command path `--help` shows (sipwallctl: every subcommand,
recursively; an option's value in between must not confuse it):
* completing `-` offers exactly the long options that command's `--help`
  prints (none missing, none stale), and any short option it offers is one
  `--help` prints;
* completing an empty word after a command with subcommands offers exactly
  its subcommands;
* after an option whose `--help` lists its values ({a,b}) exactly those
  values are offered;
and `bash -n` accepts each file. The scripts use bash builtins only, so no
bash-completion package is needed. No root needed.
"""
import os
import re
import shutil

from clihelp import BINARIES, commands, long_options
from pkgtest import Failure, check, main, run


def complete(script, binary, words):
    """COMPREPLY for the command line `words`, completing its last word."""
    prog = 'source "$1"; shift\n' \
           'fn=$(complete -p "$1" | sed -n "s/.* -F \\([^ ]*\\) .*/\\1/p")\n' \
           '[ -n "$fn" ] || { echo "no completion function for $1" >&2; exit 3; }\n' \
           'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n' \
           '"$fn"; printf "%s\\n" "${COMPREPLY[@]}"\n'
    r = run(["bash", "--norc", "--noprofile", "-c", prog, "complete-test", script, binary] + words)
    if r.returncode != 0:
        raise Failure("completing %s: bash exit %d: %s" % (words, r.returncode, r.stderr.strip()[:300]))
    return [w for w in r.stdout.split("\n") if w]


def test(args, tmp):
    if not shutil.which("bash"):
        raise Failure("bash is missing")
    for b in BINARIES:
        print("== " + b)
        script = os.path.join(args.source, "deploy", "bash-completion", b)
        check(os.path.isfile(script), "deploy/bash-completion/%s exists" % b)
        r = run(["bash", "-n", script])
        check(r.returncode == 0, "bash -n %s (%s)" % (b, r.stderr.strip()))
        for cmd in commands(args.bin, b):
            label = " ".join((b,) + cmd.path)
            # An option with a value before the cursor must not be read as a command word.
            prefix = [b] + list(cmd.path)
            if b == "sipwallctl" and cmd.path and "--timeout" in cmd.options:
                prefix += ["--timeout", "5"]
            offered = complete(script, b, prefix + ["-"])
            want = sorted(set(long_options(cmd)))
            got_long = sorted(set(o for o in offered if o.startswith("--")))
            check(got_long == want, "%s -<TAB>: the long options of --help (missing %s, stale %s)" %
                  (label, sorted(set(want) - set(got_long)), sorted(set(got_long) - set(want))))
            short = [o for o in offered if not o.startswith("--")]
            check(all(o in cmd.options for o in short), "%s -<TAB>: short options %s are in --help" % (label, short))
            if cmd.subcommands:
                offered = complete(script, b, prefix + [""])
                check(sorted(offered) == sorted(cmd.subcommands),
                      "%s <TAB>: its subcommands %s (got %s)" % (label, cmd.subcommands, offered))
            for opt, values in cmd.choices.items():
                if opt.startswith("--"):
                    offered = complete(script, b, prefix + [opt, ""])
                    check(sorted(offered) == sorted(values), "%s %s <TAB>: %s (got %s)" % (label, opt, values, offered))


if __name__ == "__main__":
    main(test, __doc__)
