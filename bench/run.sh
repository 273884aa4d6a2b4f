#!/usr/bin/env bash
# npm run bench [-- jest args, e.g. --testPathPattern readiness]: does its own setup like npm test
# (the sandbox's Kubernetes, ZooKeeper, OpenSSH, helm, kubectl; ansible-core for the fan-out
# comparison), runs the benchmarks one at a time, then renders bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup/ensure.sh >&2
bash test/setup/apt.sh ansible-core >&2
node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects integration --testMatch '<rootDir>/bench/**/*.bench.ts' --runInBand "$@"
npx tsx bench/report.ts
