// The fault table: every fault zk-rollout claims to survive, one row each, with the fault
// injected, the end state expected and the message the user must see. Each row proves its fault
// really happened (a rule's hit count, a refused connection, a full disk), and after every row the
// same invariants are checked: every file on a VM is a whole generation (one we rendered, never a
// mix of two in one file), no `.staged` upload is left behind, no data volume (an observer's, a
// pod's data directory) was removed, and no secret appears in what the user saw.
//
// Real parts: kube-apiserver behind the sandbox's fault proxy (real HTTP faults on real client
// traffic), ZooKeeper servers (the `lead` release's pods run real JVMs; the others are the sandbox
// kubelet's delay mode), observer VMs that are real sshd processes, a real ensemble for them to join.
// Ours and simulated: the sandbox kubelet and LB controller (pod and LB faults are their knobs)
// and the compose shim on the VMs. Runnable alone: npm run test:faults.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import { Helm } from '../../workflows-lib/src/kube/helm.js'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { Pod } from '../../workflows-lib/src/kube/types.js'
import { leaseName } from '../../workflows-lib/src/lock/lease-object.js'
import type { DeployReport, ObserverResult } from '../../workflows-lib/src/observers/index.js'
import { useTerminalLog } from '../../workflows-lib/src/output/log.js'
import { renderObserverFiles } from '../../workflows-lib/src/render/index.js'
import { rollout } from '../../workflows-lib/src/rollout/rollout.js'
import { withSecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { deployChart } from '../../workflows-lib/src/steps/deploy-chart.js'
import { deployObservers, type DeployObserversOptions } from '../../workflows-lib/src/steps/deploy-observers.js'
import { exposeServers } from '../../workflows-lib/src/steps/expose-servers.js'
import { waitReady } from '../../workflows-lib/src/steps/wait-ready.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import type { FaultRule } from '../sandbox/fault-proxy.js'
import { addressBlocks } from '../support/addresses.js'
import { prepareShimState, shimContainers, stopShimContainers } from '../support/compose-shim/shim.js'
import { observersYaml, type ObserversYamlOptions, repoRoot, writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, sandboxValues } from '../support/kube.js'
import { stopAllTracked } from '../support/processes.js'
import { runActionDist } from '../support/run-action.js'
import { removeScanned, secretsIn } from '../support/secret-hygiene.js'
import { fingerprint, generateKey, knownHostsLine, sshPortFor, startSshd, type KeyPair, type Sshd } from '../support/sshd.js'
import { startEnsemble, waitForMode, type Ensemble } from '../support/zookeeper.js'

jest.setTimeout(300_000)

const [vm1Address, vm2Address, bastionAddress, downAddress] = addressBlocks.faultVms
const serverIps = [...addressBlocks.faultEnsemble]
// The same servers by name (a changed server list); the observers' JVMs resolve them through
// -Djdk.net.hosts.file. Names that resolve nowhere make an observer that cannot join.
const serverNames = serverIps.map((_, i) => `zk-${i}.faults.sandbox.test`)
const wrongServers = serverIps.map((_, i) => `zk-${i}.nowhere.sandbox.test`)
const user = os.userInfo().username

const base = mkdtempSync(path.join(os.tmpdir(), 'zk-faults-'))
const vmRoot = path.join(base, 'vm')
const observerDir = path.join(vmRoot, 'data', 'zookeeper')
const repository = mkdtempSync(path.join(base, 'repo-'))
const roots = { bundled: repoRoot, repository }

let sandbox: Sandbox
let kubectl: Kubectl
let helm: Helm
// Straight to the apiserver: the fault proxy forwards no protocol upgrade, so `kubectl exec` (how
// the rollout asks a server pod its mode) needs this; the exec row below uses the proxy on purpose.
let direct: { kubectl: Kubectl; helm: Helm }
let ensemble: Ensemble
let vm1: Sshd
let vm2: Sshd
let bastion: Sshd
let sshPort: number
let deployer: KeyPair
let knownHosts: string
let vmsEnv: Environment
const logged: string[] = []
const undo: (() => void)[] = []

// Every file content we ever asked a VM to hold, by file name: a live file must be one of them.
const generations = new Map<string, Set<string>>()
// Data that must survive every fault: path -> inode when first seen.
const volumes = new Map<string, number>()

beforeAll(async () => {
  useTerminalLog(text => logged.push(text), { verbose: false })
  deployer = generateKey(path.join(base, 'keys'), 'deployer')
  sshPort = await sshPortFor(addressBlocks.faultVms)
  const hostsFile = path.join(base, 'hosts')
  writeFileSync(hostsFile, [...serverNames.map((name, i) => `${serverIps[i]} ${name}`), `127.0.0.1 ${os.hostname()}`, ''].join('\n'))
  const vm = (name: string, address: string, rootMount?: string): Promise<Sshd> =>
    startSshd({ name, address, port: sshPort, dir: path.join(base, name), authorizedKeys: [deployer.publicKey], ...(rootMount ? { rootMount } : {}) })
  ;[sandbox, vm1, vm2, bastion, ensemble] = await Promise.all([
    startSandbox({
      addressBlock: addressBlocks.sandboxBlocks.faults,
      baseDir: path.join(base, 'cluster'),
      faultProxy: true,
      loadBalancer: { delayMs: 200 },
      // Only the `lead` release runs real ZooKeeper (the leader-kill and lock rows need a quorum).
      process: { selector: 'app.kubernetes.io/instance=lead' }
    }),
    vm('vm1', vm1Address, vmRoot),
    vm('vm2', vm2Address, vmRoot),
    vm('bastion', bastionAddress),
    startEnsemble({ addresses: serverIps, baseDir: path.join(base, 'ensemble') })
  ])
  kubectl = new Kubectl(sandbox.kubectl, sandbox.kubeconfig)
  helm = new Helm(sandbox.helm4, sandbox.kubeconfig)
  direct = { kubectl: new Kubectl(sandbox.kubectl, sandbox.directKubeconfig), helm: new Helm(sandbox.helm4, sandbox.directKubeconfig) }
  for (const v of [vm1, vm2]) prepareShimState(v.shimState, { jvmArgs: [`-Djdk.net.hosts.file=${hostsFile}`] })
  knownHosts = [vm1.knownHosts, vm2.knownHosts, bastion.knownHosts].join('\n')
  vmsEnv = await observersEnvironment('vms')
  const first = await deploy({ servers: serverIps })
  if (!first.report.ok) throw new Error(`the first deploy failed: ${JSON.stringify(first.report.results)}`)
  recordVolumes()
}, 240_000)

afterAll(async () => {
  for (const f of undo.reverse()) f()
  await stopShimContainers([vm1, vm2].filter(Boolean).map(v => v.shimState))
  await Promise.allSettled([sandbox?.stop(), ensemble?.stop()])
  await stopAllTracked()
  removeScanned(base)
}, 120_000)

// --- the world's helpers ------------------------------------------------------------------------

type ObserversOpts = Partial<ObserversYamlOptions>

const faultObserversYaml = (opts: ObserversOpts = {}): string =>
  observersYaml({
    hosts: [
      { id: 101, host: vm1Address },
      { id: 102, host: vm2Address }
    ],
    directory: observerDir,
    user,
    sshPort,
    ...opts
  })

async function observersEnvironment(name: string, opts: ObserversOpts = {}): Promise<Environment> {
  return loadEnvironment(writeEnvironment(faultObserversYaml(opts), { name }))
}

/** Renders what a deploy will write, remembering each file as a legitimate generation. */
function remember(environment: Environment, servers: readonly string[]): void {
  const observers = environment.observers!
  for (const host of observers.hosts)
    for (const [name, content] of Object.entries(renderObserverFiles({ environment, observers, host, servers }))) {
      if (!generations.has(name)) generations.set(name, new Set())
      generations.get(name)!.add(content)
    }
}

async function deploy(
  opts: Partial<Omit<DeployObserversOptions, 'credentials' | 'secretFiles'>> & { knownHosts?: string; privateKey?: string } = {}
): Promise<{ report: DeployReport; log: string[]; text: string }> {
  const environment = opts.environment ?? vmsEnv
  const servers = opts.servers ?? serverIps
  remember(environment, servers)
  const log: string[] = []
  const report = await withSecretFiles(secretFiles =>
    deployObservers({
      environment,
      ...opts,
      servers,
      credentials: { privateKey: opts.privateKey ?? deployer.privateKey, knownHosts: opts.knownHosts ?? knownHosts },
      secretFiles,
      log: line => log.push(line)
    })
  )
  return { report, log, text: [...log, ...report.results.map(r => r.message)].join('\n') }
}

function result(report: DeployReport, id: number): ObserverResult {
  const r = report.results.find(x => x.id === id)
  if (!r) throw new Error(`no result for observer ${id} in ${JSON.stringify(report.results)}`)
  return r
}

const dirOn = (vm: Sshd): string => path.join(vm.root, 'data', 'zookeeper')
const observerPid = (vm: Sshd, project = 'zookeeper'): number | undefined => shimContainers(vm.shimState).find(c => c.project === project)?.pid
const filesOn = (vm: Sshd): Record<string, string> =>
  Object.fromEntries(['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => [f, readFileSync(path.join(dirOn(vm), f), 'utf8')]))
const acceptedLogins = (vm: Sshd): number => (readFileSync(vm.process.logFile, 'utf8').match(/Accepted publickey/g) ?? []).length

/** Runs a command inside a VM's mount namespace (its sshd's), as the VM itself would. */
function onVm(vm: Sshd, command: string): string {
  return execFileSync('nsenter', ['-t', String(vm.process.pid), '-m', 'sh', '-c', command], { encoding: 'utf8' })
}

function recordVolumes(): void {
  for (const v of [vm1, vm2])
    for (const project of readdirSync(v.shimState).filter(p => existsSync(path.join(v.shimState, p, 'volumes')))) {
      const volume = path.join(v.shimState, project, 'volumes')
      if (!volumes.has(volume)) volumes.set(volume, statSync(volume).ino)
    }
  for (const p of sandbox.kubelet.processes()) if (!volumes.has(p.dir)) volumes.set(p.dir, statSync(p.dir).ino)
}

/** Invariants after every row: whole generations on the VMs, no upload left behind, volumes kept. */
function expectInvariants(): void {
  for (const v of [vm1, vm2]) {
    const data = path.join(v.root, 'data')
    for (const dir of readdirSync(data).map(d => path.join(data, d))) {
      expect([dir, existsSync(path.join(dir, '.staged'))]).toEqual([dir, false])
      for (const [name, known] of generations) {
        const file = path.join(dir, name)
        if (existsSync(file)) expect([file, known.has(readFileSync(file, 'utf8'))]).toEqual([file, true])
      }
    }
  }
  for (const [volume, ino] of volumes) expect([volume, existsSync(volume) && statSync(volume).ino]).toEqual([volume, ino])
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(outcome instanceof Error)) throw new Error('expected a failure, but it succeeded')
  return outcome
}

function refused(address: string): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host: address, port: sshPort }, () => {
      socket.destroy()
      resolve(false)
    })
    socket.on('error', e => resolve((e as NodeJS.ErrnoException).code === 'ECONNREFUSED'))
  })
}

