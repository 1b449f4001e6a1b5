#!/usr/bin/env bash
# A fleet of three appliances on one Redis, on this machine (docs/fleet.md):
# a redis-server on a loopback port (with a password), three sipwall-dataplane
# processes on net_pcap ports (their trunk ports read FIFOs this script feeds
# with tests/data/sample.pcap), three sipwall-control processes with a fleet:
# section. The sample's 35 frames are replayed into each trunk port over and
# over (about 700 frames/s) while the script publishes the demo rule set once,
# shows that all three run it and what they do with the calls, refuses a
# broken set, kills Redis under way and brings it back. Then the fleet view:
# the sample stops (frames that are not SIP keep the ports fed), a rule set
# with a caller detector (block over 10 calls in 10 s) is published, and a
# caller Z calls 4 times through each appliance: under every appliance's
# threshold, over the fleet's (12 > 10), so all three hold Z and reject its
# next calls; W, 3 calls each (9), is held nowhere. `sipwallctl detections
# lift` on one appliance then releases Z on all three. Needs root (DPDK);
# every wait is bounded (about a minute in all) and everything stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
JOBS=${JOBS:-2}
BIN=$SRC/build/bin
SAMPLE=$SRC/tests/data/sample.pcap
[ "$(id -u)" -eq 0 ] || { echo "fleet-demo: run as root (DPDK EAL)" >&2; exit 1; }

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$JOBS" --target sipwallctl sipwall-dataplane sipwall-control

