// The sandbox's own tests in delay mode: real kubectl and helm (3 and 4) against the real
// control plane, pods brought up in order by the real StatefulSet controller, the LB controller,
// pod fault knobs, the fault proxy, the kube client's watch resume, and the CLI.
// Loopback block 127.0.61.x (this file's sandbox) and 127.0.64.x (the CLI's).
import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals'
import { execFile, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { apiPath, KubeClient, waitForObjects, type KubeObject } from '../sandbox/kube-client.js'
import type { Pod } from '../sandbox/kubelet.js'
import type { Service } from '../sandbox/lb-controller.js'
import { listTrackedAlive, isProcessAlive } from '../support/processes.js'
import { removeScanned } from '../support/secret-hygiene.js'

const run = promisify(execFile)
// Each test starts real processes and waits for real controllers.
jest.setTimeout(120_000)
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const chart = path.join(root, 'test/sandbox/charts/test-zk')

let sandbox: Sandbox
let client: KubeClient
let startSeconds = 0

beforeAll(async () => {
  const started = Date.now()
  sandbox = await startSandbox({
    addressBlock: 61,
    // Long enough that pod i is Ready in a later second than pod i-1 was created.
    readyDelayMs: 1200,
    crashLoopIntervalMs: 600,
    loadBalancer: { delayMs: 300, pending: ['lb-pending'] },
    faultProxy: true,
    namespaces: ['faults', 'lb']
  })
  startSeconds = (Date.now() - started) / 1000
  client = sandbox.client
}, 120_000)

afterAll(async () => {
  if (!sandbox) return
  const pids = sandbox.pids()
  await sandbox.stop()
  expect(pids.filter(isProcessAlive)).toEqual([])
  expect(listTrackedAlive().map(p => `${p.name} ${p.pid}`)).toEqual([])
}, 60_000)

function ready(pod: Pod): boolean {
  return pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ?? false
}

function readySince(pod: Pod): number {
  const c = pod.status?.conditions?.find(x => x.type === 'Ready' && x.status === 'True')
  return Date.parse(c?.lastTransitionTime ?? '')
}

async function waitForPod(namespace: string, name: string, what: string, done: (pod: Pod) => boolean): Promise<Pod> {
  const pods = await waitForObjects<Pod>(client, apiPath('v1', 'pods', namespace), objs => objs.some(p => p.metadata.name === name && done(p)), {
    what: `pod ${namespace}/${name} ${what}`,
    timeoutMs: 30_000
  })
  return pods.find(p => p.metadata.name === name) as Pod
}

function barePod(namespace: string, name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: { containers: [{ name: 'main', image: 'zookeeper:3.9.4' }] }
  }
}

