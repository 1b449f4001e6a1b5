#!/usr/bin/env python3
"""systemd units, sysusers and tmpfiles of deploy/systemd, checked for real.

* `systemd-analyze verify` on both units (their /usr/bin paths pointed at the
  build's binaries) reports nothing; a copy with a misspelt key is reported
  (the check can fail). Skipped, with a message, if systemd-analyze is missing.
* The settings the appliance relies on are there: Type=notify + WatchdogSec,
  Restart=on-failure, LimitMEMLOCK=infinity, Requires/After=dpdk.service,
  group sipwall, ExecReload running `sipwallctl rules reload` (which parses:
  run against a missing socket it fails for the socket, not for its arguments).
* systemd-sysusers and systemd-tmpfiles applied to a temp root create user
  and group sipwall and the directories 0750 sipwall:sipwall; every
  ReadWritePaths= of sipwall-control is created by tmpfiles; the sockets and
  state paths of the example configs live in those directories, with group
  sipwall.
No root needed.
"""
import os
import re
import shutil
import stat

from pkgtest import Failure, check, main, run


def unit_settings(path):
    """{(section, key): [values...]} of a unit file."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, v = line.split("=", 1)
        out.setdefault((section, k.strip()), []).append(v.strip())
    return out


def one(settings, section, key):
    v = settings.get((section, key))
    return v[-1] if v else None


def test(args, tmp):
    sysd = os.path.join(args.source, "deploy", "systemd")
    units = ["sipwall-dataplane.service", "sipwall-control.service"]

    print("== systemd-analyze verify")
    if shutil.which("systemd-analyze"):
        vdir = os.path.join(tmp, "units")
        os.makedirs(vdir)
        for u in units:
            text = open(os.path.join(sysd, u)).read().replace("/usr/bin/", args.bin + "/")
            open(os.path.join(vdir, u), "w").write(text)
        r = run(["systemd-analyze", "verify"] + [os.path.join(vdir, u) for u in units])
        check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
              "systemd-analyze verify: both units clean (%s)" % (r.stdout + r.stderr).strip()[:500])
        bad = os.path.join(vdir, "broken.service")
        open(bad, "w").write(open(os.path.join(vdir, units[0])).read().replace("Restart=", "Restrat="))
        r = run(["systemd-analyze", "verify", bad])
        check("Restrat" in r.stdout + r.stderr, "systemd-analyze verify reports a misspelt key (the check can fail)")
    else:
        print("  SKIPPED systemd-analyze verify: systemd-analyze is not installed (package systemd)")

    print("== unit settings")
    dp = unit_settings(os.path.join(sysd, units[0]))
    ctl = unit_settings(os.path.join(sysd, units[1]))
    check(one(dp, "Service", "Type") == "notify" and one(ctl, "Service", "Type") == "notify", "both Type=notify")
    wd = one(dp, "Service", "WatchdogSec")
    ctlconf = open(os.path.join(args.source, "deploy", "examples", "control.yaml")).read()
    load_ms = int(re.search(r"^\s+load_timeout_ms:\s*(\d+)", ctlconf, re.M).group(1))
    check(wd is not None and int(wd) * 1000 > load_ms,
          "data plane WatchdogSec=%s outlasts a rule-set load on the main lcore (load_timeout_ms %d)" % (wd, load_ms))
    check(one(dp, "Service", "Restart") == "on-failure" and one(ctl, "Service", "Restart") == "on-failure",
          "both Restart=on-failure")
    check(one(dp, "Service", "LimitMEMLOCK") == "infinity", "data plane LimitMEMLOCK=infinity")
    check("dpdk.service" in " ".join(dp.get(("Unit", "Requires"), [])).split(), "data plane Requires=dpdk.service")
    check("dpdk.service" in " ".join(dp.get(("Unit", "After"), [])).split(), "data plane After=dpdk.service")
    check(one(dp, "Service", "Group") == "sipwall" and one(dp, "Service", "User") in (None, "root"),
          "data plane: root with Group=sipwall")
    check(one(ctl, "Service", "User") == "sipwall" and one(ctl, "Service", "Group") == "sipwall",
          "control: User=Group=sipwall")
    for name, s in (("data plane", dp), ("control", ctl)):
        reload = one(s, "Service", "ExecReload")
        check(reload and "sipwallctl rules reload" in reload, "%s ExecReload: %s" % (name, reload))
        argv = reload.replace("/usr/bin/", args.bin + "/").split()
        argv[argv.index("--control-socket") + 1] = os.path.join(tmp, "no-such.sock")
        r = run(argv)
        check(r.returncode not in (0, 105, 106, 109) and "no-such.sock" in r.stderr,
              "%s ExecReload parses and fails only for the missing socket (rc %d: %s)" % (
                  name, r.returncode, r.stderr.strip()[:200]))
        check(one(s, "Service", "UMask") == "0007", "%s UMask=0007 (nothing world-readable)" % name)
        start = one(s, "Service", "ExecStart").split()
        check(start[0] in ("/usr/bin/sipwall-dataplane", "/usr/bin/sipwall-control") and
              os.access(os.path.join(args.bin, os.path.basename(start[0])), os.X_OK),
              "%s ExecStart names a built binary (%s)" % (name, start[0]))

    print("== sysusers and tmpfiles into a temp root")
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    r = run(["systemd-sysusers", "--root=" + root, os.path.join(sysd, "sipwall.sysusers")])
    check(r.returncode == 0, "systemd-sysusers --root (%s)" % r.stderr.strip()[:200])
    pw = [l.split(":") for l in open(os.path.join(root, "etc", "passwd"))]
    gr = [l.split(":") for l in open(os.path.join(root, "etc", "group"))]
    user = next((p for p in pw if p[0] == "sipwall"), None)
    check(user is not None and user[5] == "/var/lib/sipwall" and user[6].strip().endswith("nologin"),
          "user sipwall: home /var/lib/sipwall, no login shell")
    group = next((g for g in gr if g[0] == "sipwall"), None)
    check(group is not None and group[2] == user[3], "group sipwall is the user's primary group")
    uid, gid = int(user[2]), int(group[2])
    check(uid < 1000, "sipwall is a system user (uid %d)" % uid)

    r = run(["systemd-tmpfiles", "--root=" + root, "--create", os.path.join(sysd, "sipwall.tmpfiles")])
    check(r.returncode == 0, "systemd-tmpfiles --root --create (%s)" % r.stderr.strip()[:200])
    made = []
    for line in open(os.path.join(sysd, "sipwall.tmpfiles")):
        f = line.split()
        if f and not f[0].startswith("#"):
            made.append(f[1])
    for d in made:
        st = os.stat(root + d)
        check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == uid and
              st.st_gid == gid, "%s is a directory 0750 sipwall:sipwall" % d)
    for d in " ".join(ctl.get(("Service", "ReadWritePaths"), [])).split():
        check(d in made, "control's ReadWritePaths %s is created by tmpfiles" % d)

    print("== example configs agree with the units")
    dpconf = open(os.path.join(args.source, "deploy", "examples", "sipwall.yaml")).read()
    ctlconf = open(os.path.join(args.source, "deploy", "examples", "control.yaml")).read()
    sock = re.search(r"^\s+socket:\s*(\S+)", dpconf, re.M).group(1)
    check(os.path.dirname(sock) in made, "data-plane socket %s in a tmpfiles directory" % sock)
    check(re.search(r'group:\s*sipwall', dpconf) and re.search(r'group:\s*sipwall', ctlconf),
          "both sockets get group sipwall")
    check(re.search(r'mode:\s*"0660"', dpconf) and re.search(r'mode:\s*"0660"', ctlconf), "both sockets mode 0660")
    for key in ("dir: /var/lib/sipwall/store", "dir: /var/log/sipwall", "socket: /run/sipwall/control.sock",
                "socket: /run/sipwall/dataplane.sock"):
        check(key in ctlconf, "control.yaml: %s" % key)
    reload = one(dp, "Service", "ExecReload").split()
    check(reload[reload.index("--control-socket") + 1] == "/run/sipwall/control.sock",
          "ExecReload talks to control.yaml's control socket")


if __name__ == "__main__":
    main(test, __doc__)