OUT=$(mktemp -d /tmp/sipwall-fleet-demo.XXXXXX)
PIDS=()
cleanup() {
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "logs and files: $OUT"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PORT=$(free_port)
PASS=demo-$RANDOM$RANDOM
echo "$PASS" >"$OUT/redis.pass"
export SIPWALL_FLEET_REDIS=127.0.0.1:$PORT SIPWALL_FLEET_REDIS_PASSWORD_FILE=$OUT/redis.pass SIPWALL_FLEET_PREFIX=demo:
ctl() { "$BIN/sipwallctl" "$@"; }
start_redis() {
  redis-server --port "$PORT" --bind 127.0.0.1 --requirepass "$PASS" --dir "$OUT" --save "" --appendonly yes \
    --daemonize no >>"$OUT/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 50); do redis-cli -p "$PORT" -a "$PASS" --no-auth-warning ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server did not start: $OUT/redis.log" >&2
  exit 1
}

say "1. Redis on 127.0.0.1:$PORT (requirepass), three appliances a1 a2 a3, each running a local pass-all set"
start_redis
mkdir -p "$OUT/local"
printf 'version: "local-0"\nname: demo\ndial_plan: {preset: china}\nrules: []\n' >"$OUT/local/main.yaml"
ctl rules compile "$OUT/local/main.yaml" -o "$OUT/local.swr" >/dev/null
for a in a1 a2 a3; do
  d=$OUT/$a
  mkdir -p "$d/rules"
  cp "$OUT/local/main.yaml" "$d/rules/main.yaml"
  mkfifo "$d/trunk.fifo"
  sed -e "s|@FIFO@|$d/trunk.fifo|" -e "s|@D@|$d|g" -e "s|@A@|$a|" -e "s|@ART@|$OUT/local.swr|" >"$d/dataplane.yaml" <<'YAML'
eal: {lcores: "0-1", main_lcore: 0, memory_mb: 256, no_huge: true, no_pci: true, file_prefix: fleetdemo-@A@,
      extra: ["--no-shconf", "--log-level=lib.eal:warning"],
      vdevs: ["net_pcap0,rx_pcap=@FIFO@,tx_pcap=@D@/trunk-out.pcap", "net_pcap1,tx_pcap=@D@/core-out.pcap"]}
ports: [{name: trunk, device: net_pcap0, role: trunk}, {name: core, device: net_pcap1, role: core}]
pairs: [[trunk, core]]
workers: {lcores: [1]}
ruleset: {artifact: @ART@, state_dir: @D@/state}
control: {socket: @D@/dp.sock}
run: {stop_when_idle_ms: 0}
detection: {report_percent: 20}
YAML
  cat >"$d/control.yaml" <<YAML
rules: {file: $d/rules/main.yaml}
store: {dir: $d/store}
dataplane: {socket: $d/dp.sock, poll_interval_ms: 200}
control: {socket: $d/ctl.sock}
metrics: {listen: "127.0.0.1:$(free_port)"}
trace: {dir: $d/trace}
fleet: {redis: "127.0.0.1:$PORT", password_file: $OUT/redis.pass, appliance: $a, prefix: "demo:", view_percent: 30}
YAML
  "$BIN/sipwall-dataplane" -c "$d/dataplane.yaml" >"$d/dataplane.log" 2>&1 &
  PIDS+=($!)
  # The trunk port reads the FIFO: the sample's frames, again and again; once
  # $d/quiet exists, frames that are not SIP instead. The stream must not
  # stop: a worker waits in its receive call for a burst. INVITEs asked for in
  # $d/inject ("CALLER CALLEE COUNT" lines) go in between.
  python3 - "$SAMPLE" "$d/trunk.fifo" "$d" "$SRC/tests/tools" <<'PY' &
import os, struct, sys, time
sys.path.insert(0, sys.argv[4])
import sippcap
data, d = open(sys.argv[1], "rb").read(), sys.argv[3]
PEER, CORE = "192.0.2.11", "10.10.0.10"
filler = sippcap.udp_frame(PEER, CORE, 40000, 40000, b"filler")
n = 0
def record(fr):
    global n
    n += 1
    return struct.pack("<IIII", 1764320400 + n // 1000, (n % 1000) * 1000, len(fr), len(fr)) + fr
with open(sys.argv[2], "wb", buffering=0) as f:
    f.write(data[:24])
    while True:
        if os.path.exists(d + "/inject"):
            for line in open(d + "/inject"):
                caller, callee, count = line.split()
                for _ in range(int(count)):
                    f.write(record(sippcap.udp_frame(PEER, CORE, 5060, 5060, sippcap.invite(
                        ruri="sip:%s@%s;user=phone" % (callee, CORE), from_uri="sip:%s@%s;user=phone" % (caller, PEER),
                        to_uri="sip:%s@%s;user=phone" % (callee, CORE), call_id="demo-%d@fleet.demo" % n, src=PEER,
                        cseq=1, sdp=False))))
            os.remove(d + "/inject")
        if os.path.exists(d + "/quiet"):
            f.write(b"".join(record(filler) for _ in range(32)))
            time.sleep(0.2)
        else:
            f.write(data[24:])
            time.sleep(0.05)
PY
  PIDS+=($!)
done
for a in a1 a2 a3; do
  for _ in $(seq 100); do [ -S "$OUT/$a/dp.sock" ] && break; sleep 0.1; done
  "$BIN/sipwall-control" -c "$OUT/$a/control.yaml" >"$OUT/$a/control.log" 2>&1 &
  PIDS+=($!)
done
sleep 2
ctl fleet status

say "2. Publish the demo rule set (rules/examples/demo.yaml and its lists, as main.yaml) to the fleet"
mkdir -p "$OUT/publish"
cp -r rules/examples/lists "$OUT/publish/"
cp rules/examples/demo.yaml "$OUT/publish/main.yaml"
ctl fleet publish "$OUT/publish/main.yaml" --wait 5
ctl fleet status

say "3. What each appliance does with the calls of the sample now (the counters go on rising)"
sleep 1
for a in a1 a2 a3; do
  echo "-- $a:"
  ctl stats --dataplane-socket "$OUT/$a/dp.sock" | sed -n '1p;/INVITE verdicts/p' | sed 's/^/   /'
done

say "4. A broken rule set is refused before it reaches the fleet (file:line:col)"
sed 's/code: 608/code: 999/' "$OUT/publish/main.yaml" >"$OUT/publish/broken.yaml"
mv "$OUT/publish/broken.yaml" "$OUT/publish/main.yaml"
ctl fleet publish "$OUT/publish/main.yaml" || echo "   (exit $?: nothing published; every appliance keeps its set)"

say "5. Redis stops: every appliance goes on filtering with what it runs, and says so"
kill -9 "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
sleep 2
for a in a1 a2 a3; do
  ctl status --control-socket "$OUT/$a/ctl.sock" --dataplane-socket "$OUT/$a/dp.sock" | grep -E '^  fleet|rule set' \
    | sed "s/^/   $a: /" || true
done
for a in a1 a2 a3; do
  ctl stats --dataplane-socket "$OUT/$a/dp.sock" | grep 'INVITE verdicts' | sed "s/^/   $a, Redis down: /"
done
ctl fleet status --timeout 0.5 || echo "   (exit $?: Redis unreachable from here too)"

say "6. Redis is back: the appliances reconnect by themselves (back-off) and report again"
start_redis
sleep 4
ctl fleet status
for a in a1 a2 a3; do grep -E 'fleet:' "$OUT/$a/control.log" | sed "s/^/   $a: /"; done

say "7. One view of every caller: Z calls 4 times through each appliance (each under its threshold of 10)"
for a in a1 a2 a3; do touch "$OUT/$a/quiet"; done
mkdir -p "$OUT/view"
cat >"$OUT/view/main.yaml" <<'YAML'
version: "view-1"
name: demo-view
dial_plan: {preset: china}
detectors:
  - {name: caller_rate, key: caller, count: invites, window: 10s, block: 10, block_for: 2s}
rules:
  - id: rate-block
    match: {detector: caller_rate}
    action:
      reject: {code: 603, reason: "Too many calls"}
YAML
ctl fleet publish "$OUT/view/main.yaml" --wait 5
Z=+8613800138077 W=+8613800138066
rate_hits() {
  ctl stats --json --dataplane-socket "$OUT/$1/dp.sock" |
    python3 -c 'import json, sys; print({r["id"]: r["hits"] for r in json.load(sys.stdin)["rules"]}.get("rate-block", 0))'
}
held_everywhere() {
  for a in a1 a2 a3; do
    ctl detections --dataplane-socket "$OUT/$a/dp.sock" | grep -F -- "$Z" >/dev/null || return 1
  done
}
H0=()
for a in a1 a2 a3; do
  H0[${a#a}]=$(rate_hits "$a")
  printf '%s +8613900139011 4\n%s +8613900139022 3\n' "$Z" "$W" >"$OUT/$a/inject.tmp"
  mv "$OUT/$a/inject.tmp" "$OUT/$a/inject"
done
echo "   Z: 4 + 4 + 4 = 12 calls in the fleet (over 10); W: 3 + 3 + 3 = 9 (not over)"
for _ in $(seq 60); do held_everywhere && break; sleep 0.25; done
# Z calls again through each appliance until rate-block rejects it there (at
# most 5 calls: Z stays under 10 on each). More than one may be needed: a
# worker can sit inside a net_pcap read, with the state it had, for a burst.
for _ in 1 2 3 4 5; do
  waiting=0
  for a in a1 a2 a3; do
    [ "$(rate_hits "$a")" -gt "${H0[${a#a}]}" ] && continue
    waiting=1
    printf '%s +8613900139011 1\n' "$Z" >"$OUT/$a/inject.tmp"
    mv "$OUT/$a/inject.tmp" "$OUT/$a/inject"
  done
  [ "$waiting" -eq 0 ] && break
  sleep 1
done
for a in a1 a2 a3; do
  echo "-- $a:"
  ctl detections --all --dataplane-socket "$OUT/$a/dp.sock" | grep -F -e DETECTOR -e "$Z" -e "$W" | sed 's/^/   /' || true
  echo "   Z's calls rejected 603 by rate-block here since the scene began: $(($(rate_hits "$a") - H0[${a#a}]))"
done
grep -h 'global detection' "$OUT"/a?/control.log | sed 's/^/   /' || true

say "8. sipwallctl detections lift $Z on a2 alone: every appliance lifts it (and resets its counts)"
ctl detections lift "$Z" --control-socket "$OUT/a2/ctl.sock"
sleep 1.5
for a in a1 a2 a3; do
  if ctl detections --dataplane-socket "$OUT/$a/dp.sock" | grep -q -- "$Z"; then
    echo "   $a: still holds $Z"
  else
    echo "   $a: $Z released"
  fi
done
grep -h 'fleet: lift of' "$OUT"/a?/control.log | sed 's/^/   /' || true
