#!/usr/bin/env bash
# Whole-pipeline benchmark with its DPDK I/O baseline, in one run:
#   1. dpdk-testpmd io-forward on a net_ring pair and on a net_null pair
#      (one forwarding core): what the vdevs and an rx->tx loop cost alone;
#   2. bench_pipeline's own io phase: the same generator and sink feeding a
#      bare rx->tx loop (what the harness can deliver);
#   3. bench_pipeline on the product's worker_main with rule sets
#      none / one rule / NUMBERS numbers + PREFIXES prefixes + REGEXES regexes,
#      generated here and compiled with `sipwallctl rules compile`;
# then prints them side by side. Root is required (DPDK EAL); no hugepages.
#
#   sudo perf/pipeline/run_pipeline_bench.sh [--bin DIR] [--seconds S] [--workers N]
#        [--numbers N] [--prefixes N] [--regexes N] [--json FILE] [--keep DIR]
#
# --bin      where bench_pipeline and sipwallctl are (default build/bin)
# --seconds  measured seconds per phase (default 3; warm-up 0.5 s on top)
# --workers  worker lcores for the pipeline runs (default 1; see docs/performance.md
#            for what 2 means on a 2-CPU machine)
# --json     write everything as one JSON document
# --keep     keep the generated rule sets and per-run JSON in DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
SECS=3
WORKERS=1
NUMBERS=1000000
PREFIXES=100000
REGEXES=1000
JSON=""
KEEP=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --numbers) NUMBERS=$2; shift 2 ;;
    --prefixes) PREFIXES=$2; shift 2 ;;
    --regexes) REGEXES=$2; shift 2 ;;
    --json) JSON=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run_pipeline_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [[ $EUID -ne 0 ]]; then
  echo "run_pipeline_bench.sh: DPDK (EAL, even with --no-huge) needs root here; run it with sudo" >&2
  exit 1
fi
for f in "$BIN/bench_pipeline" "$BIN/sipwallctl"; do
  [[ -x $f ]] || { echo "run_pipeline_bench.sh: $f not found; build it (cmake --build build --target bench_pipeline sipwallctl)" >&2; exit 1; }
done
command -v dpdk-testpmd >/dev/null || { echo "run_pipeline_bench.sh: dpdk-testpmd not found (apt-get install dpdk)" >&2; exit 1; }

if [[ -n $KEEP ]]; then
  WORK=$KEEP; mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/sipwall-pipeline-bench.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
fi
echo "== whole-pipeline benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"

# 1. testpmd io-forward. Prints Rx-pps per port every second; with io-forward
# between two ports every packet is received once per hop, so the sum over
# both ports is what the one forwarding core moved per second. The median of
# the full seconds is reported (the first two are start-up).
testpmd_mpps() {  # name vdev-args...
  local name=$1; shift
  local log=$WORK/testpmd-$name.log
  timeout -s INT $((SECS + 5)) dpdk-testpmd --no-huge -m 512 --no-pci --no-shconf --file-prefix "sipwall-tp-$$" \
    -l 0-1 "$@" -- --forward-mode=io --tx-first --stats-period 1 --nb-cores=1 --total-num-mbufs=8192 \
    >"$log" 2>&1 </dev/null || true
  python3 - "$log" <<'EOF'
import re, statistics, sys
v = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", open(sys.argv[1], errors="replace").read())]
sums = [v[i] + v[i + 1] for i in range(0, len(v) - 1, 2)][2:]
print(f"{statistics.median(sums) / 1e6:.1f}" if sums else "nan")
EOF
}
echo "-- I/O baseline: dpdk-testpmd io-forward, 1 forwarding core, ${SECS}+ s each"
TP_RING=$(testpmd_mpps ring --vdev net_ring0 --vdev net_ring1)
TP_NULL=$(testpmd_mpps null --vdev net_null0 --vdev net_null1)
echo "   net_ring pair: $TP_RING Mpps    net_null pair: $TP_NULL Mpps"

# 2. Rule sets.
echo "-- rule sets: none, one rule, $NUMBERS numbers + $PREFIXES prefixes + $REGEXES regexes"
python3 "$ROOT/perf/pipeline/gen_ruleset.py" "$WORK/sets" --numbers "$NUMBERS" --prefixes "$PREFIXES" --regexes "$REGEXES"
"$BIN/sipwallctl" rules compile "$WORK/sets/one.yaml" -o "$WORK/sets/one.swr" >/dev/null
/usr/bin/env time -f "%e s wall, %M KB peak RSS" -o "$WORK/compile.time" \
  "$BIN/sipwallctl" rules compile "$WORK/sets/full.yaml" -o "$WORK/sets/full.swr" >"$WORK/compile.log"
echo "   full set: $(grep -E '^compile time' "$WORK/compile.log"), $(cat "$WORK/compile.time"), artifact $(stat -c %s "$WORK/sets/full.swr") bytes"

# 3. The harness baseline and the pipeline runs.
COMMON=(--hits "$WORK/sets" --seconds "$SECS")
echo "-- bench_pipeline io phase (generator + sink + bare rx->tx loop on the worker lcore)"
"$BIN/bench_pipeline" "${COMMON[@]}" --label harness --phases io --json "$WORK/io.json" >"$WORK/io.txt" 2>&1 ||
  { cat "$WORK/io.txt"; exit 1; }
