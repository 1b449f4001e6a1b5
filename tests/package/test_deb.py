#!/usr/bin/env python3
"""The .deb, built by CPack from this build tree, checked from the outside.

1. `cpack -G DEB` in the build dir (into a temp dir) makes
   sipwall_<SIPWALL_VERSION>-<rev>_<arch>.deb.
2. `dpkg-deb -I`: name, version, computed Depends (DPDK, Hyperscan, ... from
   dpkg-shlibdeps, plus dpdk and adduser), a real Maintainer (Name <address>,
   no example.org/.com/.net). `dpkg-deb -c`: binaries 0755 in /usr/bin, units
   in /lib/systemd/system, sysusers/tmpfiles, configs under /etc/sipwall (the
   three files, no list files) and /etc/logrotate.d/sipwall, docs and the example rule sets with their
   lists under /usr/share/doc/sipwall, man pages in /usr/share/man/man8, bash
   completion in /usr/share/bash-completion/completions, root-owned.
   The live rule set is deploy/rules/main.yaml (pass-all, `rules: []`); the
   copyright file is DEP-5, Apache-2.0, the LICENSE of the tree.
3. `dpkg-deb --ctrl-tarfile`: conffiles = exactly the files under /etc;
   postinst/prerm/postrm executable and `sh -n` clean.
4. As root: `dpkg --root=TMP --force-depends --force-script-chrootless -i`
   into an empty throwaway root: the maintainer scripts run with DPKG_ROOT
   set (they create user/group sipwall with `systemd-sysusers --root` and the
   0750 directories inside TMP). The running system is checked unchanged
   (/etc/passwd, /etc/group, /etc/sipwall, /var/lib/sipwall, ...).
   The installed binaries run from TMP: --version of all three,
   `sipwall-dataplane --check` on TMP/etc/sipwall/sipwall.yaml,
   `sipwall-control --check-config`, `sipwallctl rules check` on the
   installed rule set; their libraries all resolve to system paths.
   Reinstalling keeps an edited conffile; purge removes everything.
5. lintian, if installed, with info tags: errors and warnings fail the test,
   so does any hardening-* tag (the release build uses dpkg-buildflags) and
   an override lintian no longer needs (unused-override, mismatched-override).
"""
import glob
import hashlib
import io
import os
import re
import shutil
import stat
import tarfile

from pkgtest import Failure, check, main, run

HOST_PATHS = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/sipwall", "/var/lib/sipwall",
              "/var/log/sipwall", "/run/sipwall", "/var/lib/systemd/deb-systemd-helper-enabled"]


