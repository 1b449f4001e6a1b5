#!/usr/bin/env bash
# Installs the Debian packages sipwall builds and tests with. Idempotent and
# quick when everything is present: it only calls apt when a package is missing.
# Usage: scripts/deps.sh            (as root on Debian 12)
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-dev clang-format
  # libraries
  dpdk dpdk-dev libdpdk-dev libhyperscan-dev libyaml-cpp-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev libsystemd-dev
  libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libcrypt-dev libssl-dev libsqlite3-dev
  # the fleet (docs/fleet.md): hiredis 0.14 for sipwall-control and sipwallctl, Redis 7 for the tests
  libhiredis-dev redis-server
  # peers and tools the tests drive
  tshark sip-tester tcpreplay iproute2 ethtool prometheus python3 procps curl
  # the package test (tests/package): lintian on the .deb
  lintian
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root (or install them with apt) and try again" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer once, no prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian prometheus package starts a server when systemd is present; the
# tests only use promtool, so stop it if the package started one.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
