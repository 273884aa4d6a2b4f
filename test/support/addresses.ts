// Jest runs test files in parallel, and servers here bind fixed ports (2181/2888/3888, 22) on
// loopback addresses. Every test file that binds gets its own block, listed here, so two files
// can never collide.
export const addressBlocks = {
  /** test/integration/observer-joins.test.ts: ensemble .11-.13, observers .21-.22 and ::1 (the only file on IPv6 loopback) */
  observerJoins: { ensemble: ['127.0.0.11', '127.0.0.12', '127.0.0.13'], observers: ['127.0.0.21', '127.0.0.22', '::1'] },
  /** test/integration/zookeeper-harness.test.ts */
  harness: { ensemble: ['127.0.0.51', '127.0.0.52', '127.0.0.53'], observers: ['127.0.0.54'] },
  /** deploy-observers tests: the "VMs" (sshd) .31-.32, the bastion .33, nothing on .34, their ensemble .41-.43 */
  deployObservers: {
    vms: ['127.0.0.31', '127.0.0.32', '127.0.0.33'],
    unreachable: '127.0.0.34',
    ensemble: ['127.0.0.41', '127.0.0.42', '127.0.0.43']
  },
  /**
   * Sandboxes take a third-octet block: pods on 127.0.B.10-199, other LoadBalancers .200-249.
   * 61 sandbox.test.ts, 62 sandbox-process.test.ts, 64 the sandbox CLI test, 70
   * kubernetes-rollout, 71 kubernetes-failures, 72 register-monitoring, 73 chart-sources,
   * 74 the end-to-end rollout, 75 the demo, 76 kube-watch-children, 77 rollout-lock, 78 the workflows,
   * 79 plan-live-diff, 80 scaling under writes, 81 the orphan test's killed runs, 82 the fault
   * table, 83 the readiness and rollout benchmarks, 84 drift detection, 100 the CLI's default (npm run sandbox -- up).
   */
  sandboxBlocks: {
    sandbox: 61,
    sandboxProcess: 62,
    sandboxCli: 64,
    kubernetesRollout: 70,
    kubernetesFailures: 71,
    registerMonitoring: 72,
    chartSources: 73,
    endToEnd: 74,
    demo: 75,
    kubeWatchChildren: 76,
    workflows: 78,
    leaseLock: 77,
    planLiveDiff: 79,
    scaling: 80,
    orphans: 81,
    faults: 82,
    bench: 83,
    drift: 84,
    cliDefault: 100
  },
  /** The end-to-end test's observer VMs, and the demo's (npm run demo). */
  endToEndVms: ['127.0.0.93', '127.0.0.94'],
  demoVms: ['127.0.0.91', '127.0.0.92'],
  /** test/integration/workflows-rollout.test.ts: rollout.yml and the root action through the local runner */
  workflowVms: ['127.0.0.95', '127.0.0.96'],
  /** test/integration/scale.test.ts: the observer VM that follows 3 -> 5 -> 3 */
  scalingVms: ['127.0.0.97'],
  /** test/integration/orphans.test.ts: the observer VMs of the run it kills */
  orphanVms: ['127.0.0.98', '127.0.0.99'],
  /** test/faults/faults.test.ts: observer VMs, a bastion, nothing on the last; the observers' ensemble */
  faultVms: ['127.0.4.1', '127.0.4.2', '127.0.4.3', '127.0.4.4'],
  faultEnsemble: ['127.0.4.11', '127.0.4.12', '127.0.4.13'],
  /** test/integration/drift.test.ts: its two observer VMs */
  driftVms: ['127.0.0.89', '127.0.0.90'],
  /** bench/rollout.bench.ts: the whole rollout's two observer VMs */
  benchVms: ['127.0.3.101', '127.0.3.102'],
  /** bench/observer-fanout.bench.ts: 20 sshd "VMs" (and its latency relay on 127.0.3.100) */
  deployObserversBench: { vms: Array.from({ length: 20 }, (_, i) => `127.0.3.${i + 1}`) }
} as const
