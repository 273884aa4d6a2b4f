#!/usr/bin/env bash
# npm run bench [-- jest args, e.g. --testPathPattern readiness]: does its own setup like npm test
# (the sandbox's Kubernetes, ZooKeeper, OpenSSH, helm, kubectl; ansible-core for the fan-out
# comparison), runs the benchmarks one at a time, then renders bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup/ensure.sh >&2
bash test/setup/apt.sh ansible-core >&2
# A whole run starts a new results file, so RESULTS.md never shows a section from an older run as
# this one's; a run of some benchmarks (jest arguments given) updates only their sections.
[ "$#" -gt 0 ] || rm -f bench/results.json
node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects integration --testMatch '<rootDir>/bench/**/*.bench.ts' --runInBand "$@"
npx tsx bench/report.ts