describe('sandbox (delay mode)', () => {
  it('answers kubectl get ns and has a Ready node', async () => {
    console.log(`sandbox start: ${startSeconds.toFixed(1)} s, RSS ${(sandbox.rssBytes() / 2 ** 20).toFixed(0)} MiB`)
    const { stdout } = await run(sandbox.kubectl, ['get', 'ns', '-o', 'name'], { env: sandbox.env })
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system', 'namespace/faults']))
    const node = await run(sandbox.kubectl, ['get', 'node', sandbox.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], {
      env: sandbox.env
    })
    expect(node.stdout).toBe('True')
    const lease = await client.get<KubeObject & { spec: { holderIdentity: string; renewTime: string } }>(
      apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease', sandbox.name)
    )
    expect(lease.spec.holderIdentity).toBe(sandbox.name)
  })

  for (const helm of ['helm3', 'helm4'] as const) {
    it(`${helm}: upgrade --install --wait brings a 3-replica StatefulSet up in ordinal order`, async () => {
      const ns = `order-${helm}`
      await sandbox.createNamespace(ns)
      // Observed from a watch, in milliseconds: when each pod appeared and first turned Ready.
      const seen = new Map<string, { added: number; ready?: number }>()
      const informer = client.inform<Pod>(apiPath('v1', 'pods', ns), (type, pod) => {
        const entry = seen.get(pod.metadata.name) ?? { added: Date.now() }
        seen.set(pod.metadata.name, entry)
        if (entry.ready === undefined && ready(pod)) entry.ready = Date.now()
      })
      await informer.synced
      try {
        await run(sandbox[helm], ['upgrade', '--install', 'zk', chart, '--namespace', ns, '--wait', '--timeout', '2m'], {
          env: sandbox.env
        })
      } finally {
        await informer.stop()
      }
      const status = JSON.parse((await run(sandbox[helm], ['status', 'zk', '-n', ns, '-o', 'json'], { env: sandbox.env })).stdout)
      expect(status.info.status).toBe('deployed')

      const names = ['zk-0', 'zk-1', 'zk-2']
      expect([...seen.keys()].sort()).toEqual(names)
      for (let i = 1; i < names.length; i++) {
        const prev = seen.get(names[i - 1])!
        expect(prev.ready).toBeDefined()
        expect(seen.get(names[i])!.added).toBeGreaterThanOrEqual(prev.ready!)
      }
      // The same order from the API's own timestamps (whole seconds).
      const pods = (await client.list<Pod>(apiPath('v1', 'pods', ns))).items
      const byName = new Map(pods.map(p => [p.metadata.name, p]))
      for (let i = 1; i < names.length; i++) {
        const created = Date.parse(byName.get(names[i])!.metadata.creationTimestamp!)
        expect(created).toBeGreaterThanOrEqual(readySince(byName.get(names[i - 1])!))
      }
      for (const pod of pods) {
        expect(ready(pod)).toBe(true)
        expect(pod.status?.phase).toBe('Running')
        expect(pod.status?.podIP).toBe(sandbox.addresses.podIP(ns, pod.metadata.name))
        const types = (pod.status?.conditions ?? []).map(c => c.type).sort()
        expect(types).toEqual(['ContainersReady', 'Initialized', 'PodScheduled', 'Ready'])
        expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'zookeeper', ready: true, restartCount: 0, started: true })
      }
      // The endpoints controller accepted the podIPs (loopback addresses would be refused).
      const endpoints = await client.get<KubeObject & { subsets?: { addresses?: { ip: string }[] }[] }>(apiPath('v1', 'endpoints', ns, 'zk-headless'))
      expect((endpoints.subsets?.[0]?.addresses ?? []).map(a => a.ip).sort()).toEqual(names.map(n => sandbox.addresses.podIP(ns, n)).sort())
    })
  }

  it('finishes terminating pods: a namespace with a running StatefulSet is deleted completely', async () => {
    await sandbox.deleteNamespace('order-helm4')
    expect((await client.list<Pod>(apiPath('v1', 'pods', 'order-helm4'))).items).toEqual([])
  })

  it('gives LoadBalancer Services an ingress ip or hostname, and holds pending ones', async () => {
    const ns = 'order-helm3'
    const service = (name: string, pod: string): Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: {
        type: 'LoadBalancer',
        selector: { 'statefulset.kubernetes.io/pod-name': pod },
        ports: [{ name: 'client', port: 2181, targetPort: 2181, protocol: 'TCP' }]
      }
    })
    const ingressOf = async (name: string): Promise<{ ip?: string; hostname?: string }> => {
      const [svc] = await waitForObjects<Service>(
        client,
        apiPath('v1', 'services', ns),
        objs => objs.some(s => s.metadata.name === name && (s.status?.loadBalancer?.ingress ?? []).length > 0),
        { what: `an ingress for Service ${ns}/${name}`, timeoutMs: 30_000 }
      ).then(objs => objs.filter(s => s.metadata.name === name))
      return svc.status!.loadBalancer!.ingress![0]
    }

    await client.create(apiPath('v1', 'services', ns), service('lb-ip', 'zk-0'))
    expect(await ingressOf('lb-ip')).toEqual({ ip: sandbox.podAddress(ns, 'zk-0') })

    sandbox.lb.setAddressKind('hostname')
    await client.create(apiPath('v1', 'services', ns), service('lb-pending', 'zk-2'))
    await client.create(apiPath('v1', 'services', ns), service('lb-host', 'zk-1'))
    const hostname = `lb-host.${ns}.lb.sandbox.test`
    expect(await ingressOf('lb-host')).toEqual({ hostname })
    expect(fs.readFileSync(sandbox.hostsFile, 'utf8').split('\n')).toContain(`${sandbox.podAddress(ns, 'zk-1')} ${hostname}`)
    sandbox.lb.setAddressKind('ip')

    // lb-pending was created before lb-host, which has its ingress by now: it is being held.
    const pending = await client.get<Service>(apiPath('v1', 'services', ns, 'lb-pending'))
    expect(pending.status?.loadBalancer?.ingress).toBeUndefined()
    sandbox.lb.setPending('lb-pending', false)
    expect(await ingressOf('lb-pending')).toEqual({ ip: sandbox.podAddress(ns, 'zk-2') })

    const events = await client.list<KubeObject & { reason: string }>(apiPath('v1', 'events', ns), {
      fieldSelector: 'involvedObject.kind=Service,involvedObject.name=lb-ip'
    })
    expect(events.items.map(e => e.reason)).toEqual(expect.arrayContaining(['EnsuringLoadBalancer', 'EnsuredLoadBalancer']))
  })

  it('crash-loops a pod on request: Ready False, restartCount rising, CrashLoopBackOff, BackOff events', async () => {
    sandbox.kubelet.setFault('faults/crasher', { crashLoop: true })
    await client.create(apiPath('v1', 'pods', 'faults'), barePod('faults', 'crasher'))
    const crashing = await waitForPod('faults', 'crasher', 'restarted 3 times in CrashLoopBackOff', p => {
      const cs = p.status?.containerStatuses?.[0] as { restartCount: number; state?: { waiting?: { reason?: string } } } | undefined
      return (cs?.restartCount ?? 0) >= 3 && cs?.state?.waiting?.reason === 'CrashLoopBackOff'
    })
    expect(ready(crashing)).toBe(false)
    expect(crashing.status?.phase).toBe('Running')
    expect(crashing.status?.containerStatuses?.[0]).toMatchObject({
      ready: false,
      lastState: { terminated: { exitCode: 1, reason: 'Error' } }
    })
    await waitForObjects<KubeObject & { count: number }>(client, apiPath('v1', 'events', 'faults'), objs => objs.some(e => e.count >= 2), {
      what: 'a BackOff event for crasher counted twice',
      timeoutMs: 30_000,
      selectors: { fieldSelector: 'involvedObject.name=crasher,reason=BackOff' }
    })
    const { stdout } = await run(
      sandbox.kubectl,
      ['get', 'events', '-n', 'faults', '--field-selector', 'involvedObject.name=crasher,reason=BackOff', '-o', 'json'],
      { env: sandbox.env }
    )
    const backOff = JSON.parse(stdout).items as { type: string; count: number; message: string }[]
    expect(backOff).toHaveLength(1)
    expect(backOff[0]).toMatchObject({ type: 'Warning', message: 'Back-off restarting failed container' })
    expect(backOff[0].count).toBeGreaterThanOrEqual(2)

    // kubectl logs reaches the sandbox kubelet's endpoint through the apiserver.
    const previous = await run(sandbox.kubectl, ['logs', 'crasher', '-n', 'faults', '--previous'], { env: sandbox.env })
    expect(previous.stdout).toMatch(/container main started from image zookeeper:3\.9\.4[^]*container exited with code 1/)

    sandbox.kubelet.setFault('faults/crasher', undefined)
    const recovered = await waitForPod('faults', 'crasher', 'Ready after the crash loop ended', ready)
    expect(recovered.status?.containerStatuses?.[0].restartCount).toBeGreaterThanOrEqual(3)
  })

  it('holds a pod NotReady and delays a slow start until the knobs are released', async () => {
    sandbox.kubelet.setFault('held', { holdNotReady: true })
    sandbox.kubelet.setFault('slow', { slowStartMs: 600_000 })
    for (const name of ['held', 'slow', 'free']) await client.create(apiPath('v1', 'pods', 'faults'), barePod('faults', name))
    await waitForPod('faults', 'free', 'Ready', ready)
    // Same delays as `free`, which is Ready: `held` runs but is not Ready, `slow` has not started.
    const held = await client.get<Pod>(apiPath('v1', 'pods', 'faults', 'held'))
    expect(held.status?.phase).toBe('Running')
    expect(ready(held)).toBe(false)
    const slow = await client.get<Pod>(apiPath('v1', 'pods', 'faults', 'slow'))
    expect(slow.status?.phase).toBe('Pending')
    expect(slow.status?.containerStatuses?.[0]).toMatchObject({ state: { waiting: { reason: 'ContainerCreating' } } })

    const unhealthy = await waitForObjects<KubeObject & { type: string }>(client, apiPath('v1', 'events', 'faults'), objs => objs.length > 0, {
      what: 'an Unhealthy event for held',
      timeoutMs: 30_000,
      selectors: { fieldSelector: 'involvedObject.name=held,reason=Unhealthy' }
    })
    expect(unhealthy.map(e => e.type)).toEqual(['Warning'])

    sandbox.kubelet.setFault('held', undefined)
    sandbox.kubelet.setFault('slow', undefined)
    await waitForPod('faults', 'held', 'Ready once released', ready)
    await waitForPod('faults', 'slow', 'Ready once released', ready)
  })

  it('fault proxy: kubectl sees a 503, and succeeds on retry', async () => {
    const proxy = sandbox.proxy!
    const namespaces = /^\/api\/v1\/namespaces(\?|$)/
    // With Retry-After, client-go retries by itself: one kubectl call sees the 503 and succeeds.
    const rule = proxy.addRule({ method: 'GET', path: namespaces, times: 1, respond: { status: 503, retryAfterSeconds: 1 } })
    const first = await run(sandbox.kubectl, ['get', 'ns', '-o', 'name', '-v=6'], { env: sandbox.env })
    expect(first.stdout).toContain('namespace/default')
    expect(first.stderr).toMatch(/verb="GET" url="https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\?limit=500" status="503 Service Unavailable"/)
    expect(rule.hits).toBe(1)
    const served = proxy.log.filter(e => namespaces.test(e.path)).map(e => e.status)
    expect(served.slice(-2)).toEqual([503, 200])

    // Without Retry-After the call fails with the server's answer; the next one succeeds.
    proxy.addRule({ method: 'GET', path: namespaces, times: 1, respond: { status: 429 } })
    await expect(run(sandbox.kubectl, ['get', 'ns'], { env: sandbox.env })).rejects.toThrow(/injected by the sandbox fault proxy/)
    const again = await run(sandbox.kubectl, ['get', 'ns', '-o', 'name'], { env: sandbox.env })
    expect(again.stdout).toContain('namespace/default')

    // A delayed answer runs into the client's timeout.
    proxy.addRule({ method: 'GET', path: namespaces, times: 1, delayMs: 5000 })
    await expect(run(sandbox.kubectl, ['get', 'ns', '--request-timeout=1s'], { env: sandbox.env })).rejects.toThrow(/timeout|deadline/i)
    proxy.clearRules()
  })

  it('kube client: a watch cut by the proxy resumes without relisting; 410 Gone relists', async () => {
    const proxy = sandbox.proxy!
    const viaProxy = new KubeClient({ apiUrl: proxy.url, token: sandbox.token, caFile: proxy.caFile })
    const configMaps = apiPath('v1', 'configmaps', 'faults')
    const cut = proxy.addRule({ path: /\/configmaps\?/, watch: true, times: 2, cutAfterEvents: 1 })
    const gone = proxy.addRule({ path: /\/configmaps\?/, watch: true, times: 1, respond: { status: 410 } })
    const names = new Set<string>()
    const expected = ['cm-1', 'cm-2', 'cm-3', 'cm-4']
    let allSeen!: () => void
    const seen = new Promise<void>(r => (allSeen = r))
    const informer = viaProxy.inform<KubeObject>(configMaps, (type, cm) => {
      if (type !== 'DELETED') names.add(cm.metadata.name)
      if (expected.every(n => names.has(n))) allSeen()
    })
    try {
      await informer.synced
      for (let i = 1; i <= 4; i++) {
        await client.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } })
      }
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        seen,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`informer through the proxy saw only ${[...names].join(', ')} in 30 s`)), 30_000)
        })
      ]).finally(() => clearTimeout(timer))
      expect([...names].sort()).toEqual(['cm-1', 'cm-2', 'cm-3', 'cm-4'])
      expect(cut.hits).toBe(2)
      expect(gone.hits).toBe(1)
      expect(informer.stats.gone).toBe(1)
      // One list at the start, one after the 410; the two cuts resumed from a resourceVersion.
      expect(informer.stats.lists).toBe(2)
      expect(informer.stats.watches).toBeGreaterThanOrEqual(3)
    } finally {
      await informer.stop()
      viaProxy.close()
      proxy.clearRules()
    }
  })

  it('fault proxy: watch response headers arrive before the first event', async () => {
    const proxy = sandbox.proxy!
    const url = new URL(`${apiPath('v1', 'secrets', 'lb')}?watch=1&timeoutSeconds=30`, proxy.url)
    const https = await import('node:https')
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.get(url, { ca: fs.readFileSync(proxy.caFile), headers: { authorization: `Bearer ${sandbox.token}` } }, res => {
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on('error', e => (req.destroyed ? undefined : reject(e)))
      setTimeout(() => reject(new Error('no watch response headers within 10 s: the proxy did not flush them')), 10_000).unref()
    })
    expect(status).toBe(200)
  })
})

