#!/usr/bin/env python3
"""What sipwall-control does when the files or the machine around it misbehave.

A real sipwall-dataplane (net_pcap, sample.pcap) and sipwall-control, as in
control_integration.py; then, each with a bounded wait:
  * a slow in-place save of the rule file (truncated, a second of nothing,
    then the new content) never publishes the empty file: the data plane
    keeps running rules the whole time, the attempt is refused at stage
    "incomplete", and the new version runs within 2 s of the real save;
  * the same for a list file: the running list is never replaced by the
    truncated one;
  * `rules: []` written out on purpose is accepted (an empty set by choice);
  * a full disk under the store fails the reload at stage "store", not
    "compile", and the next reload after space is freed succeeds;
  * `kill -9` of sipwall-control while its compile child runs takes the
    child with it, and the next start leaves no staging file behind; a second
    sipwall-control on the same store is refused.
Every process started here is stopped in `finally`; the tmpfs is unmounted.

Needs root (DPDK EAL, mount). Exit status: 0 pass, 1 fail, 77 skipped.
  test_reload_safety.py --bin build/bin --source .
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import SKIP, Failure, Run, check, wait_for  # noqa: E402


def history(run):
    rc, out, err = run.ctl("rules", "history", "--json", "--control-socket", run.ctl_sock)
    if rc != 0:
        raise Failure("rules history: " + err)
    return json.loads(out)


def running_rules(run):
    return run.dp_status()["ruleset"]["rules"]


def watch_rules_never_zero(run, seconds, samples):
    """Polls the data plane's rule count for `seconds`; appends each reading."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(running_rules(run))
        time.sleep(0.05)