grep -E '^harness ' "$WORK/io.txt" || true
for set in none one full; do
  art=()
  [[ $set != none ]] && art=(--artifact "$WORK/sets/$set.swr")
  echo "-- bench_pipeline: rule set '$set', $WORKERS worker(s)"
  "$BIN/bench_pipeline" "${COMMON[@]}" "${art[@]}" --label "$set" --workers "$WORKERS" \
    --phases saturation,latency --json "$WORK/$set.json" >"$WORK/$set.txt" 2>&1 || { cat "$WORK/$set.txt"; exit 1; }
  grep -E "^($set) |WARNING" "$WORK/$set.txt" || true
done

# 4. Side by side.
python3 - "$WORK" "$TP_RING" "$TP_NULL" "$NUMBERS" "$PREFIXES" "$REGEXES" "${JSON:-}" "$(cat "$WORK/compile.time")" <<'EOF'
import json, os, sys
work, tp_ring, tp_null, numbers, prefixes, regexes, out, compile_time = sys.argv[1:9]
runs = {n: json.load(open(os.path.join(work, n + ".json"))) for n in ("io", "none", "one", "full")}
m = runs["full"]["machine"]
def short(n):
    n = int(n)
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else \
           f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)
size = {"none": "no rule set", "one": "1 rule",
        "full": f"{short(numbers)} numbers + {short(prefixes)} prefixes + {short(regexes)} regexes"}
print()
print(f"machine: {m['cpu']}, {m['cpus']} CPUs, TSC {m['tsc_hz'] / 1e6:.0f} MHz, {m['dpdk']}, Hyperscan {m['hyperscan'].split()[0]}")
print(f"EAL: {m['eal']}; load average {runs['io']['machine']['loadavg_start']} (start) .. {m['loadavg_end']} (end)"
      + ("  ** UNDER LOAD **" if any(r['machine']['under_load'] for r in runs.values()) else ""))
mix = runs["full"]["mix"]
k = mix["kinds"]
print(f"mix: {mix['templates']} INVITE templates, {mix['frame_bytes']['avg']:.0f} B frames "
      f"({mix['frame_bytes']['min']}..{mix['frame_bytes']['max']}); hits: caller {k['caller-hit']}, prefix {k['prefix-hit']}, "
      f"User-Agent {k['agent-hit']}, display name {k['name-hit']} of {mix['templates']}; IPv6 {mix['ipv6']}, VLAN {mix['vlan']}")
print()
print("I/O baseline (packets/s through one forwarding core; frames never touched):")
print(f"  dpdk-testpmd io-forward, net_ring pair     {float(tp_ring):8.1f} Mpps")
print(f"  dpdk-testpmd io-forward, net_null pair     {float(tp_null):8.1f} Mpps")
io = runs["io"]["phases"][0]
print(f"  bench_pipeline io phase (its generator+sink, bare rx->tx loop): {io['mpps_wall']:.2f} Mpps wall, "
      f"loop {io['cycles_per_invite']:.0f} cycles/packet")
print()
print(f"{'rule set':<58} {'phase':<13} {'Mpps':>6} {'cyc/INV':>7} {'ns/INV':>6} {'Mpps/core':>9} "
      f"{'p50us':>7} {'p99us':>7} {'p99.9us':>8} {'idle':>6} {'preempt':>7}")
for n in ("none", "one", "full"):
    r = runs[n]
    rs = r["ruleset"]
    label = size[n] + (f" (loaded in {rs['load_ms']:.0f} ms)" if "load_ms" in rs else "")
    for p in r["phases"]:
        paced = p["offered_pps_target"] > 0
        lat = p["latency_us"]
        print(f"{label:<58} {p['phase']:<13} {p['mpps_wall']:6.3f} {p['cycles_per_invite']:7.0f} {p['ns_per_invite']:6.0f} "
              f"{p['mpps_per_core']:9.2f} "
              + (f"{lat['p50']:7.1f} {lat['p99']:7.1f} {lat['p99_9']:8.1f} {'-':>6} " if paced
                 else f"{'-':>7} {'-':>7} {'-':>8} {100 * p['worker_loops']['idle_share']:5.1f}% ")
              + f"{100 * p['worker_loops']['preempted_share']:6.1f}%")
        label = ""
full = runs["full"]["phases"][0]
print()
print(f"aim: >= 2.5 M INVITEs/s on one core with the full set: {full['mpps_per_core']:.2f} M/s per core "
      f"({'met' if full['mpps_per_core'] >= 2.5 else 'NOT met'}; {full['cycles_per_invite']:.0f} cycles/INVITE, "
      f"the aim needs <= {m['tsc_hz'] / 2.5e6:.0f})")
print(f"full-set compile: {compile_time}")
if out:
    json.dump({"testpmd_io_forward_mpps": {"net_ring": float(tp_ring), "net_null": float(tp_null)},
               "runs": runs, "compile": compile_time}, open(out, "w"), indent=2)
    print(f"JSON: {out}")
EOF