async function kubeEnvironment(name: string, values = sandboxValues): Promise<Environment> {
  return loadEnvironment(writeEnvironment(kubeEnvironmentYaml({ namespace: name, release: name }), { name, values }))
}

async function pod(namespace: string, name: string): Promise<Pod> {
  return JSON.parse((await kubectl.run(['get', 'pod', '-n', namespace, name, '-o', 'json'])).stdout) as Pod
}

/** Deploy, wait and expose through the fault proxy with rules active; every rule must have acted. */
async function convergesThrough(namespace: string, rules: FaultRule[], lbDelayMs = 200): Promise<string> {
  const proxy = sandbox.proxy!
  const env = await kubeEnvironment(namespace)
  const active = rules.map(r => proxy.addRule(r))
  sandbox.lb.setDelay(lbDelayMs)
  try {
    const deployed = await deployChart({ env, helm, kubectl, roots })
    const ready = await waitReady({ kubectl, namespace, statefulSet: deployed.statefulSet, podTimeoutMs: 60_000, overallTimeoutMs: 120_000 })
    expect(ready.map(r => r.pod)).toEqual([0, 1, 2].map(i => `${namespace}-zookeeper-${i}`))
    const exposed = await exposeServers({ kubectl, env, timeoutMs: 30_000 })
    expect(exposed.addresses).toHaveLength(3)
  } finally {
    proxy.clearRules()
    sandbox.lb.setDelay(200)
  }
  // The fault happened: each rule acted as often as it was told to.
  expect(active.map(r => r.hits)).toEqual(rules.map(r => r.times))
  return logged.join('')
}

