#!/usr/bin/env bash
# Everything the test suite needs, installed idempotently so a fresh machine passes with
# `npm test` alone. Heavy artefacts are cached outside the work tree (ZK_ROLLOUT_CACHE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export ZK_ROLLOUT_CACHE=${ZK_ROLLOUT_CACHE:-$HOME/.cache/zk-rollout}
mkdir -p "$ZK_ROLLOUT_CACHE"

# node_modules in step with the lock file (npm writes node_modules/.package-lock.json).
if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci"
  (cd "$root" && npm ci --no-audit --no-fund)
fi

bash "$here/apt.sh"
for step in kubernetes.sh helm-kubectl.sh; do
  [ -f "$here/$step" ] && bash "$here/$step"
done
echo "setup: done (cache: $ZK_ROLLOUT_CACHE)"