def host_state():
    """A fingerprint of what the maintainer scripts could touch on the running system."""
    out = {}
    for p in HOST_PATHS:
        if os.path.isfile(p):
            out[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        elif os.path.isdir(p):
            out[p] = sorted(os.path.relpath(os.path.join(d, f), p) for d, _, fs in os.walk(p) for f in fs + [""])
        else:
            out[p] = None
    return out


def test(args, tmp):
    for tool in ("cpack", "dpkg-deb", "dpkg"):
        if not shutil.which(tool):
            raise Failure("%s is missing (packages cmake, dpkg)" % tool)
    r = run([os.path.join(args.bin, "sipwall-dataplane"), "--version"])
    version = r.stdout.split()[-1]
    check(re.fullmatch(r"\d+\.\d+\.\d+", version) is not None, "SIPWALL_VERSION of the build: %s" % version)

    print("== cpack")
    out = os.path.join(tmp, "out")
    r = run(["cpack", "-G", "DEB", "-B", out], cwd=args.build, timeout=120)
    check(r.returncode == 0, "cpack -G DEB (%s)" % (r.stdout + r.stderr).strip()[-500:])
    debs = glob.glob(os.path.join(out, "*.deb"))
    check(len(debs) == 1, "one .deb made: %s" % [os.path.basename(d) for d in debs])
    deb = debs[0]
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    check(re.fullmatch(r"sipwall_%s-\d+_%s\.deb" % (re.escape(version), arch), os.path.basename(deb)),
          "file name sipwall_%s-<rev>_%s.deb" % (version, arch))

    print("== dpkg-deb -I")
    info = run(["dpkg-deb", "-I", deb]).stdout
    fields = dict(re.findall(r"^ ([A-Za-z-]+): (.*)$", info, re.M))
    check(fields.get("Package") == "sipwall", "Package: sipwall")
    check(fields.get("Version", "").startswith(version + "-"), "Version: %s" % fields.get("Version"))
    check(fields.get("Architecture") == arch, "Architecture: %s" % arch)
    depends = [d.strip().split()[0] for d in fields.get("Depends", "").split(",")]
    for dep in ("dpdk", "adduser", "libc6", "libstdc++6", "libhyperscan5", "libyaml-cpp0.7"):
        check(dep in depends, "Depends has %s" % dep)
    check(any(d.startswith("librte-eal") for d in depends) and any(d.startswith("librte-ethdev") for d in depends),
          "Depends has the DPDK runtime libraries (dpkg-shlibdeps)")
    check(fields.get("Section") == "net", "Section: net")
    maint = fields.get("Maintainer", "")
    check(re.fullmatch(r"[^<>@]+ <[^<>@\s]+@[^<>@\s]+\.[a-z]+>", maint) is not None and
          not re.search(r"@(.*\.)?example\.(org|com|net)>", maint), "Maintainer is 'Name <address>', no example domain: %s" % maint)

    print("== dpkg-deb -c")
    listing = {}
    for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        f = line.split()
        listing[f[5].lstrip(".")] = (f[0], f[1])
    check(all(owner == "root/root" for _, owner in listing.values()), "every entry owned by root/root")
    for b in ("sipwall-dataplane", "sipwall-control", "sipwallctl"):
        check(listing.get("/usr/bin/" + b, ("",))[0] == "-rwxr-xr-x", "/usr/bin/%s 0755" % b)
    expected = ["/lib/systemd/system/sipwall-dataplane.service", "/lib/systemd/system/sipwall-control.service",
                "/usr/lib/sysusers.d/sipwall.conf", "/usr/lib/tmpfiles.d/sipwall.conf",
                "/etc/sipwall/sipwall.yaml", "/etc/sipwall/control.yaml", "/etc/sipwall/rules/main.yaml",
                "/usr/share/doc/sipwall/copyright", "/usr/share/doc/sipwall/changelog.Debian.gz",
                "/usr/share/doc/sipwall/README.md", "/usr/share/doc/sipwall/operations.md",
                "/usr/share/doc/sipwall/examples/lab-af_packet.yaml",
                "/usr/share/doc/sipwall/examples/appliance-4port.yaml",
                "/usr/share/doc/sipwall/examples/grafana/sipwall-dashboard.json",
                "/usr/share/doc/sipwall/examples/prometheus/prometheus.yml",
                "/usr/share/doc/sipwall/examples/prometheus/sipwall-alerts.yml",
                "/usr/share/doc/sipwall/examples/rules/README.md", "/usr/share/doc/sipwall/examples/rules/demo.yaml"]
    expected += ["/usr/share/doc/sipwall/examples/rules/lists/" + f
                 for f in sorted(os.listdir(os.path.join(args.source, "rules", "examples", "lists")))]
    for b in ("sipwall-dataplane", "sipwall-control", "sipwallctl"):
        expected += ["/usr/share/man/man8/%s.8.gz" % b, "/usr/share/bash-completion/completions/" + b]
    if os.path.exists(os.path.join(args.source, "docs", "deploy.md")):
        expected.append("/usr/share/doc/sipwall/deploy.md")
    for p in expected:
        check(p in listing and listing[p][0] == "-rw-r--r--", "%s 0644" % p)
    etc_files = sorted(p for p, (mode, _) in listing.items() if p.startswith("/etc/") and mode.startswith("-"))
    check(etc_files == ["/etc/logrotate.d/sipwall", "/etc/sipwall/control.yaml", "/etc/sipwall/rules/main.yaml",
                        "/etc/sipwall/sipwall.yaml"],
          "files under /etc: the two configs, the live rule set and the logrotate snippet for records.jsonl, "
          "no list files (%s)" % etc_files)

    print("== file contents")
    data = run(["dpkg-deb", "--fsys-tarfile", deb], text=False).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        def member(p):
            return tf.extractfile("." + p).read().decode()
        main_yaml = member("/etc/sipwall/rules/main.yaml")
        copyright_text = member("/usr/share/doc/sipwall/copyright")
    check(main_yaml == open(os.path.join(args.source, "deploy", "rules", "main.yaml")).read(),
          "/etc/sipwall/rules/main.yaml is deploy/rules/main.yaml (the pass-all set), not an example")
    check(re.search(r"^rules: \[\]\s*$", main_yaml, re.M) and re.search(r"^  action: pass\b", main_yaml, re.M) and
          "/usr/share/doc/sipwall/examples/rules/" in main_yaml and "sipwallctl rules check" in main_yaml,
          "main.yaml: `rules: []`, default action pass, says where the examples are and how to check a set")
    check(copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"),
          "copyright: machine-readable (DEP-5)")
    check(re.search(r"^Files: \*\nCopyright: .+\nLicense: Apache-2.0$", copyright_text, re.M) and
          re.search(r"^License: Apache-2.0\n ", copyright_text, re.M) and
          not re.search(r"proprietary|all rights reserved|replace this", copyright_text, re.I),
          "copyright: Files: * under Apache-2.0, no placeholder")
    check(re.search(r"not shipped", copyright_text, re.I) and "PROTOS" in copyright_text,
          "copyright: names the external test corpora as not shipped")
    licence = open(os.path.join(args.source, "LICENSE")).read()
    check("Apache License" in licence and "Version 2.0, January 2004" in licence and
          "END OF TERMS AND CONDITIONS" in licence, "LICENSE at the top of the tree: the Apache License 2.0")

    print("== control archive")
    ctrl = run(["dpkg-deb", "--ctrl-tarfile", deb], text=False).stdout
    members = {}
    with tarfile.open(fileobj=io.BytesIO(ctrl)) as tf:
        for m in tf.getmembers():
            if m.isfile():
                members[os.path.basename(m.name)] = (m.mode, tf.extractfile(m).read().decode())
    conffiles = sorted(members.get("conffiles", (0, ""))[1].split())
    check(conffiles == etc_files, "conffiles = every file under /etc (%d)" % len(conffiles))
    for s in ("postinst", "prerm", "postrm"):
        check(s in members and members[s][0] & 0o777 == 0o755, "%s present, mode 0755" % s)
        path = os.path.join(tmp, s)
        open(path, "w").write(members[s][1])
        r = run(["sh", "-n", path])
        check(r.returncode == 0, "sh -n %s (%s)" % (s, r.stderr.strip()))
        check(members[s][1].startswith("#!/bin/sh\n") and "set -e" in members[s][1], "%s: #!/bin/sh, set -e" % s)
    check("DPKG_ROOT" in members["postinst"][1] and "DPKG_ROOT" in members["postrm"][1],
          "postinst/postrm honour DPKG_ROOT (else installing into a root would change this system)")

    print("== install into a throwaway root")
    if os.geteuid() != 0:
        print("  SKIPPED the dpkg --root install: needs root (dpkg chowns the files it unpacks)")
    else:
        install_and_run(args, tmp, deb, version, etc_files)

    print("== lintian")
    if not shutil.which("lintian"):
        print("  SKIPPED lintian: not installed (scripts/deps.sh installs it)")
        return
    r = run(["lintian", "--display-info", "--tag-display-limit", "0", deb], timeout=180)
    tags = [l for l in (r.stdout + r.stderr).splitlines() if re.match(r"^[EWIPXO]: ", l)]
    for t in tags:
        print("  lintian " + t)
    bad = [t for t in tags if t[0] in "EW" or re.search(r": (hardening-\S+|unused-override|mismatched-override)", t)]
    check(not bad, "lintian: no error, warning, hardening or stale-override tag (%d info tags shown above)%s" %
          (len(tags), "".join("\n    " + t for t in bad)))


def dpkg(root, *argv):
    return run(["dpkg", "--root=" + root, "--force-depends", "--force-not-root", "--force-script-chrootless",
                "--force-confold", "--log=" + os.path.join(root, "dpkg.log")] + list(argv), timeout=60)


def install_and_run(args, tmp, deb, version, etc_files):
    root = os.path.join(tmp, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"):
        os.makedirs(os.path.join(root, d))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    before = host_state()
    r = dpkg(root, "-i", deb)
    if r.returncode != 0:
        raise Failure("dpkg --root -i failed:\n" + (r.stdout + r.stderr).strip()[-1500:])
    check(True, "dpkg --root -i (dependencies are not in the empty root: --force-depends)")
    check(host_state() == before, "the running system is untouched (users, /etc/sipwall, /var/lib/sipwall, ...)")
    r = run(["dpkg", "--root=" + root, "-s", "sipwall"])
    check("Status: install ok installed" in r.stdout, "dpkg -s: install ok installed")
    r = run(["dpkg-query", "--admindir=" + os.path.join(root, "var/lib/dpkg"), "-W", "-f=${Conffiles}", "sipwall"])
    registered = sorted(l.split()[0] for l in r.stdout.splitlines() if l.strip())
    check(registered == etc_files, "dpkg registered the conffiles")

    pw = {l.split(":")[0]: l.split(":") for l in open(os.path.join(root, "etc/passwd"))}
    gr = {l.split(":")[0]: l.split(":") for l in open(os.path.join(root, "etc/group"))}
    check("sipwall" in pw and "sipwall" in gr, "postinst created user and group sipwall in the root")
    uid, gid = int(pw["sipwall"][2]), int(gr["sipwall"][2])
    for d in ("/run/sipwall", "/var/lib/sipwall", "/var/lib/sipwall/store", "/var/log/sipwall"):
        st = os.stat(root + d)
        check(stat.S_IMODE(st.st_mode) == 0o750 and (st.st_uid, st.st_gid) == (uid, gid), "%s 0750 sipwall:sipwall" % d)
    st = os.stat(root + "/etc/sipwall")
    check(stat.S_IMODE(st.st_mode) == 0o750 and (st.st_uid, st.st_gid) == (0, gid), "/etc/sipwall 0750 root:sipwall")

    print("== the installed binaries, run from the root")
    ub = os.path.join(root, "usr/bin")
    for b in ("sipwall-dataplane", "sipwall-control", "sipwallctl"):
        r = run([os.path.join(ub, b), "--version"])
        check(r.returncode == 0 and r.stdout.strip() == "%s %s" % (b, version), "%s --version: %s" % (b, r.stdout.strip()))
        r = run(["ldd", os.path.join(ub, b)])
        check(r.returncode == 0 and "not found" not in r.stdout and args.build not in r.stdout and
              tmp not in r.stdout, "%s links only system libraries" % b)
    conf = os.path.join(root, "etc/sipwall/sipwall.yaml")
    r = run([os.path.join(ub, "sipwall-dataplane"), "--check", conf])
    check(r.returncode == 0 and r.stdout.startswith(conf + ": OK") and "ports:" in r.stdout,
          "sipwall-dataplane --check on the installed sipwall.yaml (%s)" % r.stderr.strip()[:300])
    r = run([os.path.join(ub, "sipwall-control"), "-c", os.path.join(root, "etc/sipwall/control.yaml"), "--check-config"])
    check(r.returncode == 0, "sipwall-control --check-config on the installed control.yaml (%s)" % r.stderr.strip()[:300])
    r = run([os.path.join(ub, "sipwallctl"), "rules", "check", os.path.join(root, "etc/sipwall/rules/main.yaml")])
    check(r.returncode == 0 and "OK" in r.stdout.split("\n")[0] and re.search(r"^rules: 0 ", r.stdout, re.M),
          "sipwallctl rules check on the installed rule set: OK, no rules (%s)" %
          (r.stdout + r.stderr).strip().split("\n")[0][-200:])
    for ex in ("demo.yaml", "call-center-dnc.yaml"):
        # The examples check where they are installed: their list files came along.
        path = os.path.join(root, "usr/share/doc/sipwall/examples/rules", ex)
        r = run([os.path.join(ub, "sipwallctl"), "rules", "check", path])
        check(r.returncode == 0, "sipwallctl rules check on the installed example %s (%s)" % (ex, r.stderr.strip()[:200]))

    print("== reinstall keeps an edited conffile; purge removes everything")
    with open(conf, "a") as f:
        f.write("# edited by the operator\n")
    r = dpkg(root, "-i", deb)
    check(r.returncode == 0 and open(conf).read().endswith("# edited by the operator\n"),
          "reinstall (postinst configure <old-version>) keeps the edited sipwall.yaml")
    r = dpkg(root, "--purge", "sipwall")
    check(r.returncode == 0, "dpkg --root --purge (%s)" % (r.stdout + r.stderr).strip().split("\n")[-1][-200:])
    left = [p for p in ("usr/bin/sipwall-dataplane", "etc/sipwall/sipwall.yaml", "var/lib/sipwall", "var/log/sipwall",
                        "lib/systemd/system/sipwall-dataplane.service") if os.path.exists(os.path.join(root, p))]
    check(not left, "purge left nothing behind (%s)" % left)
    check(host_state() == before, "the running system is still untouched")


if __name__ == "__main__":
    main(test, __doc__)