describe('sandbox CLI', () => {
  let cliDir: string
  let cli: string

  beforeAll(async () => {
    cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-rollout-sandbox-cli-'))
    await run(
      process.execPath,
      [
        path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        path.join(root, 'test/sandbox/cli.ts'),
        '-o',
        path.join(cliDir, 'cli'),
        '-q',
        '-t'
      ],
      { cwd: root }
    )
    cli = path.join(cliDir, 'cli', 'index.js')
  }, 60_000)

  const sandboxArgs = (): string[] => ['--dir', path.join(cliDir, 'state'), '--name', 'cli', '--address-block', '64']
  const cliRun = (args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(process.execPath, [cli, ...args, ...sandboxArgs()], { cwd: root })
  const state = (): { serverPid: number; processes: { pid: number }[]; kubeconfig: string } =>
    JSON.parse(fs.readFileSync(path.join(cliDir, 'state', 'cli', 'state.json'), 'utf8'))

  afterAll(async () => {
    // Whatever a failed test left: `down` stops it by recorded PID.
    if (cli && fs.existsSync(path.join(cliDir, 'state', 'cli', 'state.json'))) await cliRun(['down'])
    if (cliDir && !process.env.ZK_ROLLOUT_KEEP_SANDBOX) removeScanned(cliDir)
  }, 60_000)

  it('up prints the kubeconfig, status reports the cluster, down stops every process', async () => {
    const upOut = (await cliRun(['up'])).stdout
    const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(upOut)?.[1]
    expect(kubeconfig).toBe(state().kubeconfig)
    console.log(`sandbox CLI up: ${/is up in ([\d.]+ s)/.exec(upOut)?.[1]}`)
    const ns = await run(sandbox.kubectl, ['get', 'ns', '-o', 'name'], { env: { ...process.env, KUBECONFIG: kubeconfig } })
    expect(ns.stdout).toContain('namespace/kube-system')
    const statusOut = (await cliRun(['status'])).stdout
    expect(statusOut).toMatch(/nodes cli=True/)

    const pids = [state().serverPid, ...state().processes.map(p => p.pid)]
    expect(pids.length).toBeGreaterThanOrEqual(4)
    const downOut = (await cliRun(['down'])).stdout
    expect(downOut).toMatch(/sandbox cli: down/)
    expect(pids.filter(isProcessAlive)).toEqual([])
  }, 120_000)

  it('down stops the processes of a server that was killed', async () => {
    const upOut = (await cliRun(['up'])).stdout
    console.log(`sandbox CLI second up: ${/is up in ([\d.]+ s)/.exec(upOut)?.[1]}`)
    const { serverPid, processes } = state()
    process.kill(serverPid, 'SIGKILL')
    while (isProcessAlive(serverPid)) await new Promise(r => setTimeout(r, 50))
    const statusRun = spawn(process.execPath, [cli, 'status', ...sandboxArgs()], { cwd: root })
    const statusCode = await new Promise<number | null>(resolve => statusRun.on('exit', resolve))
    expect(statusCode).not.toBe(0)
    expect(processes.map(p => p.pid).filter(isProcessAlive).length).toBe(processes.length)

    const downOut = (await cliRun(['down'])).stdout
    expect(downOut).toMatch(/stopped leftover processes/)
    expect([serverPid, ...processes.map(p => p.pid)].filter(isProcessAlive)).toEqual([])
  }, 120_000)
})
