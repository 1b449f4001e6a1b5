#!/usr/bin/env python3
"""Who may scrape /metrics (docs/operations.md "Who may scrape"), with curl
as the HTTP client, against a real sipwall-control (no data plane needed:
it then serves its own families and sipwall_dataplane_up 0).

Checked, each mode with its own sipwall-control:
  * the default is a Unix socket, mode 0660: curl --unix-socket reads it;
    as root, a user outside the socket's group is refused and a member is not;
  * TCP with metrics.web_config (Prometheus' basic_auth_users, a bcrypt and a
    sha256-crypt user): the right password reads it, a wrong password, an
    unknown user and no credentials get 401 with WWW-Authenticate;
  * HTTPS (tls_server_config with a self-signed certificate made by
    openssl): curl verifying it with the password gets 200, a wrong password
    401, plain HTTP on that port no metrics; a key that does not match the
    certificate stops the start with the reason;
  * TCP without web_config still works and logs a warning naming the risk;
  * a plain password or an unreadable certificate in the web config is
    refused by --check-config (exit 2) with file:line:col.
Every process started here is stopped in `finally`.

  metrics_access.py --bin build/bin --source .
"""
import argparse
import crypt
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_integration import Failure, check, free_port, wait_for  # noqa: E402


class Access:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.src = os.path.abspath(args.source)
        self.tmp = tempfile.mkdtemp(prefix="sipwall-metrics-")
        os.chmod(self.tmp, 0o755)
        self.procs = []
        shutil.copytree(os.path.join(self.src, "rules", "examples", "lists"), os.path.join(self.tmp, "lists"))
        self.rules = os.path.join(self.tmp, "demo.yaml")
        shutil.copy(os.path.join(self.src, "rules", "examples", "demo.yaml"), self.rules)

    def config(self, name, metrics):
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        path = os.path.join(d, "control.yaml")
        with open(path, "w") as f:
            f.write("""rules: {file: %s}
store: {dir: %s/store}
dataplane: {socket: %s/no-dataplane.sock, poll_interval_ms: 200}
control: {socket: %s/control.sock}
trace: {dir: %s/trace}
metrics:
%s
""" % (self.rules, d, d, d, d, metrics))
        return path

    def start(self, name, config):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen([os.path.join(self.bin, "sipwall-control"), "-c", config], stdout=log,
                             stderr=subprocess.STDOUT, cwd=self.tmp)
        p.logfile, p.logname = log, os.path.join(self.tmp, name + ".log")
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            p.logfile.close()


def curl(*argv, prefix=()):
    """(HTTP status, body) of one curl request; status 0 if curl failed."""
    r = subprocess.run(list(prefix) + ["curl", "-s", "-m", "5", "-o", "-", "-w", "\n%{http_code}", "-D", "-"]
                       + list(argv), capture_output=True, text=True, timeout=30)
    out, _, code = r.stdout.rpartition("\n")
    return int(code or 0), out, r.stderr