def compile_children(parent_pid):
    """PIDs of `sipwall-control --compile-worker ... --parent-pid parent_pid`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        except OSError:
            continue
        if b"--compile-worker" in argv and b"--parent-pid" in argv:
            i = argv.index(b"--parent-pid")
            if i + 1 < len(argv) and argv[i + 1] == str(parent_pid).encode():
                out.append(int(d))
    return out


def reads_file(pid, path):
    """Whether process `pid` has `path` open or mapped."""
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                    return True
            except OSError:
                pass
        return path in open("/proc/%d/maps" % pid).read()
    except OSError:
        return False


def alive(pid):
    try:
        state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def test(run):
    print("== start sipwall-dataplane and sipwall-control on the demo set")
    dp = run.start("dataplane", [os.path.join(run.bin, "sipwall-dataplane"), "-c",
                                 os.path.join(run.tmp, "dataplane.yaml")])
    wait_for("the data plane's socket", lambda: dp.poll() is None and run.dp_status()["ok"], 30)
    ctl = run.start("control", [os.path.join(run.bin, "sipwall-control"), "-c", os.path.join(run.tmp, "control.yaml")])
    wait_for("sipwall-control's start-up load", lambda: run.ctl_status()["last_reload"], 30)
    rules0 = running_rules(run)
    check(rules0 == 7, "the demo set runs with 7 rules")

    print("== a slow in-place save of the rule file: truncate, 1 s of nothing, write")
    h0 = len(history(run))
    v2 = run.demo_text.replace('version: "2024-06-01.1"', 'version: "2024-06-01.2"')
    samples = []
    with open(run.rules, "w") as f:  # truncated now, like an editor that writes in place
        f.flush()
        watch_rules_never_zero(run, 1.2, samples)
        f.write(v2)
    t_saved = time.monotonic()
    wait_for("version 2024-06-01.2 running", lambda: run.dp_status()["ruleset"]["version"] == "2024-06-01.2", 5)
    took = time.monotonic() - t_saved
    watch_rules_never_zero(run, 0.3, samples)
    check(min(samples) == 7, "the data plane ran 7 rules throughout (%d readings, min %d)" % (len(samples), min(samples)))
    check(took < 2.0, "the real save runs %.2f s after it was written (< 2 s)" % took)
    new = history(run)[h0:]
    check(any(e["result"] == "failed" for e in new), "the truncated file was a failed reload: %s"
          % [(e["result"], e.get("stage"), e.get("error", "")[:80]) for e in new])
    check(new[-1]["result"] == "ok" and new[-1]["version"] == "2024-06-01.2", "the last attempt loaded 2024-06-01.2")

    print("== a file that is not empty but has no rules (cut short) is refused, `rules: []` is accepted")
    h0 = len(history(run))
    run.write_rules('version: "cut"\ndial_plan: {preset: china}\n')
    e = wait_for("a refused reload", lambda: [x for x in history(run)[h0:] if x["result"] == "failed"], 5)[0]
    check(e["stage"] == "incomplete" and "rules: []" in e["error"], "refused at stage incomplete: " + e["error"])
    check(running_rules(run) == 7 and run.dp_status()["ruleset"]["version"] == "2024-06-01.2",
          "the data plane keeps 2024-06-01.2 with 7 rules")
    run.write_rules('version: "empty-on-purpose"\ndial_plan: {preset: china}\nrules: []\n')
    wait_for("the empty-on-purpose set running",
             lambda: run.dp_status()["ruleset"]["version"] == "empty-on-purpose", 5)
    check(running_rules(run) == 0, "`rules: []` runs, with 0 rules")
    run.write_rules(v2.replace("2024-06-01.2", "2024-06-01.3"))
    wait_for("2024-06-01.3 running", lambda: run.dp_status()["ruleset"]["version"] == "2024-06-01.3", 5)

    print("== a slow in-place save of a list file")
    listfile = os.path.join(run.tmp, "rules", "lists", "harassment.txt")
    text = open(listfile).read()
    h0 = len(history(run))
    checksum0 = run.dp_status()["ruleset"]["checksum"]
    with open(listfile, "w") as f:
        f.flush()
        time.sleep(1.2)
        check(run.dp_status()["ruleset"]["checksum"] == checksum0, "while the list file is empty, the set is unchanged")
        f.write(text + "\n+8613912345678\n")
    wait_for("the longer list running", lambda: run.dp_status()["ruleset"]["checksum"] != checksum0, 5)
    new = history(run)[h0:]
    refused = [x for x in new if x["result"] == "failed"]
    check(refused and refused[0]["stage"] == "incomplete" and "harassment" in refused[0]["error"],
          "the empty list file was refused: %s" % [x.get("error", "")[:100] for x in refused])
    check(new[-1]["result"] == "ok", "then the full list loaded")

    print("== kill -9 of sipwall-control during a compile takes the compile child with it")
    # A list big enough that compiling takes a while (about 3 M numbers).
    big = os.path.join(run.tmp, "rules", "lists", "big.txt")
    with open(big, "w") as f:
        for i in range(3000000):
            f.write("+86139%08d\n" % i)
    with open(run.rules, "w") as f:
        f.write(v2.replace("2024-06-01.2", "2024-06-01.5").replace(
            "lists:\n", "lists:\n  big:\n    file: lists/big.txt\n", 1))
    # Killed only once the child reads the big list: well past its start-up,
    # where it checks that its parent is still there.
    kids = wait_for("a compile child reading big.txt", lambda: [k for k in compile_children(ctl.pid)
                                                                if reads_file(k, big)], 10, interval=0.005)
    ctl.send_signal(signal.SIGKILL)
    ctl.wait(5)
    wait_for("the compile child gone", lambda: not any(alive(k) for k in kids), 10)
    store = os.path.join(run.tmp, "store")
    # An orphaned compiler would have run to the end and left a finished
    # staging artifact (.staging-P-N.swr); one killed with its parent did not.
    finished = [n for n in os.listdir(store) if n.startswith(".staging-") and n.endswith(".swr")]
    check(not finished, "compile child %s ended with its parent, before finishing (%s)" % (kids, finished))
    ctl = run.start("control3", [os.path.join(run.bin, "sipwall-control"), "-c",
                                 os.path.join(run.tmp, "control.yaml")])
    wait_for("the restarted sipwall-control loading 2024-06-01.5",
             lambda: run.dp_status()["ruleset"]["version"] == "2024-06-01.5", 60)
    check(not [n for n in os.listdir(store) if n.startswith(".staging-")], "no staging file in the store after the restart")
    print("== a second sipwall-control on the same store is refused")
    other = os.path.join(run.tmp, "control-other.yaml")
    with open(other, "w") as f:
        f.write(open(os.path.join(run.tmp, "control.yaml")).read()
                .replace(run.ctl_sock, run.ctl_sock + ".2").replace("listen: 127.0.0.1:%d" % run.port, 'listen: ""'))
    r = subprocess.run([os.path.join(run.bin, "sipwall-control"), "-c", other], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode != 0 and "in use by another sipwall-control" in r.stdout + r.stderr,
          "refused: " + (r.stdout + r.stderr).strip().splitlines()[-1][:160])

    print("== a full disk under the store: stage store, then recovery")
    os.unlink(os.path.join(run.tmp, "rules", "lists", "big.txt"))
    run.write_rules(v2.replace("2024-06-01.2", "2024-06-01.5"))  # the same set, without the big list
    store = os.path.join(run.tmp, "store")
    # The store moves to a small tmpfs: sipwall-control restarts on it.
    run.stop(ctl)
    shutil.rmtree(store)
    os.makedirs(store)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "sipwall-test", store], check=True)
    run.mounted = store
    ctl = run.start("control2", [os.path.join(run.bin, "sipwall-control"), "-c",
                                 os.path.join(run.tmp, "control.yaml")])
    wait_for("sipwall-control on the tmpfs store", lambda: run.ctl_status()["last_reload"], 30)
    st = os.statvfs(store)
    filler = os.path.join(store, "filler")
    with open(filler, "wb") as f:  # leave 8 KB: room for history, not for an artifact
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 8192))
    h0 = len(history(run))
    run.write_rules(v2.replace("2024-06-01.2", "2024-06-01.6"))
    e = wait_for("the reload on a full disk", lambda: history(run)[h0:], 5)[-1]
    check(e["result"] == "failed" and e["stage"] == "store", "failed at stage store: %s %s" % (e.get("stage"), e.get("error")))
    check(run.dp_status()["ruleset"]["version"] == "2024-06-01.5", "the data plane keeps 2024-06-01.5")
    check(not [n for n in os.listdir(store) if n.startswith(".staging-")], "no staging file left on the full disk")
    os.unlink(filler)
    rc, out, err = run.ctl("rules", "reload", "--control-socket", run.ctl_sock)
    check(rc == 0 and run.dp_status()["ruleset"]["version"] == "2024-06-01.6", "with space again, 2024-06-01.6 loads")



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK EAL on net_pcap vdevs, a tmpfs mount); run as root or via scripts/test.sh")
        return SKIP
    run = Run(args)
    run.mounted = None
    ok = False
    try:
        run.setup()
        test(run)
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        run.stop_all()
        if run.mounted:
            subprocess.run(["umount", run.mounted])
        if not ok:
            for name in ("dataplane", "control", "control2", "control3"):
                path = os.path.join(run.tmp, name + ".log")
                if os.path.exists(path):
                    print("---- %s log (last 30 lines) ----" % name)
                    print("".join(open(path, errors="replace").readlines()[-30:]))
        if ok or not os.environ.get("SIPWALL_KEEP_TMP"):
            shutil.rmtree(run.tmp, ignore_errors=True)
        else:
            print("kept " + run.tmp)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
