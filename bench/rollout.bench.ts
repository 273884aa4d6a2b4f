// Whole rollout: 3 servers + 2 observers from nothing, three ways on the same world in the same
// run: `zk-rollout rollout` (the CLI bundle), a push through rollout.yml on the local runner
// (detect, then the root composite action's five steps), and the runbook done by a script (helm
// 3 --wait, then one kubectl apply and wait per LoadBalancer Service, then per VM in turn: scp the
// three files, `docker compose up -d`, poll srvr until Mode: observer). Then a no-op re-run of
// each of ours. The world (test/e2e/world.ts) is real apiserver, helm, ZooKeeper JVMs and sshd;
// the kubelet, the LB controller (300 ms per Service) and the compose shim are ours.
//
// Overhead = wall time minus the physical minimum of that very run: the sum over pods of
// (created -> Ready) (OrderedReady: each pod waits for the one before; this is the kubelet and
// the JVM's start), the LB controller's delay, and the sum over observers of (JVM started ->
// first `Mode: observer` answer). Those are measured from a pod informer, the JVMs' start times
// in /proc and a 20 ms srvr poll, so the minimum is overstated by at most ~20 ms per observer.
//
// Run: npm run bench (all) or npm run bench -- --testPathPattern bench/rollout
import { afterAll, beforeAll, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../workflows-lib/src/environment/index.js'
import { renderObserverFiles, renderMonitoring, renderServerServices, toYamlDocuments } from '../workflows-lib/src/render/index.js'
import { helmUpgradeArgs } from '../workflows-lib/src/kube/helm.js'
import { upgradeRequest } from '../workflows-lib/src/steps/deploy-chart.js'
import { fourLetterWord } from '../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../workflows-lib/src/zookeeper/srvr.js'
import { pushToMain } from '../test/e2e/push.js'
import { copyOfProject, type Repository } from '../test/e2e/repository.js'
import { rolloutArgs, startWorld, type World } from '../test/e2e/world.js'
import type { Pod } from '../test/sandbox/kubelet.js'
import { shimContainers, stopShimContainers } from '../test/support/compose-shim/shim.js'
import { addressBlocks } from '../test/support/addresses.js'
import { startGitHubApi, type GitHubApiStandIn } from '../test/support/github-api.js'
import { repoRoot } from '../test/support/environments.js'
import { runActionDist } from '../test/support/run-action.js'
import { compare, saveSection, summarize, type ResultRow, type Target } from './results.js'

const RUNS = Number(process.env.BENCH_RUNS_ROLLOUT ?? 3)
const LB_DELAY_MS = 300 // test/e2e/world.ts
const REPOSITORY = 'acme/platform'
const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-bench-rollout-'))
const cli = path.join(repoRoot, 'workflows-lib', 'dist', 'cli', 'index.js')

let world: World
let api: GitHubApiStandIn
let repo: Repository
let baseYaml: string
let values: string

beforeAll(async () => {
  world = await startWorld({ dir, addressBlock: addressBlocks.sandboxBlocks.bench, vmAddresses: addressBlocks.benchVms, name: 'bench' })
  api = await startGitHubApi({ repository: REPOSITORY })
  repo = copyOfProject(path.join(dir, 'platform'))
  baseYaml = readFileSync(path.join(world.environmentDir, 'environment.yaml'), 'utf8')
  values = readFileSync(path.join(world.environmentDir, 'values.yaml'), 'utf8')
}, 300_000)

afterAll(async () => {
  await api?.stop()
  await world?.stop()
  rmSync(dir, { recursive: true, force: true })
}, 120_000)

/** The world's environment with its own namespace and release: every run starts from nothing. */
function variant(name: string): { yaml: string; dir: string } {
  const yaml = baseYaml.replace('kubernetes: { namespace: zk, release: zk }', `kubernetes: { namespace: ${name}, release: ${name} }`)
  if (yaml === baseYaml) throw new Error('the world environment changed shape: update bench/rollout.bench.ts')
  const envDir = path.join(dir, 'variants', name, 'environments', 'bench')
  mkdirSync(envDir, { recursive: true })
  writeFileSync(path.join(envDir, 'environment.yaml'), yaml)
  writeFileSync(path.join(envDir, 'values.yaml'), values)
  return { yaml, dir: envDir }
}

/** Back to nothing: the previous release's namespace gone, no observer running, empty VM directories. */
async function reset(previous: string | undefined): Promise<void> {
  if (previous) await world.sandbox.deleteNamespace(previous, 120_000)
  await stopShimContainers(world.vms.map(vm => vm.shimState))
  for (const vm of world.vms) {
    rmSync(path.join(vm.root, 'data', 'zookeeper'), { recursive: true, force: true })
    // The shim's container state of the compose project "zookeeper": its data volume included.
    rmSync(path.join(vm.shimState, 'zookeeper'), { recursive: true, force: true })
  }
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...world.sandbox.env }, maxBuffer: 64 << 20 }, (error, out, err) =>
      error ? reject(new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')}: ${error.message}\n${out}\n${err}`)) : resolve(out)
    )
    if (input !== undefined) child.stdin!.end(input)
  })
}