async function waitFails(namespace: string, podTimeoutMs: number): Promise<Error> {
  const env = await kubeEnvironment(namespace)
  const deployed = await deployChart({ env, helm, kubectl, roots })
  return caught(waitReady({ kubectl, namespace, statefulSet: deployed.statefulSet, podTimeoutMs, overallTimeoutMs: 300_000 }))
}

async function leaderOf(namespace: string): Promise<string[]> {
  const pods = [0, 1, 2].map(i => `${namespace}-zookeeper-${i}`)
  const modes = await Promise.all(
    pods.map(p =>
      fourLetterWord(sandbox.podAddress(namespace, p), 2181, 'srvr', { timeoutMs: 1000 })
        .then(parseSrvr)
        .then(
          s => s.mode,
          () => 'down'
        )
    )
  )
  return pods.filter((_, i) => modes[i] === 'leader')
}

// --- the table ----------------------------------------------------------------------------------

const apiStatus = (code: number, reason: string, message: string, retryAfterSeconds?: number): NonNullable<FaultRule['respond']> => ({
  status: code,
  body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }),
  ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
})

interface FaultRow {
  fault: string
  endState: string
  /** What the user must read (cause and what to do); absent when the fault is ridden out. */
  message?: RegExp
  /** Injects the fault, runs, asserts it happened and the end state; returns all the user saw. */
  run: () => Promise<string>
}

