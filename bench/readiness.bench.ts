// Readiness: how long after the last pod's Ready each waiter returns. Ours (the wait-ready
// action's dist/index.js, started as a runner starts it), `kubectl wait` on readyReplicas (rollout status refuses OnDelete), and helm 3
// and helm 4 `upgrade --install --wait`, on the same sandbox in the same run, for N = 3, 5, 7.
// The reference moment is the arrival, at this process, of the watch event that shows the last
// pod Ready (an informer on the pods, opened before the install). The sandbox kubelet (ours,
// simulated) makes each pod Ready a fixed delay after its container starts; everything else
// (apiserver, controller-manager, helm, kubectl) is the real thing.
//
// Run: npm run bench (all benchmarks) or npm run bench -- --testPathPattern bench/readiness
import { afterAll, beforeAll, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, statSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../workflows-lib/src/environment/index.js'
import { Helm } from '../workflows-lib/src/kube/helm.js'
import { Kubectl } from '../workflows-lib/src/kube/kubectl.js'
import type { Pod } from '../test/sandbox/kubelet.js'
import { deployChart, upgradeRequest } from '../workflows-lib/src/steps/deploy-chart.js'
import { startSandbox, type Sandbox } from '../test/sandbox/index.js'
import { addressBlocks } from '../test/support/addresses.js'
import { repoRoot, writeEnvironment } from '../test/support/environments.js'
import { kubeEnvironmentYaml, sandboxValues } from '../test/support/kube.js'
import { runActionDist } from '../test/support/run-action.js'
import { compare, saveSection, type ResultRow, type Target } from './results.js'

const SIZES = [3, 5, 7]
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const READY_DELAY_MS = 400
const roots = { bundled: repoRoot, repository: mkdtempSync(path.join(os.tmpdir(), 'zk-bench-repo-')) }

let sandbox: Sandbox
let kubectl: Kubectl
let helm4: Helm

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: addressBlocks.sandboxBlocks.bench, readyDelayMs: READY_DELAY_MS, loadBalancer: { delayMs: 100 } })
  kubectl = new Kubectl(sandbox.kubectl, sandbox.kubeconfig)
  helm4 = new Helm(sandbox.helm4, sandbox.kubeconfig)
  const pods = sandbox.client.inform<Pod>('/api/v1/pods', (_type, pod) => onPod(pod))
  await pods.synced
  informer = pods
}, 120_000)

