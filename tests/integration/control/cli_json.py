#!/usr/bin/env python3
"""`sipwallctl rules check|diff --format json`: one JSON document on stdout,
valid UTF-8 JSON whatever bytes the rule files and their names hold, and the
documented exit codes (0 ok, 1 the rule set has errors). No root, no
running service.

  cli_json.py --bin build/bin --source .
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import Failure, check  # noqa: E402


def ctl(bin_dir, *argv, cwd=None):
    r = subprocess.run([os.path.join(bin_dir, "sipwallctl")] + [os.fsencode(a) if isinstance(a, bytes) else a
                                                                 for a in argv],
                       capture_output=True, timeout=60, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def document(out):
    """The one JSON document on stdout, strictly UTF-8 (raises otherwise)."""
    return json.loads(out.decode("utf-8", errors="strict"))


def test(bin_dir, src, tmp):
    shutil.copytree(os.path.join(src, "rules", "examples", "lists"), os.path.join(tmp, "lists"))
    demo_text = open(os.path.join(src, "rules", "examples", "demo.yaml"), "rb").read()
    demo = os.path.join(tmp, "demo.yaml")
    open(demo, "wb").write(demo_text)

    print("== rules check --format json")
    rc, out, err = ctl(bin_dir, "rules", "check", "--format", "json", demo)
    j = document(out)
    check(rc == 0 and j["ok"] is True and j["errors"] == 0 and j["name"] == "demo" and j["stats"]["rules"] == 7
          and any(l["name"] == "harassment" for l in j["stats"]["lists"]),
          "a valid set: exit 0, ok, name, statistics (%s)" % err.decode(errors="replace")[:200])
    broken = os.path.join(tmp, "broken.yaml")
    open(broken, "wb").write(demo_text.replace(b"priority: 100", b"priority: high"))
    rc, out, err = ctl(bin_dir, "rules", "check", "--format", "json", broken)
    j = document(out)
    d = j["diagnostics"][0]
    check(rc == 1 and j["ok"] is False and j["errors"] == 1 and d["severity"] == "error" and d["line"] == 56
          and d["column"] == 15 and "'priority' must be an integer" in d["message"] and j["stats"] is None,
          "a broken set: exit 1, the error with line and column")

    # A file name and a list file with bytes that are not UTF-8 (and an
    # escape sequence): the document stays valid JSON, the bytes replaced.
    odd = os.path.join(os.fsencode(tmp), b"r\xff\x1b[2J.yaml")
    open(odd, "wb").write(demo_text.replace(b"lists/suspected.txt", b"lists/sus\xfe.txt"))
    open(os.path.join(os.fsencode(tmp), b"lists", b"sus\xfe.txt"), "wb").write(b"+8618600186000\n\xff\xfe bad\n")
    rc, out, err = ctl(bin_dir, "rules", "check", "--format", "json", odd)
    j = document(out)
    check(rc == 1 and "\ufffd" in j["file"] and "\x1b" not in out.decode()
          and any("\ufffd" in x["file"] or "\\xff" in x["message"] for x in j["diagnostics"]),
          "bytes that are not UTF-8 in names and list lines: valid JSON, U+FFFD, no raw escape (%s)" % j["file"])

    print("== rules diff --format json")
    new = os.path.join(tmp, "new.yaml")
    open(new, "wb").write(demo_text.replace(b'version: "2024-06-01.1"', b'version: "2024-06-01.2"')
                          .replace(b"priority: 100", b"priority: 150"))
    rc, out, err = ctl(bin_dir, "rules", "diff", "--format", "json", demo, new)
    j = document(out)
    diff = j["diff"]
    check(rc == 0 and j["ok"] and diff["changed"] and diff["old"]["version"] == "2024-06-01.1"
          and diff["new"]["version"] == "2024-06-01.2"
          and diff["rules"]["changed"] == [{"id": "harassment-callers", "priority": {"old": 100, "new": 150}}]
          and diff["lists"]["changed"] == [],
          "a priority change: exit 0, the change as data")
    rc, out, err = ctl(bin_dir, "rules", "diff", "--format", "json", demo, demo)
    check(rc == 0 and document(out)["diff"]["changed"] is False, "no change: changed false")
    rc, out, err = ctl(bin_dir, "rules", "diff", "--format", "json", demo, broken)
    j = document(out)
    check(rc == 1 and j["ok"] is False and j["diff"] is None and j["diagnostics"][0]["line"] == 56,
          "a broken NEW: exit 1, one document with its error")
    rc, out, err = ctl(bin_dir, "rules", "diff", "--format", "json", demo, odd)
    check(rc == 1 and "\ufffd" in document(out)["new_file"], "diff: a file name that is not UTF-8 stays valid JSON")
    rc, out, err = ctl(bin_dir, "rules", "diff", "--format", "yaml", demo, new)
    check(rc != 0 and b"--format" in err and not out, "--format yaml is refused")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sipwall-cli-json-")
    ok = False
    try:
        test(os.path.abspath(args.bin), os.path.abspath(args.source), tmp)
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception as e:  # a document that does not parse
        print("FAIL: %s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
