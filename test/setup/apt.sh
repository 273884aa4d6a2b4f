#!/usr/bin/env bash
# Debian packages for the real parts the tests run: ZooKeeper, OpenSSH server, etcd, and
# docker-compose 1.29 (config validation only; --no-install-recommends keeps the engine out).
# Extra package names as arguments (the benchmarks add ansible-core, the tool they compare with).
set -euo pipefail
# openjdk-17-jdk-headless: javac for the test client that writes while the ensemble scales.
packages=(zookeeper openssh-server openssh-client etcd-server docker-compose liblog4j1.2-java libslf4j-java netcat-openbsd openjdk-17-jdk-headless "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing Debian packages (${missing[*]}) and not root: install them with apt-get" >&2
  exit 1
fi
echo "setup: apt-get install ${missing[*]}"
stamp=/var/lib/apt/periodic/zk-rollout-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
