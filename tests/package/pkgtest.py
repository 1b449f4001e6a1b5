"""Shared bits of the tests/package scripts: arguments, checks, temp dirs.

Each script: main(args) raises Failure on a failed check; exits 0 pass,
1 fail, 77 skip (ctest SKIP_RETURN_CODE)."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("  ok: " + what, flush=True)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, **kw)


def run_test(fn, doc):
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.source = os.path.abspath(args.source)
    args.build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="sipwall-pkg-")
    ok = False
    try:
        fn(args, tmp)
        ok = True
    except Skip as e:
        print("SKIP: %s" % e)
        shutil.rmtree(tmp, ignore_errors=True)
        return SKIP
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        if ok or not os.environ.get("SIPWALL_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


def main(fn, doc):
    sys.exit(run_test(fn, doc))
