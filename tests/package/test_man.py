#!/usr/bin/env python3
"""The manual pages of the three binaries (deploy/man, as the package installs
them: <build>/man/<binary>.8.gz, the version filled in, gzip -9n).

* `man --warnings -E UTF-8 -l` renders each at 80 columns with nothing on
  stderr, and `groff -ww -z` (every warning) is silent too; `.TH` names the
  binary and section 8 (the package installs them in man8), the version is
  filled in, the NAME line is `name \\- summary` (lintian's whatis check).
* Sections an operator looks for: SYNOPSIS, DESCRIPTION, OPTIONS, EXIT
  STATUS, FILES, SEE ALSO (which names the other two binaries).
* Nothing drifts from the binaries: every option every command's `--help`
  prints (sipwallctl: every subcommand, recursively) is in the page; for
  sipwallctl each leaf command has its own subsection, and each of its options
  (but --help) is named in that subsection. A failure lists every gap, as
  "`<command> --help` prints <option>; deploy/man/<page> does not name it".
No root needed.
"""
import gzip
import os
import re
import shutil

from clihelp import BINARIES, commands
from pkgtest import Failure, check, main, run

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "FILES", "SEE ALSO"]


def has_word(text, word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


def render(path):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    r = run(["man", "--warnings", "-E", "UTF-8", "-l", path], env=env)
    text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline, if any
    return r, text


def subsections(text):
    """{heading: body} of the rendered page's subsections (3-space headings)."""
    out, head = {}, None
    for line in text.splitlines():
        if re.match(r"^   \S", line):
            head = line.strip()
            out[head] = ""
        elif re.match(r"^\S", line):
            head = None
        elif head is not None:
            out[head] += line + "\n"
    return out


def test(args, tmp):
    for tool in ("man", "groff"):
        if not shutil.which(tool):
            raise Failure("%s is missing (packages man-db, groff-base)" % tool)
    version = run([os.path.join(args.bin, "sipwallctl"), "--version"]).stdout.split()[-1]
    for b in BINARIES:
        print("== " + b)
        page = os.path.join(args.build, "man", b + ".8.gz")
        check(os.path.isfile(page), "%s exists (configured from deploy/man/%s.8)" % (page, b))
        roff = gzip.open(page, "rt").read()
        check("@SIPWALL_VERSION@" not in roff and ('"sipwall %s"' % version) in roff, "version %s filled in" % version)
        th = re.search(r"^\.TH (\S+) (\S+)", roff, re.M)
        check(th and th.group(1).replace("\\-", "-") == b.upper() and th.group(2) == "8", ".TH %s 8" % b.upper())
        r, text = render(page)
        check(r.returncode == 0 and not r.stderr.strip(),
              "man --warnings -E UTF-8 -l: rendered, no warning (%s)" % r.stderr.strip()[:500])
        src = os.path.join(tmp, b + ".8")
        open(src, "w").write(roff)
        g = run(["groff", "-ww", "-man", "-z", src])
        check(g.returncode == 0 and not g.stderr.strip(), "groff -ww -man: no warning (%s)" % g.stderr.strip()[:500])
        name = re.search(r"^\.SH NAME\n(.*)$", roff, re.M)
        check(name and re.fullmatch(r"%s \\- \S.*" % re.escape(b.replace("-", "\\-")), name.group(1)),
              "NAME line '%s \\- summary'" % b)
        heads = [l.strip() for l in text.splitlines() if re.match(r"^[A-Z][A-Z ]+$", l)]
        for s in SECTIONS:
            check(s in heads, "section %s" % s)
        see_also = text.split("\nSEE ALSO\n", 1)[1]
        for other in BINARIES:
            if other != b:
                check(has_word(see_also, other + "(8)"), "SEE ALSO names %s(8)" % other)

        # Drift: gather every gap of this page first, then fail with all of
        # them, each as "<command> --help prints <option>, <page> lacks it".
        src_page = "deploy/man/%s.8" % b
        subs = subsections(text)
        gaps = []
        for cmd in commands(args.bin, b):
            label = " ".join((b,) + cmd.path)
            if not cmd.path or cmd.subcommands:
                gaps += ["`%s --help` prints %s; %s does not name it" % (label, o, src_page)
                         for o in cmd.options if not has_word(text, o)]
                continue
            # A leaf command of sipwallctl: its own subsection names its options.
            body = [v for k, v in subs.items() if k == cmd.name or k.startswith(cmd.name + " ")]
            if len(body) != 1:
                gaps.append("%s has no subsection \"%s ...\" under COMMANDS (subsections: %s)" %
                            (src_page, cmd.name, list(subs)))
                continue
            gaps += ["`%s --help` prints %s; the \"%s\" subsection of %s does not name it" %
                     (label, o, cmd.name, src_page)
                     for o in cmd.options if o not in ("-h", "--help") and not has_word(body[0], o)]
        check(not gaps, "%s names every option and subcommand --help prints%s" %
              (src_page, "".join("\n    MISSING: " + g for g in gaps)))

if __name__ == "__main__":
    main(test, __doc__)
