#!/usr/bin/env bash
# Debian packages that only perf/run needs (not the build, not the tests):
#   kamailio     the reference SIP filter of section 5 (htable module)
#   kamailio-sqlite-modules  db_sqlite: loads its 1M-number htable in seconds
#                (db_text, in the base package, took minutes)
#   gnuplot-nox  the PNG plots (pngcairo terminal, no X)
#   valgrind     perf/profile.sh (callgrind)
# dpdk (dpdk-testpmd) and sip-tester come from scripts/deps.sh.
# Idempotent: installs only what is missing. Needs root.
set -euo pipefail
PKGS=(kamailio kamailio-sqlite-modules gnuplot-nox valgrind)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-perf-deps: all present (${PKGS[*]})"
  exit 0
fi
if [[ $EUID -ne 0 ]]; then
  echo "install-perf-deps: missing ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-perf-deps: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
# Debian's kamailio package enables a system service; perf/run starts its own
# instances with their own config, so keep the packaged one from running.
if [[ " ${missing[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now kamailio >/dev/null 2>&1 || true
fi