def test(a):
    print("== default: a Unix socket")
    sock = os.path.join(a.tmp, "unix", "metrics.sock")
    a.start("unix", a.config("unix", "  listen: unix:%s" % sock))
    wait_for("the metrics socket", lambda: os.path.exists(sock), 20)
    code, body, _ = curl("--unix-socket", sock, "http://localhost/metrics")
    check(code == 200 and "sipwall_dataplane_up 0" in body and "sipwall_control_start_time_seconds" in body,
          "curl --unix-socket reads /metrics (HTTP %d)" % code)
    mode = stat.S_IMODE(os.stat(sock).st_mode)
    check(mode == 0o660, "the socket is mode 0660 (%04o)" % mode)
    if os.geteuid() == 0:
        gid = os.stat(sock).st_gid
        outsider = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        member = ["setpriv", "--reuid=65534", "--regid=65534", "--groups=%d" % gid]
        code, _, err = curl("--unix-socket", sock, "http://localhost/metrics", prefix=outsider)
        check(code == 0, "a user outside the socket's group cannot connect (%s)" % err.strip()[:100])
        code, body, _ = curl("--unix-socket", sock, "http://localhost/metrics", prefix=member)
        check(code == 200 and "sipwall_dataplane_up" in body, "a member of the group reads it")
    else:
        print("  (not root: the outsider/member check with setpriv is skipped)")
    rc = subprocess.run([os.path.join(a.bin, "sipwallctl"), "status", "--control-socket",
                         os.path.join(a.tmp, "unix", "control.sock"), "--dataplane-socket", "/nonexistent"],
                        capture_output=True, text=True, timeout=30)
    check("curl --unix-socket %s" % sock in rc.stdout, "sipwallctl status says how to scrape it")

    print("== TCP with basic auth (metrics.web_config)")
    bcrypt_hash = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 6))
    sha_hash = crypt.crypt("other pass", crypt.mksalt(crypt.METHOD_SHA256))
    check(bcrypt_hash.startswith("$2b$") and sha_hash.startswith("$5$"), "hashes made with crypt(3)")
    web = os.path.join(a.tmp, "web.yml")
    with open(web, "w") as f:
        f.write('basic_auth_users:\n  prometheus: "%s"\n  ops: "%s"\n' % (bcrypt_hash, sha_hash))
    port = free_port()
    a.start("auth", a.config("auth", "  listen: 127.0.0.1:%d\n  web_config: %s" % (port, web)))
    url = "http://127.0.0.1:%d/metrics" % port
    wait_for("the TCP listener", lambda: curl(url)[0] == 401, 20)
    code, body, _ = curl("-u", "prometheus:s3cret", url)
    check(code == 200 and "sipwall_dataplane_up" in body, "bcrypt user, right password: 200")
    code, body, _ = curl("-u", "ops:other pass", url)
    check(code == 200, "sha256-crypt user, right password: 200")
    code, body, _ = curl("-u", "prometheus:wrong", url)
    check(code == 401 and "sipwall_dataplane_up" not in body and 'WWW-Authenticate: Basic realm="sipwall metrics"'
          in body, "wrong password: 401, no metrics, WWW-Authenticate")
    code, body, _ = curl("-u", "nobody:s3cret", url)
    check(code == 401, "unknown user: 401")
    code, body, _ = curl(url)
    check(code == 401 and "WWW-Authenticate" in body, "no credentials: 401")
    code, body, _ = curl("-u", "prometheus:s3cret", "-I", url)
    check(code == 200, "HEAD with credentials: 200")

    print("== HTTPS (tls_server_config)")
    crt, key = os.path.join(a.tmp, "metrics.crt"), os.path.join(a.tmp, "metrics.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "a self-signed certificate for 127.0.0.1 (openssl req)")
    tls_web = os.path.join(a.tmp, "web-tls.yml")
    with open(tls_web, "w") as f:
        f.write('basic_auth_users:\n  prometheus: "%s"\ntls_server_config:\n  cert_file: metrics.crt\n'
                '  key_file: metrics.key\n' % bcrypt_hash)
    port = free_port()
    a.start("tls", a.config("tls", "  listen: 127.0.0.1:%d\n  web_config: %s" % (port, tls_web)))
    url = "https://127.0.0.1:%d/metrics" % port
    wait_for("the HTTPS listener", lambda: curl("--cacert", crt, url)[0] == 401, 20)
    code, body, _ = curl("--cacert", crt, "-u", "prometheus:s3cret", url)
    check(code == 200 and "sipwall_dataplane_up" in body, "HTTPS, certificate verified, right password: 200")
    code, body, _ = curl("--cacert", crt, "-u", "prometheus:wrong", url)
    check(code == 401 and "sipwall_dataplane_up" not in body, "HTTPS, wrong password: 401")
    code, body, _ = curl("http://127.0.0.1:%d/metrics" % port)
    check(code != 200 and "sipwall_dataplane_up" not in body, "plain HTTP on the HTTPS port: no metrics")
    other_key = os.path.join(a.tmp, "other.key")
    subprocess.run(["openssl", "genrsa", "-out", other_key, "2048"], capture_output=True, timeout=60, check=True)
    bad_tls = os.path.join(a.tmp, "web-badkey.yml")
    with open(bad_tls, "w") as f:
        f.write("tls_server_config:\n  cert_file: metrics.crt\n  key_file: other.key\n")
    p = a.start("badkey", a.config("badkey", "  listen: 127.0.0.1:%d\n  web_config: %s" % (free_port(), bad_tls)))
    check(p.wait(20) != 0 and "TLS key %s" % other_key in open(p.logname).read() and "mismatch" in open(p.logname).read(),
          "a key that does not match the certificate: sipwall-control does not start, and says why")

    print("== TCP without a password: works, with a warning")
    port = free_port()
    p = a.start("open", a.config("open", "  listen: 127.0.0.1:%d" % port))
    wait_for("the open listener", lambda: curl("http://127.0.0.1:%d/metrics" % port)[0] == 200, 20)
    log = open(p.logname).read()
    check("without a password" in log and "every local user can read the counters" in log,
          "the log warns that every local user can read it")

    print("== web config mistakes are start-up errors")
    bad = os.path.join(a.tmp, "bad.yml")
    with open(bad, "w") as f:
        f.write("basic_auth_users:\n  prometheus: s3cret\ntls_server_config:\n  cert_file: x.pem\n  key_file: x.key\n")
    cfg = a.config("bad", "  listen: 127.0.0.1:%d\n  web_config: %s" % (free_port(), bad))
    r = subprocess.run([os.path.join(a.bin, "sipwall-control"), "-c", cfg, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    out = r.stdout + r.stderr
    check(r.returncode == 2 and "bad.yml:2:15: the password of 'prometheus' must be a bcrypt" in out
          and "cert_file: cannot read %s/x.pem" % a.tmp in out,
          "a plain password, a certificate that is not there: exit 2, file:line:col (%s)" % out.strip()[:300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    for tool in ("curl", "openssl"):
        if not shutil.which(tool):
            print("FAIL: %s is missing (Debian package %s)" % (tool, tool))
            return 1
    a = Access(args)
    ok = False
    try:
        test(a)
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        a.stop_all()
        if not ok:
            for p in a.procs:
                print("---- %s (last 20 lines) ----" % p.logname)
                print("".join(open(p.logname, errors="replace").readlines()[-20:]))
        shutil.rmtree(a.tmp, ignore_errors=True)
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
