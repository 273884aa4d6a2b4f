// Readiness: how long after the last pod's Ready each waiter returns. Ours (the wait-ready
// action's dist/index.js, started as a runner starts it), `kubectl rollout status`, and helm 3
// and helm 4 `upgrade --install --wait`, on the same sandbox in the same run, for N = 3, 5, 7.
// The reference moment is the arrival, at this process, of the watch event that shows the last
// pod Ready (one pod informer, opened before the first install). The sandbox kubelet (ours,
// simulated) makes each pod Ready a fixed delay after its container starts; everything else
// (apiserver, controller-manager, helm, kubectl) is the real thing.
//
// The comparison runs on a copy of the bundled chart with updateStrategy RollingUpdate: on the
// chart as shipped (OnDelete, because restarts must follow ZooKeeper's quorum, not the
// controller) `kubectl rollout status` refuses to run and helm 3 and helm 4 skip the StatefulSet
// in --wait, returning before any pod is Ready. That is measured too, on the shipped chart.
// A first install creates the pods the same way under either strategy (OrderedReady).
//
// Run: npm run bench (all benchmarks) or npm run bench -- --testPathPattern bench/readiness
import { afterAll, beforeAll, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../workflows-lib/src/environment/index.js'
import { Helm, helmUpgradeArgs } from '../workflows-lib/src/kube/helm.js'
import { Kubectl } from '../workflows-lib/src/kube/kubectl.js'
import type { Pod } from '../test/sandbox/kubelet.js'
import { deployChart, upgradeRequest } from '../workflows-lib/src/steps/deploy-chart.js'
import { startSandbox, type Sandbox } from '../test/sandbox/index.js'
import { addressBlocks } from '../test/support/addresses.js'
import { repoRoot, writeEnvironment } from '../test/support/environments.js'
import { kubeEnvironmentYaml, sandboxValues } from '../test/support/kube.js'
import { runActionDist } from '../test/support/run-action.js'
import { compare, saveSection, summarize, type ResultRow, type Target } from './results.js'

const SIZES = [3, 5, 7]
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const READY_DELAY_MS = 400
const roots = { bundled: repoRoot, repository: mkdtempSync(path.join(os.tmpdir(), 'zk-bench-repo-')) }
const ROLLING_CHART = 'charts/zookeeper-rolling'

let sandbox: Sandbox
let kubectl: Kubectl
let helm4: Helm

// One pod informer for the whole bench (one long watch, as a controller holds), keyed by pod uid:
// a namespace name is reused from run to run, its old pods are not.
const readyAt = new Map<string, Map<string, number>>() // namespace -> pod uid -> arrival of its Ready
const waiting = new Map<string, { n: number; resolve: (t: number) => void }>()
let informer: { stop: () => Promise<void> } | undefined

function onPod(type: string, pod: Pod): void {
  const t = performance.now()
  if (type === 'DELETED' || pod.metadata.deletionTimestamp) return
  if (!pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True')) return
  const ns = pod.metadata.namespace!
  const pods = readyAt.get(ns) ?? new Map<string, number>()
  readyAt.set(ns, pods)
  if (!pods.has(pod.metadata.uid!)) pods.set(pod.metadata.uid!, t)
  const w = waiting.get(ns)
  if (w && pods.size === w.n) w.resolve(Math.max(...pods.values()))
}

/** The arrival time of the event that made the last of the namespace's `n` pods Ready. */
function lastReady(namespace: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the informer saw ${readyAt.get(namespace)?.size ?? 0} of ${n} pods of ${namespace} Ready after 60 s`)),
      60_000
    )
    waiting.set(namespace, { n, resolve: t => (clearTimeout(timer), resolve(t)) })
    const pods = readyAt.get(namespace)
    if (pods?.size === n) waiting.get(namespace)!.resolve(Math.max(...pods.values()))
  })
}

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: addressBlocks.sandboxBlocks.bench, readyDelayMs: READY_DELAY_MS, loadBalancer: { delayMs: 100 } })
  kubectl = new Kubectl(sandbox.kubectl, sandbox.kubeconfig)
  helm4 = new Helm(sandbox.helm4, sandbox.kubeconfig)
  const pods = sandbox.client.inform<Pod>('/api/v1/pods', (type, pod) => onPod(type, pod))
  await pods.synced
  informer = pods
  // The bundled chart with RollingUpdate, as the user's repository's chart.path.
  const rolling = path.join(roots.repository, ROLLING_CHART)
  mkdirSync(path.dirname(rolling), { recursive: true })
  cpSync(path.join(repoRoot, 'charts', 'zookeeper'), rolling, { recursive: true })
  const template = path.join(rolling, 'templates', 'statefulset.yaml')
  const text = readFileSync(template, 'utf8')
  if (!text.includes('type: OnDelete')) throw new Error(`${template}: no "type: OnDelete" to replace`)
  writeFileSync(template, text.replace('type: OnDelete', 'type: RollingUpdate'))
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

type Waiter = 'ours' | 'kubectl rollout status' | 'helm 3 --wait' | 'helm 4 --wait'
const WAITERS: Waiter[] = ['ours', 'kubectl rollout status', 'helm 3 --wait', 'helm 4 --wait']
type Chart = 'rolling' | 'shipped'

async function environment(name: string, n: number, chart: Chart): Promise<{ env: Environment; dir: string }> {
  const extra = chart === 'rolling' ? `chart: { path: ${ROLLING_CHART} }\n` : ''
  // A chart from the repository gets its size from the values (zk-rollout sets it only for the bundled one).
  const values = chart === 'rolling' ? `${sandboxValues}replicas: ${n}\n` : sandboxValues
  const dir = writeEnvironment(kubeEnvironmentYaml({ namespace: name, release: name, servers: n, extra }), { name, values })
  return { env: await loadEnvironment(dir, { repository: roots.repository }), dir }
}

/** One install and wait; returns (waiter returned) - (last pod Ready), in ms: negative when it did not wait. */
async function addedLatency(waiter: Waiter, n: number, chart: Chart = 'rolling'): Promise<number> {
  // One namespace per size and waiter, deleted after each run: the sandbox gives each pod name an
  // address of its own for its whole life (190 of them), so names are reused, not minted.
  const name = `r${n}-${WAITERS.indexOf(waiter)}${chart === 'shipped' ? '-s' : ''}`
  const { env, dir } = await environment(name, n, chart)
  await sandbox.createNamespace(name)
  try {
    let returned: number
    if (waiter.startsWith('helm')) {
      const req = upgradeRequest(env, roots)
      const binary = waiter === 'helm 3 --wait' ? sandbox.helm3 : sandbox.helm4
      const args = helmUpgradeArgs(req)
      await run(binary, [...args, '--wait', '--timeout', '5m'])
      returned = performance.now()
    } else {
      const deployed = await deployChart({ env, helm: helm4, kubectl, roots })
      if (waiter === 'ours') {
        const r = await runActionDist(
          'wait-ready',
          { environment: dir, kubectl: sandbox.kubectl },
          // The workspace is the user's repository, which holds the chart.
          { env: { KUBECONFIG: sandbox.kubeconfig }, cwd: roots.repository }
        )
        returned = performance.now()
        if (r.exitCode !== 0) throw new Error(`wait-ready failed:\n${r.stdout}\n${r.stderr}`)
      } else {
        await run(sandbox.kubectl, ['rollout', 'status', `statefulset/${deployed.statefulSet}`, '-n', name, '--watch', '--timeout=5m'])
        returned = performance.now()
      }
    }
    return returned - (await lastReady(name, n))
  } finally {
    // Every run finds the same cluster: only its own pods for the kubelet to look after.
    await sandbox.deleteNamespace(name, 120_000)
    readyAt.delete(name)
    waiting.delete(name)
  }
}

it('readiness: added latency after the last pod is Ready, N = 3, 5, 7', async () => {
  const rows: ResultRow[] = []
  const targets: Target[] = []
  // One warm-up of each waiter (disk caches, helm's chart load) that is not counted.
  for (const w of WAITERS) await addedLatency(w, 3)
  for (const n of SIZES) {
    const samples = new Map<Waiter, number[]>(WAITERS.map(w => [w, []]))
    // Interleaved, so a slow moment of the machine hits every waiter alike.
    for (let rep = 1; rep <= RUNS; rep++) for (const w of WAITERS) samples.get(w)!.push(await addedLatency(w, n))
    // A waiter that returned before the last pod was Ready did not wait: its sample is negative.
    const early = (w: Waiter): number => samples.get(w)!.filter(t => t < 0).length
    const label = (w: Waiter): string => (early(w) ? `${w} (returned before the last pod was Ready in ${early(w)} of ${RUNS} runs)` : w)
    const caseRows = compare(
      `N=${n}`,
      'ms',
      { tool: 'ours (wait-ready dist)', samples: samples.get('ours')! },
      WAITERS.slice(1).map(w => ({ tool: label(w), samples: samples.get(w)! }))
    )
    rows.push(...caseRows)
    const median = (w: Waiter): number => summarize(samples.get(w)!).median
    const ours = median('ours')
    targets.push({
      case: `N=${n}`,
      target: 'median added latency <= 10 ms',
      measured: `${ours.toFixed(1)} ms`,
      met: ours <= 10 && early('ours') === 0
    })
    for (const [w, factor] of [
      ['helm 4 --wait', 0.5],
      ['helm 3 --wait', 0.01]
    ] as const) {
      const theirs = median(w)
      targets.push({
        case: `N=${n}`,
        target: `<= ${factor}x ${w.replace(' --wait', '')}`,
        measured: early(w) ? `${w} did not wait (returned early in ${early(w)} of ${RUNS} runs)` : `${(ours / theirs).toFixed(3)}x`,
        met: early(w) === 0 && ours <= factor * theirs
      })
    }
  }
  // The chart as shipped (OnDelete): does helm's --wait wait at all?
  for (const w of ['helm 3 --wait', 'helm 4 --wait'] as const) {
    const samples: number[] = []
    for (let rep = 1; rep <= RUNS; rep++) samples.push(await addedLatency(w, 3, 'shipped'))
    const early = samples.filter(t => t < 0).length
    rows.push({
      case: 'N=3, shipped chart (OnDelete)',
      tool: `${w}: returned before the last pod was Ready in ${early} of ${RUNS} runs`,
      unit: 'ms',
      summary: summarize(samples)
    })
  }
  saveSection('readiness', {
    title: 'Readiness: added latency after the last pod is Ready',
    method: `Sandbox in delay mode (each pod Ready ${READY_DELAY_MS} ms after its container starts), ${RUNS} runs per waiter and size after one warm-up, waiters interleaved, on the bundled chart with updateStrategy RollingUpdate. Added latency = the waiter's return (process exit) minus the arrival of the watch event showing the last pod Ready (negative: it returned before). Ours is actions/wait-ready/dist/index.js started right after a helm install without --wait; kubectl rollout status likewise; helm installs and waits itself. Last rows: helm --wait on the chart as shipped (OnDelete), which it does not wait for.`,
    rows,
    targets
  })
}, 2_400_000)