const rows: FaultRow[] = [
  {
    fault: 'apiserver answers 503 and 500',
    endState: 'retried; the rollout steps succeed',
    run: () =>
      convergesThrough('five', [
        {
          method: 'GET',
          path: /\/namespaces\/five\/statefulsets/,
          watch: false,
          times: 2,
          respond: apiStatus(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')
        },
        {
          method: 'GET',
          path: /\/namespaces\/five\/services/,
          watch: false,
          times: 1,
          respond: apiStatus(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out')
        }
      ])
  },
  {
    fault: 'apiserver answers 429 with Retry-After',
    endState: 'waits as told, retries; succeeds',
    run: () =>
      convergesThrough('many', [
        {
          method: 'GET',
          path: /\/namespaces\/many\/pods/,
          watch: false,
          times: 2,
          respond: apiStatus(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', 1)
        }
      ])
  },
  {
    fault: 'slow apiserver responses (2 s each)',
    endState: 'waits them out; succeeds',
    run: () => convergesThrough('slow', [{ method: 'GET', path: /\/namespaces\/slow\//, watch: false, times: 3, delayMs: 2000 }])
  },
  {
    fault: 'watches cut mid-stream',
    endState: 'watches resumed; succeeds',
    run: () =>
      convergesThrough(
        'cut',
        [
          { method: 'GET', path: /\/namespaces\/cut\/pods/, watch: true, times: 2, cutAfterEvents: 1 },
          // Addresses come 1.5 s after the Services, so expose-servers must watch them, through the cut.
          { method: 'GET', path: /\/namespaces\/cut\/services/, watch: true, times: 1, cutAfterMs: 100 }
        ],
        1500
      )
  },
  {
    fault: 'a pod that never gets Ready',
    endState: 'wait-ready fails at the per-pod timeout',
    message: /^pod held-zookeeper-1 not Ready after 4 s \(per-pod timeout\)[\s\S]*Ready=False[\s\S]*recent events:/,
    run: async () => {
      sandbox.kubelet.setFault('held/held-zookeeper-1', { holdNotReady: true })
      try {
        const error = await waitFails('held', 4000)
        const ready = (await pod('held', 'held-zookeeper-1')).status?.conditions?.find(c => c.type === 'Ready')
        expect(ready?.status).toBe('False')
        return error.message
      } finally {
        sandbox.kubelet.setFault('held/held-zookeeper-1', undefined)
      }
    }
  },
  {
    fault: 'a crash-looping pod',
    endState: 'wait-ready fails fast, long before its timeout',
    message: /^pod crash-zookeeper-0 container zookeeper (is CrashLoopBackOff|keeps restarting) \(restarts: [1-9]\d*\)[\s\S]*last log lines/,
    run: async () => {
      sandbox.kubelet.setFault('crash/crash-zookeeper-0', { crashLoop: true })
      try {
        const error = await waitFails('crash', 600_000)
        expect((await pod('crash', 'crash-zookeeper-0')).status?.containerStatuses?.[0].restartCount).toBeGreaterThan(0)
        return error.message
      } finally {
        sandbox.kubelet.setFault('crash/crash-zookeeper-0', undefined)
      }
    }
  },
  {
    fault: 'an image that cannot be pulled',
    endState: 'wait-ready fails fast, naming the image',
    message:
      /^pod pull-zookeeper-0 container zookeeper is (ErrImagePull|ImagePullBackOff) \(restarts: 0\): (Failed to pull|Back-off pulling) image "[^"]+"/,
    run: async () => {
      sandbox.kubelet.setFault('pull/pull-zookeeper-0', { imagePullFails: true })
      try {
        const error = await waitFails('pull', 600_000)
        const waiting = (await pod('pull', 'pull-zookeeper-0')).status?.containerStatuses?.[0].state?.waiting?.reason
        expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting)
        return error.message
      } finally {
        sandbox.kubelet.setFault('pull/pull-zookeeper-0', undefined)
      }
    }
  },
  {
    fault: 'a LoadBalancer that stays pending',
    endState: 'expose-servers fails at its timeout, naming the Service',
    message: /^no LoadBalancer IP after 3 s for Service pend-lb-1 in namespace pend\. Check the cloud's load-balancer controller/,
    run: async () => {
      const env = await kubeEnvironment('pend')
      await sandbox.createNamespace('pend')
      sandbox.lb.setPending('pend/pend-lb-1', true)
      try {
        const error = await caught(exposeServers({ kubectl, env, timeoutMs: 3000 }))
        const status = JSON.parse((await kubectl.run(['get', 'service', '-n', 'pend', 'pend-lb-1', '-o', 'json'])).stdout) as {
          status?: { loadBalancer?: { ingress?: unknown[] } }
        }
        expect(status.status?.loadBalancer?.ingress ?? []).toEqual([])
        return error.message
      } finally {
        sandbox.lb.setPending('pend/pend-lb-1', false)
      }
    }
  },
  {
    fault: 'LoadBalancers that report hostnames (AWS)',
    endState: 'hostname environments get the names; IP environments are told what to set',
    message: /got a LoadBalancer hostname .* set addressKind to hostname/,
    run: async () => {
      const env = await kubeEnvironment('names')
      await sandbox.createNamespace('names')
      sandbox.lb.setAddressKind('hostname')
      try {
        const named = await exposeServers({ kubectl, env: { ...env, expose: { ...env.expose, addressKind: 'hostname' } }, timeoutMs: 30_000 })
        expect(named.addresses).toEqual([0, 1, 2].map(i => `names-lb-${i}.names.lb.sandbox.test`))
        return (await caught(exposeServers({ kubectl, env, timeoutMs: 30_000 }))).message
      } finally {
        sandbox.lb.setAddressKind('ip')
      }
    }
  },
  {
    fault: 'the ZooKeeper leader killed (SIGKILL) mid-rollout',
    endState: 'a new leader is elected; every server ends on the new revision, the leader restarted last',
    run: async () => {
      const env = await kubeEnvironment('lead')
      await rollout({ env, ...direct, roots })
      recordVolumes()
      let killed: { pod: string; pid: number } | undefined
      const report = await rollout({
        env: await kubeEnvironment('lead', sandboxValues.replace('heap: 64m', 'heap: 72m')),
        ...direct,
        roots,
        onRestart: (restarting, state) => {
          if (killed) return
          // Before the first restart (a follower's), the leader the rollout just read dies.
          const leader = state.servers.find(s => s.mode === 'leader' && s.pod !== restarting)?.pod
          const proc = sandbox.kubelet.processes().find(p => p.namespace === 'lead' && p.pod === leader)
          if (!proc) return
          killed = { pod: proc.pod, pid: proc.pid }
          process.kill(proc.pid, 'SIGKILL')
        }
      })
      expect(killed).toBeDefined()
      expect(report.restarted).toHaveLength(3)
      expect(sandbox.kubelet.processes().find(p => p.pod === killed!.pod)?.pid).not.toBe(killed!.pid)
      expect(await leaderOf('lead')).toHaveLength(1)
      return logged.join('')
    }
  },
  {
    fault: 'two rollouts of one environment at once',
    endState: 'the first runs; the second waits on the lock and gives up at its timeout, changing nothing',
    message:
      /the rollout lock .* is still held by "fault table: first" after waiting 2 ?s .*Another rollout of this environment is running: wait for it to finish/,
    run: async () => {
      const env = await kubeEnvironment('lead')
      const first = rollout({ env, ...direct, roots, lock: { holder: 'fault table: first' } })
      // The first holds the lock before the second asks for it.
      for (let i = 0; ; i++) {
        const lease = await kubectl.run(['get', 'lease', '-n', 'lead', leaseName('lead'), '-o', 'jsonpath={.spec.holderIdentity}']).then(
          r => r.stdout,
          () => ''
        )
        if (lease === 'fault table: first') break
        if (i > 300) throw new Error('the first rollout never took the lock')
        await new Promise(r => setTimeout(r, 20))
      }
      const second = await caught(rollout({ env, ...direct, roots, lock: { holder: 'fault table: second', waitTimeoutMs: 2000, pollMs: 200 } }))
      await first
      return second.message
    }
  },
  {
    fault: 'kubectl exec that never completes (a proxy that drops the protocol upgrade)',
    endState: 'the rollout fails in bounded time, before restarting anything; the next run resumes',
    message: /through kubectl exec into lead-zookeeper-\d failed: no answer within 30 s: stopped/,
    run: async () => {
      const before = (await direct.kubectl.list<Pod>('pods', 'lead', 'app.kubernetes.io/instance=lead')).map(p => p.metadata.uid)
      const error = await caught(
        rollout({ env: await kubeEnvironment('lead', sandboxValues.replace('heap: 64m', 'heap: 80m')), kubectl, helm, roots })
      )
      // The upgrade really went through the proxy and never completed.
      expect(sandbox.proxy!.log.some(e => e.path.includes('/exec') && e.fault === 'upgrade dropped')).toBe(true)
      expect((await direct.kubectl.list<Pod>('pods', 'lead', 'app.kubernetes.io/instance=lead')).map(p => p.metadata.uid)).toEqual(before)
      const resumed = await rollout({ env: await kubeEnvironment('lead', sandboxValues.replace('heap: 64m', 'heap: 80m')), ...direct, roots })
      expect(resumed.restarted).toHaveLength(3)
      return error.message
    }
  },
  {
    fault: 'an observer VM that is down',
    endState: 'that VM fails alone; the other is deployed',
    message: new RegExp(
      `${user}@${downAddress.replace(/\./g, '\\.')}:\\d+: connection refused: nothing listens on the SSH port; check that sshd runs`
    ),
    run: async () => {
      expect(await refused(downAddress)).toBe(true)
      const env = await observersEnvironment('with-down', {
        hosts: [
          { id: 101, host: vm1Address },
          { id: 103, host: downAddress }
        ]
      })
      const run = await deploy({ environment: env })
      expect(result(run.report, 101).status).toBe('ok')
      expect(result(run.report, 103).status).toBe('failed')
      return run.text
    }
  },
  {
    fault: 'a VM host key not in known-hosts',
    endState: 'refused before login; nothing sent; the other VM is deployed',
    message: /has no ED25519 key for [\s\S]*ssh-keyscan -p \d+ -t ed25519 127\.0\.4\.1/,
    run: async () => {
      const logins = acceptedLogins(vm1)
      const run = await deploy({ knownHosts: vm2.knownHosts })
      expect(result(run.report, 101).status).toBe('failed')
      expect(result(run.report, 102).status).toBe('ok')
      expect(acceptedLogins(vm1)).toBe(logins)
      return run.text
    }
  },
  {
    fault: 'a changed VM host key',
    endState: 'refused before login; nothing sent',
    message: /offered ED25519 key SHA256:\S+, which differs from the key pinned for[\s\S]*nothing was sent to it/,
    run: async () => {
      const impostor = generateKey(path.join(base, 'keys'), 'impostor-host-key')
      expect(fingerprint(impostor.publicKey)).not.toBe(fingerprint(vm1.hostKey.publicKey))
      const logins = acceptedLogins(vm1)
      const run = await deploy({ knownHosts: [knownHostsLine(vm1Address, sshPort, impostor.publicKey), vm2.knownHosts].join('\n') })
      expect(result(run.report, 101).status).toBe('failed')
      expect(acceptedLogins(vm1)).toBe(logins)
      return run.text
    }
  },
  {
    fault: 'SSH authentication fails (a key the VMs do not accept)',
    endState: 'every VM fails with the reason; nothing changes',
    message: /Permission denied[\s\S]*authorized_keys/,
    run: async () => {
      const stranger = generateKey(path.join(base, 'keys'), 'stranger')
      const before = [filesOn(vm1), filesOn(vm2)]
      const run = await deploy({ privateKey: stranger.privateKey })
      expect(run.report.results.map(r => r.status)).toEqual(['failed', 'failed'])
      expect(readFileSync(vm1.process.logFile, 'utf8')).toMatch(/Connection closed by authenticating user|Failed publickey/)
      expect([filesOn(vm1), filesOn(vm2)]).toEqual(before)
      return run.text
    }
  },
  {
    fault: 'the jump host is down',
    endState: 'every VM fails, naming the jump host',
    message: new RegExp(`through jump host ${user}@${downAddress.replace(/\./g, '\\.')}:\\d+[\\s\\S]*connection refused`),
    run: async () => {
      expect(await refused(downAddress)).toBe(true)
      const run = await deploy({
        environment: await observersEnvironment('jump-down', { jumpHost: `{ host: ${downAddress}, user: ${user}, port: ${sshPort} }` })
      })
      expect(run.report.results.map(r => r.status)).toEqual(['failed', 'failed'])
      return run.text
    }
  },
  {
    fault: 'a read-only observer directory during upload',
    endState: 'that VM keeps its files and observer; the other VM rolls',
    message: /cannot write in \S+ as user \S+: .*Operation not permitted.*; nothing was changed/,
    run: async () => {
      const dir = dirOn(vm1)
      execFileSync('chattr', ['+i', dir])
      const restore = (): void => void execFileSync('chattr', ['-i', dir])
      undo.push(restore)
      try {
        expect(() => writeFileSync(path.join(dir, 'probe'), '')).toThrow(/EPERM/)
        const before = filesOn(vm1)
        const pid = observerPid(vm1)
        const run = await deploy({ servers: serverNames })
        expect(result(run.report, 101)).toMatchObject({ status: 'failed', restarted: false })
        expect(result(run.report, 102)).toMatchObject({ status: 'ok', changed: true, verified: true })
        expect([filesOn(vm1), observerPid(vm1)]).toEqual([before, pid])
        return run.text
      } finally {
        restore()
        undo.pop()
      }
    }
  },
  {
    fault: 'the remote disk full during upload',
    endState: 'the upload is removed; files and observer as before',
    message: /could not write \S+\/\.staged\/\S+: .*\(disk full\?\); nothing was changed/,
    run: async () => {
      // A 512 KiB tmpfs inside vm2's mount namespace holds this environment's directory.
      const small = path.join(vmRoot, 'small')
      mkdirSync(path.join(vm2.root, 'small'), { recursive: true })
      onVm(vm2, `mount -t tmpfs -o size=512k tmpfs ${small}`)
      const env = await observersEnvironment('small-disk', {
        hosts: [{ id: 102, host: vm2Address }],
        directory: path.join(small, 'zk-small'),
        clientPort: 2183
      })
      const first = await deploy({ environment: env, servers: serverIps })
      expect(first.report.ok).toBe(true)
      recordVolumes()
      const files = (): string => onVm(vm2, `cd ${small}/zk-small && cat zoo.cfg myid docker-compose.yaml && ls -A`)
      const before = files()
      const pid = observerPid(vm2, 'zk-small')
      // Fill it: the next write fails with ENOSPC, which the check below proves.
      onVm(vm2, `dd if=/dev/zero of=${small}/filler bs=4k 2>/dev/null; true`)
      expect(() => onVm(vm2, `dd if=/dev/zero of=${small}/probe bs=1k count=1`)).toThrow(/No space left on device/)
      try {
        const run = await deploy({ environment: env, servers: serverNames })
        expect(result(run.report, 102)).toMatchObject({ status: 'failed', restarted: false })
        expect(files()).toBe(before)
        expect(observerPid(vm2, 'zk-small')).toBe(pid)
        return run.text
      } finally {
        onVm(vm2, `rm -f ${small}/filler ${small}/probe`)
      }
    }
  },
  {
    fault: 'an observer that cannot join the ensemble',
    endState: 'rolled back: the previous files are back and serving; the rollout stops there',
    message: /did not answer Mode: observer within 10 s \(last: .+\); rolled back to the previous files, and the observer serves again on them/,
    run: async () => {
      const before = filesOn(vm1)
      const run = await deploy({ servers: wrongServers, joinTimeoutMs: 10_000 })
      expect(result(run.report, 101)).toMatchObject({ status: 'failed', restarted: true, verified: false, rolledBack: true })
      // The failed generation really ran: it is kept for a look.
      expect(readFileSync(path.join(dirOn(vm1), '.failed', 'zoo.cfg'), 'utf8')).toContain(`server.1=${wrongServers[0]}:2888:3888`)
      expect(filesOn(vm1)).toEqual(before)
      await waitForMode(vm1Address, 2181, 'observer', 10_000)
      expect(result(run.report, 102).status).toBe('skipped')
      return run.text
    }
  },
  {
    fault: 'the runner killed (SIGKILL of its process group) mid-upload',
    endState: 'no file half-written; the next run converges and both observers serve the new files',
    run: async () => {
      const target = filesOn(vm1)['zoo.cfg'].includes(serverNames[0]) ? serverIps : serverNames
      remember(vmsEnv, target)
      let sawStaged = false
      const watcher = watch(dirOn(vm1))
      const run = await runActionDist(
        'deploy-observers',
        { environment: vmsEnv.directory, servers: target.join(','), 'ssh-private-key': deployer.privateKey, 'known-hosts': knownHosts },
        {
          detached: true,
          onStart: child =>
            watcher.on('change', (_, name) => {
              if (name !== '.staged' || sawStaged) return
              sawStaged = true
              process.kill(-child.pid!, 'SIGKILL')
            })
        }
      )
      watcher.close()
      expect(sawStaged).toBe(true)
      expect(run.signal).toBe('SIGKILL')
      // A SIGKILLed action cannot remove its key file; the runner empties RUNNER_TEMP at the end of
      // every job, which is the only place it may be left. This runner does the same now.
      const leftovers = readdirSync(run.runnerTemp).filter(e => e.startsWith('zk-rollout-'))
      for (const e of leftovers) rmSync(path.join(run.runnerTemp, e), { recursive: true, force: true })
      // Right after the kill, before any rerun: every live file is a whole generation.
      for (const [name, content] of Object.entries(filesOn(vm1))) expect([name, generations.get(name)!.has(content)]).toEqual([name, true])
      const rerun = await deploy({ servers: target })
      expect(rerun.report.ok).toBe(true)
      for (const v of [vm1, vm2]) expect(filesOn(v)['zoo.cfg']).toContain(`server.1=${target[0]}:2888:3888`)
      for (const [v, address] of [
        [vm1, vm1Address],
        [vm2, vm2Address]
      ] as const) {
        await waitForMode(address, 2181, 'observer', 10_000)
        expect(readFileSync(shimContainers(v.shimState).find(c => c.project === 'zookeeper')!.configFile, 'utf8')).toContain(
          `server.1=${target[0]}:2888:3888`
        )
      }
      return [run.stdout, run.stderr, rerun.text].join('\n')
    }
  }
]

// FAULT_ROWS=<regex> runs only the matching rows (the others are reported as skipped).
const ROW_TIMEOUT_MS = 240_000
const only = process.env.FAULT_ROWS ? new RegExp(process.env.FAULT_ROWS, 'i') : undefined

describe('fault table', () => {
  for (const row of rows)
    (only && !only.test(row.fault) ? it.skip : it)(`${row.fault} -> ${row.endState}`, async () => {
      logged.length = 0
      // A hung row fails with its log before jest's own timeout, which would say nothing.
      let timer: NodeJS.Timeout | undefined
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`row still running after ${ROW_TIMEOUT_MS / 1000} s`)), ROW_TIMEOUT_MS)
      })
      const seen = await Promise.race([row.run(), hung])
        .finally(() => clearTimeout(timer))
        .catch((e: Error) => {
          // What the steps logged says where it went wrong.
          e.message += `\n--- log of this row (last 60 lines):\n${logged.join('').split('\n').slice(-60).join('\n')}`
          throw e
        })
      if (row.message) expect(seen).toMatch(row.message)
      expect(secretsIn(seen)).toEqual([])
      expectInvariants()
    })
})