const CLK_TCK = 100
/** When a process started, on performance.now()'s clock (10 ms resolution, from /proc). */
function startedAt(pid: number): number {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
  const now = performance.now()
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const start = Number(fields[19]) / CLK_TCK // field 22 of stat, counted after "pid (comm)"
  return now - (uptime - start) * 1000
}

/** Watches one run's physical work: pod created -> Ready, observer JVM start -> Mode: observer. */
function physical(namespace: string): { stop: () => Promise<{ podsMs: number; observersMs: number }> } {
  const created = new Map<string, number>()
  const ready = new Map<string, number>()
  const informer = world.sandbox.client.inform<Pod>(`/api/v1/namespaces/${namespace}/pods`, (_type, pod) => {
    const t = performance.now()
    if (!created.has(pod.metadata.name)) created.set(pod.metadata.name, t)
    if (!ready.has(pod.metadata.name) && pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True')) ready.set(pod.metadata.name, t)
  })
  const joins = new Map<number, number>() // JVM pid -> (Mode: observer) - start
  let polling = true
  const poll = (async () => {
    while (polling) {
      await Promise.all(
        world.vms.map(async (vm, i) => {
          const pid = shimContainers(vm.shimState)[0]?.pid
          if (pid === undefined || joins.has(pid)) return
          let start: number
          try {
            start = startedAt(pid)
            const mode = parseSrvr(await fourLetterWord(world.observers[i].address, 2181, 'srvr', { timeoutMs: 200 })).mode
            if (mode === 'observer') joins.set(pid, performance.now() - start)
          } catch {
            // not answering yet, or exited
          }
        })
      )
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  return {
    stop: async () => {
      polling = false
      await poll
      await informer.stop()
      const podsMs = [...ready].reduce((sum, [name, t]) => sum + t - created.get(name)!, 0)
      if (ready.size === 0) throw new Error(`no pod of ${namespace} became Ready`)
      return { podsMs, observersMs: [...joins.values()].reduce((a, b) => a + b, 0) }
    }
  }
}

interface Sample {
  wallMs: number
  overheadMs: number
}

async function measured(namespace: string, fn: () => Promise<void>): Promise<Sample> {
  const watch = physical(namespace)
  const t0 = performance.now()
  try {
    await fn()
  } catch (error) {
    // Stop polling and watching, or the failed bench never ends.
    await watch.stop().catch(() => undefined)
    throw error
  }
  const wallMs = performance.now() - t0
  const p = await watch.stop()
  return { wallMs, overheadMs: wallMs - (p.podsMs + LB_DELAY_MS + p.observersMs) }
}

async function viaCli(envDir: string, noop = false): Promise<void> {
  const args = rolloutArgs(world)
  args[1] = envDir
  const out = await run(process.execPath, [cli, ...args])
  if (!/Mode: observer/.test(out)) throw new Error(`the rollout did not end with the observers serving:\n${out}`)
  // A no-op re-run makes no revision and restarts nothing.
  if (noop && (!/revision \d+ \(unchanged\)/.test(out) || /changed zoo\.cfg|restarted/.test(out))) throw new Error(`not a no-op:\n${out}`)
}

/** The last push: a re-run delivers the same event again. */
let lastPush: { before: string; after: string } | undefined

async function viaPush(yaml?: string): Promise<void> {
  if (yaml !== undefined) {
    const before = lastPush?.after ?? repo.head()
    const after = repo.commit('environments/bench: a new namespace', {
      'environments/bench/environment.yaml': yaml,
      'environments/bench/values.yaml': values
    })
    lastPush = { before, after }
  }
  const pushed = await pushToMain({ world, api, repository: REPOSITORY, repositoryDir: repo.dir, environment: 'bench', ...lastPush! })
  if (pushed.conclusion !== 'success') throw new Error(`rollout.yml did not succeed: ${JSON.stringify(pushed.jobs.map(j => [j.id, j.conclusion]))}`)
}

/** The runbook's steps, scripted: nothing waits longer than it must (a person would). */
async function viaRunbook(env: Environment, envDir: string): Promise<void> {
  const req = upgradeRequest(env, { bundled: repoRoot, repository: path.dirname(path.dirname(envDir)) })
  const args = helmUpgradeArgs(req)
  await run(world.sandbox.helm3, [...args, '--wait', '--timeout', '5m', '--kubeconfig', world.sandbox.kubeconfig])
  const kubectl = (a: string[], input?: string): Promise<string> =>
    run(world.sandbox.kubectl, ['--kubeconfig', world.sandbox.kubeconfig, '-n', env.kubernetes.namespace, ...a], input)
  // All Services in one apply, then one wait for all their addresses (as a competent script does).
  const services = renderServerServices(env)
  const names = services.map(svc => `service/${(svc as { metadata: { name: string } }).metadata.name}`)
  await kubectl(['apply', '-f', '-'], toYamlDocuments(services))
  await kubectl(['wait', ...names, '--for=jsonpath={.status.loadBalancer.ingress[0].ip}', '--timeout=60s'])
  const addresses: string[] = []
  for (const name of names) addresses.push((await kubectl(['get', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim())
  const observers = env.observers!
  const ssh = ['-i', world.sshKeyFile, '-o', `UserKnownHostsFile=${world.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes']
  for (const [i, host] of observers.hosts.entries()) {
    const local = path.join(dir, 'runbook', env.kubernetes.namespace, host.host)
    mkdirSync(local, { recursive: true })
    const files = Object.entries(renderObserverFiles({ environment: env, observers, host, servers: addresses }))
    for (const [name, content] of files) writeFileSync(path.join(local, name), content)
    const target = `${observers.ssh.user}@${host.host}`
    await run('ssh', [...ssh, '-p', String(observers.ssh.port), target, `mkdir -p ${observers.directory}`])
    await run('scp', [
      '-q',
      ...ssh,
      '-P',
      String(observers.ssh.port),
      ...files.map(([name]) => path.join(local, name)),
      `${target}:${observers.directory}/`
    ])
    await run('ssh', [...ssh, '-p', String(observers.ssh.port), target, `cd ${observers.directory} && docker compose up -d`])
    // "echo srvr | nc <vm> 2181" until it says observer (not serving, or no answer yet: ask again).
    const deadline = performance.now() + 120_000
    for (;;) {
      const mode = await fourLetterWord(world.observers[i].address, 2181, 'srvr', { timeoutMs: 500 })
        .then(a => parseSrvr(a).mode)
        .catch(() => undefined)
      if (mode === 'observer') break
      if (performance.now() > deadline) throw new Error(`runbook: observer ${host.id} did not answer Mode: observer within 120 s`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  await kubectl(
    ['apply', '-f', '-'],
    toYamlDocuments(Object.values(renderMonitoring({ ...env, observers, monitoring: env.monitoring! })).filter(Boolean))
  )
}

const maxrss = (stderr: string): number => {
  const m = /maxrss=(\d+)/.exec(stderr)
  if (!m) throw new Error(`no maxrss from bench/maxrss.cjs:\n${stderr}`)
  return Number(m[1]) / 1024 // KiB
}

/**
 * Peak RSS of `zk-rollout rollout` from nothing and as a no-op, and of each of the five step
 * actions' bundles in a no-op run against that rollout (as the composite runs them in turn).
 */
async function peakMemory(previous: string | undefined): Promise<ResultRow[]> {
  await reset(previous)
  const v = variant('bmem')
  const probe = ['-r', path.join(repoRoot, 'bench', 'maxrss.cjs')]
  const cliRss = async (): Promise<number> => {
    const args = rolloutArgs(world)
    args[1] = v.dir
    return new Promise((resolve, reject) =>
      execFile(process.execPath, [...probe, cli, ...args], { env: { ...process.env, ...world.sandbox.env } }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolve(maxrss(err))
      )
    )
  }
  const rows: ResultRow[] = [
    { case: 'peak RSS', tool: 'zk-rollout rollout, from nothing', unit: 'MiB', summary: summarize([await cliRss()]) },
    { case: 'peak RSS', tool: 'zk-rollout rollout, no-op', unit: 'MiB', summary: summarize([await cliRss()]) }
  ]
  const kube = { kubectl: world.sandbox.kubectl }
  const ssh = { 'ssh-private-key': readFileSync(world.sshKeyFile, 'utf8'), 'known-hosts': readFileSync(world.knownHostsFile, 'utf8') }
  let servers = ''
  const steps: [string, () => Record<string, string>][] = [
    ['deploy-chart', () => ({ ...kube, helm: world.sandbox.helm4, ...ssh })],
    ['wait-ready', () => kube],
    ['expose-servers', () => kube],
    ['deploy-observers', () => ({ ...kube, servers, ...ssh })],
    ['register-monitoring', () => kube]
  ]
  for (const [action, inputs] of steps) {
    const r = await runActionDist(action, { environment: v.dir, ...inputs() }, { env: { KUBECONFIG: world.sandbox.kubeconfig }, nodeArgs: probe })
    if (r.exitCode !== 0) throw new Error(`${action} failed:\n${r.stdout}\n${r.stderr}`)
    if (action === 'expose-servers') servers = r.outputs.addresses
    rows.push({ case: 'peak RSS', tool: `${action} dist, no-op`, unit: 'MiB', summary: summarize([maxrss(r.stderr)]) })
  }
  return rows
}

it('whole rollout: 3 servers + 2 observers, ours (CLI, rollout.yml) against the runbook; no-op re-runs', async () => {
  const fresh = { cli: [] as Sample[], push: [] as Sample[], runbook: [] as Sample[] }
  const noop = { cli: [] as number[], push: [] as number[] }
  let previous: string | undefined
  // Rep 0 warms disk caches, helm's chart load and the JIT, and is not counted.
  for (let rep = 0; rep <= RUNS; rep++) {
    for (const way of ['cli', 'push', 'runbook'] as const) {
      const name = `b${rep}${way[0]}`
      await reset(previous)
      previous = name
      const v = variant(name)
      const rollout = {
        cli: () => viaCli(v.dir),
        // rollout.yml rolls environments/bench of the pushed commit.
        push: () => viaPush(v.yaml),
        runbook: async () => viaRunbook(await loadEnvironment(v.dir), v.dir)
      }[way]
      const sample = await measured(name, rollout)
      if (way !== 'runbook') {
        const t0 = performance.now()
        await (way === 'cli' ? viaCli(v.dir, true) : viaPush())
        if (rep > 0) noop[way].push(performance.now() - t0)
      }
      if (rep > 0) fresh[way].push(sample)
      console.log(`rep ${rep} ${way}: ${(sample.wallMs / 1000).toFixed(2)} s, overhead ${(sample.overheadMs / 1000).toFixed(2)} s`)
    }
  }
  const memory = await peakMemory(previous)
  const walls = (s: Sample[]): number[] => s.map(x => x.wallMs)
  const overheads = (s: Sample[]): number[] => s.map(x => x.overheadMs)
  const rows: ResultRow[] = [
    ...compare('from nothing, wall', 'ms', { tool: 'ours: zk-rollout rollout', samples: walls(fresh.cli) }, [
      { tool: 'ours: push -> rollout.yml (local runner)', samples: walls(fresh.push) },
      { tool: 'runbook, scripted', samples: walls(fresh.runbook) }
    ]),
    ...compare('from nothing, over the physical minimum', 'ms', { tool: 'ours: zk-rollout rollout', samples: overheads(fresh.cli) }, [
      { tool: 'ours: push -> rollout.yml (local runner)', samples: overheads(fresh.push) },
      { tool: 'runbook, scripted', samples: overheads(fresh.runbook) }
    ]),
    ...memory,
    ...compare('no-op re-run, wall', 'ms', { tool: 'ours: zk-rollout rollout', samples: noop.cli }, [
      { tool: 'ours: rollout.yml re-run (local runner)', samples: noop.push }
    ])
  ]
  const median = (xs: number[]): number => summarize(xs).median
  const targets: Target[] = [
    ...(['cli', 'push'] as const).map(way => {
      const o = median(overheads(fresh[way]))
      return {
        case: way === 'cli' ? 'zk-rollout rollout' : 'rollout.yml',
        target: 'overhead over the physical minimum < 1.5 s',
        measured: `${(o / 1000).toFixed(2)} s`,
        met: o < 1500
      }
    }),
    ...(['cli', 'push'] as const).map(way => {
      const o = median(noop[way])
      return {
        case: way === 'cli' ? 'zk-rollout rollout' : 'rollout.yml re-run',
        target: 'no-op re-run < 3 s',
        measured: `${(o / 1000).toFixed(2)} s`,
        met: o < 3000
      }
    })
  ]
  saveSection('rollout', {
    title: 'Whole rollout: 3 servers + 2 observers',
    method: `Each run starts from nothing (a new namespace and release, empty observer directories, no observer JVM); ${RUNS} runs per way after one warm-up, ways interleaved. Physical minimum of a run = sum of pod created->Ready (informer) + the LB controller's ${LB_DELAY_MS} ms + sum of observer JVM start (/proc) -> first Mode: observer (20 ms srvr poll). The runbook: helm 3 upgrade --install --wait, then per Service kubectl apply + kubectl wait for its IP, then per VM in turn ssh mkdir, scp of the three files, ssh docker compose up -d, srvr poll every 20 ms, then the monitoring objects with one kubectl apply. No-op: the same rollout again at once (CLI), or rollout.yml run again on the same push.`,
    rows,
    targets
  })
}, 3_600_000)