afterAll(async () => {
  await informer?.stop()
  await sandbox?.stop()
}, 120_000)

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env: { ...process.env, ...sandbox.env }, maxBuffer: 64 << 20 }, (error, _out, err) =>
      error ? reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}: ${error.message}\n${err}`)) : resolve()
    )
  )
}

// One pod informer for the whole bench, opened before the first install (one long watch, as a
// controller would hold, rather than one per run).
const readyAt = new Map<string, Map<string, number>>() // namespace -> pod -> arrival of its Ready
const waiting = new Map<string, { n: number; resolve: (t: number) => void }>()
let informer: { stop: () => Promise<void> } | undefined

function onPod(pod: Pod): void {
  const t = performance.now()
  if (!pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True')) return
  const ns = pod.metadata.namespace!
  const pods = readyAt.get(ns) ?? new Map<string, number>()
  readyAt.set(ns, pods)
  if (!pods.has(pod.metadata.name)) pods.set(pod.metadata.name, t)
  const w = waiting.get(ns)
  if (w && pods.size === w.n) w.resolve(Math.max(...pods.values()))
}

/** The arrival time of the event that made the last of the namespace's `n` pods Ready. */
function lastReady(namespace: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`the informer saw ${readyAt.get(namespace)?.size ?? 0} of ${n} pods of ${namespace} Ready 60 s after the waiter returned`)),
      60_000
    )
    waiting.set(namespace, { n, resolve: t => (clearTimeout(timer), resolve(t)) })
    const pods = readyAt.get(namespace)
    if (pods?.size === n) waiting.get(namespace)!.resolve(Math.max(...pods.values()))
  })
}

type Waiter = 'ours' | 'kubectl wait readyReplicas' | 'helm 3 --wait' | 'helm 4 --wait'
const WAITERS: Waiter[] = ['ours', 'kubectl wait readyReplicas', 'helm 3 --wait', 'helm 4 --wait']

async function environment(name: string, n: number): Promise<{ env: Environment; dir: string }> {
  const dir = writeEnvironment(kubeEnvironmentYaml({ namespace: name, release: name, servers: n }), { name, values: sandboxValues })
  return { env: await loadEnvironment(dir), dir }
}

/** One install and wait; returns (waiter returned) - (last pod Ready), in ms. */
async function addedLatency(waiter: Waiter, n: number, rep: number): Promise<number> {
  const name = `r${n}-${rep}-${WAITERS.indexOf(waiter)}`
  const { env, dir } = await environment(name, n)
  await sandbox.createNamespace(name)
  try {
    let returned: number
    if (waiter.startsWith('helm')) {
      const req = upgradeRequest(env, roots)
      const binary = waiter === 'helm 3 --wait' ? sandbox.helm3 : sandbox.helm4
      const args = ['upgrade', '--install', req.release, req.chart, ...req.chartFlags, '--namespace', req.namespace, '--values', req.valuesFile]
      for (const [k, v] of Object.entries(req.set)) args.push('--set', `${k}=${v}`)
      await run(binary, [...args, '--wait', '--timeout', '5m'])
      returned = performance.now()
    } else {
      const deployed = await deployChart({ env, helm: helm4, kubectl, roots })
      if (waiter === 'ours') {
        const r = await runActionDist('wait-ready', { environment: dir, kubectl: sandbox.kubectl }, { env: { KUBECONFIG: sandbox.kubeconfig } })
        returned = performance.now()
        if (r.exitCode !== 0) throw new Error(`wait-ready failed:\n${r.stdout}\n${r.stderr}`)
      } else {
        // `kubectl rollout status` refuses OnDelete StatefulSets (the chart's strategy, because
        // restarts must be ordered by quorum, not by the controller), so the kubectl waiter is
        // `kubectl wait` on the StatefulSet's readyReplicas, which any strategy reports.
        await run(sandbox.kubectl, [
          'wait',
          `statefulset/${deployed.statefulSet}`,
          '-n',
          name,
          `--for=jsonpath={.status.readyReplicas}=${n}`,
          '--timeout=5m'
        ])
        returned = performance.now()
      }
    }
    return returned - (await lastReady(name, n))
  } finally {
    // Every run finds the same cluster: only its own pods for the kubelet to look after.
    await sandbox.deleteNamespace(name, 120_000)
  }
}

it('readiness: added latency after the last pod is Ready, N = 3, 5, 7', async () => {
  const rows: ResultRow[] = []
  const targets: Target[] = []
  // One warm-up of each waiter (disk caches, helm's chart load) that is not counted.
  for (const w of WAITERS) await addedLatency(w, 3, 0)
  for (const n of SIZES) {
    const samples = new Map<Waiter, number[]>(WAITERS.map(w => [w, []]))
    // Interleaved, so a slow moment of the machine hits every waiter alike.
    for (let rep = 1; rep <= RUNS; rep++) for (const w of WAITERS) samples.get(w)!.push(await addedLatency(w, n, rep))
    const caseRows = compare(
      `N=${n}`,
      'ms',
      { tool: 'ours (wait-ready dist)', samples: samples.get('ours')! },
      WAITERS.slice(1).map(w => ({ tool: w, samples: samples.get(w)! }))
    )
    rows.push(...caseRows)
    const ours = caseRows[0].summary.median
    const h4 = caseRows.find(r => r.tool === 'helm 4 --wait')!.summary.median
    const h3 = caseRows.find(r => r.tool === 'helm 3 --wait')!.summary.median
    targets.push({
      case: `N=${n}`,
      target: 'median added latency <= 10 ms, <= 0.5x helm 4, <= 0.01x helm 3',
      measured: `${ours.toFixed(1)} ms; ${(ours / h4).toFixed(2)}x helm 4; ${(ours / h3).toFixed(3)}x helm 3`,
      met: ours <= 10 && ours <= 0.5 * h4 && ours <= 0.01 * h3
    })
  }
  saveSection('readiness', {
    title: 'Readiness: added latency after the last pod is Ready',
    method: `Sandbox in delay mode (each pod Ready ${READY_DELAY_MS} ms after its container starts), ${RUNS} runs per waiter and size after one warm-up, waiters interleaved. Added latency = the waiter's return (process exit) minus the arrival of the watch event showing the last pod Ready. Ours is actions/wait-ready/dist/index.js started right after a helm install without --wait; kubectl wait on the StatefulSet's readyReplicas likewise (kubectl rollout status refuses OnDelete StatefulSets); helm installs and waits itself.`,
    rows,
    targets
  })
  // The bundle that was measured, for the record.
  console.log(`wait-ready bundle: ${(statSync(path.join(repoRoot, 'actions/wait-ready/dist/index.js')).size / 1024).toFixed(0)} KiB`)
}, 1_800_000)
