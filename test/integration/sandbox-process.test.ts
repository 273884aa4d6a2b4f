// The sandbox in process mode: the test chart's pods run real ZooKeeper servers on their own
// loopback addresses, configured from the zoo.cfg the chart mounts, and form a real quorum that
// clients reach through the sandbox's load balancers. Loopback block 127.0.62.x.
import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { apiPath, waitForObjects } from '../sandbox/kube-client.js'
import type { Pod } from '../sandbox/kubelet.js'
import { podZooCfg } from '../sandbox/pod-zoo-cfg.js'
import type { Service } from '../sandbox/lb-controller.js'
import { listTrackedAlive, isProcessAlive } from '../support/processes.js'
import { zkCli } from '../support/zookeeper.js'

const run = promisify(execFile)
jest.setTimeout(180_000)
const here = path.dirname(fileURLToPath(import.meta.url))
const chart = path.resolve(here, '../sandbox/charts/test-zk')
const ns = 'zk'
const pods = ['zk-0', 'zk-1', 'zk-2']

let sandbox: Sandbox
let startSeconds = 0

beforeAll(async () => {
  const started = Date.now()
  sandbox = await startSandbox({
    addressBlock: 62,
    process: { selector: 'app.kubernetes.io/name=test-zk' },
    loadBalancer: { delayMs: 200 },
    namespaces: [ns]
  })
  startSeconds = (Date.now() - started) / 1000
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

/** Until srvr on every pod address shows one leader and two followers. */
async function waitForQuorum(): Promise<string[]> {
  const deadline = Date.now() + 60_000
  let modes: string[]
  for (;;) {
    modes = await Promise.all(
      pods.map(p =>
        fourLetterWord(sandbox.podAddress(ns, p), 2181, 'srvr', { timeoutMs: 2000 })
          .then(parseSrvr)
          .then(
            status => status.mode,
            (e: Error) => `error: ${e.message}`
          )
      )
    )
    if (modes.filter(m => m === 'leader').length === 1 && modes.filter(m => m === 'follower').length === 2) return modes
    if (Date.now() > deadline) throw new Error(`no quorum of ${pods.join(', ')} within 60 s: ${modes.join('; ')}`)
    await new Promise(r => setTimeout(r, 250))
  }
}

describe('podZooCfg', () => {
  it('maps the server-list forms charts write and keeps everything else', () => {
    const addresses: Record<string, string> = { 'zk/a-0': '127.0.9.10', 'zk/a-1': '127.0.9.11', 'other/a-2': '127.0.9.12' }
    const cfg = podZooCfg(
      [
        '# chart comment',
        'tickTime=2000',
        'dataDir=/data',
        'quorumListenOnAllIPs=true',
        'metricsProvider.httpPort=7000',
        'admin.serverPort=8080',
        'server.1=0.0.0.0:2888:3888;2181',
        'server.2=a-1.a-hs:2888:3888:participant;0.0.0.0:2181',
        'server.3=a-2.a-hs.other.svc.cluster.local:2888:3888;2181',
        'server.101=10.104.170.174:2888:3888:observer',
        ''
      ].join('\n'),
      {
        namespace: 'zk',
        myid: 1,
        address: '127.0.9.10',
        dataDir: '/pods/zk/a-0/data',
        dataLogDir: '/pods/zk/a-0/datalog',
        clusterDomain: 'cluster.local',
        podAddress: (ns, pod) => addresses[`${ns}/${pod}`]
      }
    )
    expect(cfg.split('\n')).toEqual([
      '# chart comment',
      'tickTime=2000',
      'server.1=127.0.9.10:2888:3888;127.0.9.10:2181',
      'server.2=127.0.9.11:2888:3888:participant;127.0.9.11:2181',
      'server.3=127.0.9.12:2888:3888;2181',
      'server.101=10.104.170.174:2888:3888:observer',
      '# set by the sandbox kubelet for this pod',
      'dataDir=/pods/zk/a-0/data',
      'dataLogDir=/pods/zk/a-0/datalog',
      'clientPortAddress=127.0.9.10',
      'clientPort=2181',
      'admin.enableServer=false',
      ''
    ])
  })
})

describe('sandbox (process mode)', () => {
  it('runs the chart as three real ZooKeeper servers that form a quorum', async () => {
    const { stdout } = await run(sandbox.helm3, ['upgrade', '--install', 'zk', chart, '--namespace', ns, '--wait', '--timeout', '3m'], {
      env: sandbox.env
    })
    expect(stdout).toMatch(/STATUS: deployed/)
    const modes = await waitForQuorum()
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader'])
    console.log(`process-mode sandbox: start ${startSeconds.toFixed(1)} s, RSS with 3 servers ${(sandbox.rssBytes() / 2 ** 20).toFixed(0)} MiB`)

    const processes = sandbox.kubelet.processes().sort((a, b) => a.pod.localeCompare(b.pod))
    expect(processes.map(p => [p.pod, p.address])).toEqual(pods.map(p => [p, sandbox.podAddress(ns, p)]))
    for (const [i, p] of processes.entries()) {
      const cfg = fs.readFileSync(path.join(p.dir, 'zoo.cfg'), 'utf8')
      // The chart's DNS names became the pods' addresses; what cannot run here is gone.
      for (const [j, other] of pods.entries()) {
        const client = i === j ? `${p.address}:2181` : '2181'
        expect(cfg).toContain(`server.${j + 1}=${sandbox.podAddress(ns, other)}:2888:3888;${client}\n`)
      }
      expect(cfg).toContain(`clientPortAddress=${p.address}\n`)
      expect(cfg).not.toMatch(/metricsProvider|quorumListenOnAllIPs|svc\.cluster\.local/)
      expect(fs.readFileSync(path.join(p.dir, 'data', 'myid'), 'utf8').trim()).toBe(String(i + 1))
    }
    const listed = await sandbox.client.list<Pod>(apiPath('v1', 'pods', ns))
    for (const pod of listed.items) {
      expect(ready(pod)).toBe(true)
      expect(pod.status?.podIP).toBe(sandbox.addresses.podIP(ns, pod.metadata.name))
    }
  })

  it('per-pod LoadBalancers reach the pods: a znode written through one is read through another', async () => {
    const lb = (name: string, pod: string): Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: {
        type: 'LoadBalancer',
        selector: { 'statefulset.kubernetes.io/pod-name': pod },
        ports: [2181, 2888, 3888].map(port => ({ name: `p${port}`, port, targetPort: port, protocol: 'TCP' }))
      }
    })
    for (const [i, pod] of pods.entries()) await sandbox.client.create(apiPath('v1', 'services', ns), lb(`zk${i}`, pod))
    const services = await waitForObjects<Service>(
      sandbox.client,
      apiPath('v1', 'services', ns),
      objs => ['zk0', 'zk1', 'zk2'].every(n => objs.find(s => s.metadata.name === n)?.status?.loadBalancer?.ingress?.[0]?.ip),
      { what: 'ingress IPs for zk0, zk1, zk2', timeoutMs: 30_000 }
    )
    const ipOf = (name: string): string => services.find(s => s.metadata.name === name)?.status?.loadBalancer?.ingress?.[0]?.ip as string
    expect(pods.map((p, i) => ipOf(`zk${i}`))).toEqual(pods.map(p => sandbox.podAddress(ns, p)))

    await zkCli(`${ipOf('zk0')}:2181`, ['create', '/sandbox-check', 'through-lb'])
    expect(await zkCli(`${ipOf('zk2')}:2181`, ['get', '/sandbox-check'])).toContain('through-lb')

    // AWS style: a hostname, resolved by a JVM through the sandbox's hosts file.
    sandbox.lb.setAddressKind('hostname')
    await sandbox.client.create(apiPath('v1', 'services', ns), lb('zk1-aws', 'zk-1'))
    const [aws] = await waitForObjects<Service>(
      sandbox.client,
      apiPath('v1', 'services', ns),
      objs => Boolean(objs.find(s => s.metadata.name === 'zk1-aws')?.status?.loadBalancer?.ingress?.[0]?.hostname),
      { what: 'an ingress hostname for zk1-aws', timeoutMs: 30_000 }
    ).then(objs => objs.filter(s => s.metadata.name === 'zk1-aws'))
    sandbox.lb.setAddressKind('ip')
    const hostname = aws.status?.loadBalancer?.ingress?.[0]?.hostname as string
    expect(hostname).toBe(`zk1-aws.${ns}.lb.sandbox.test`)
    const viaName = await zkCli(`${hostname}:2181`, ['get', '/sandbox-check'], {
      jvmArgs: [`-Djdk.net.hosts.file=${sandbox.hostsFile}`]
    })
    expect(viaName).toContain('through-lb')
  })

  it('restarting a pod restarts its server with its data directory kept', async () => {
    const before = sandbox.kubelet.processes().find(p => p.pod === 'zk-1')!
    const oldUid = (await sandbox.client.get<Pod>(apiPath('v1', 'pods', ns, 'zk-1'))).metadata.uid
    const logDir = path.join(before.dir, 'datalog', 'version-2')
    const txnLogs = fs.readdirSync(logDir)
    expect(txnLogs.length).toBeGreaterThan(0)

    await run(sandbox.kubectl, ['delete', 'pod', 'zk-1', '-n', ns, '--wait=true'], { env: sandbox.env })
    expect(isProcessAlive(before.pid)).toBe(false)
    await waitForObjects<Pod>(
      sandbox.client,
      apiPath('v1', 'pods', ns),
      objs => objs.some(p => p.metadata.name === 'zk-1' && p.metadata.uid !== oldUid && ready(p)),
      { what: 'a new zk-1 to be Ready', timeoutMs: 60_000 }
    )
    const after = sandbox.kubelet.processes().find(p => p.pod === 'zk-1')!
    expect(after.pid).not.toBe(before.pid)
    expect(after.dir).toBe(before.dir)
    expect(after.address).toBe(before.address)
    // The earlier transaction logs are still there: the directory survived, like a PVC.
    expect(fs.readdirSync(logDir)).toEqual(expect.arrayContaining(txnLogs))
    await waitForQuorum()
    expect(await zkCli(`${after.address}:2181`, ['get', '/sandbox-check'])).toContain('through-lb')
  })

  it('a server that dies is a container restart: restartCount rises and the server comes back', async () => {
    const victim = sandbox.kubelet.processes().find(p => p.pod === 'zk-2')!
    process.kill(victim.pid, 'SIGKILL')
    const [pod] = await waitForObjects<Pod>(
      sandbox.client,
      apiPath('v1', 'pods', ns),
      objs => objs.some(p => p.metadata.name === 'zk-2' && p.status?.containerStatuses?.[0]?.restartCount === 1 && ready(p)),
      { what: 'zk-2 to restart its container and be Ready again', timeoutMs: 60_000 }
    ).then(objs => objs.filter(p => p.metadata.name === 'zk-2'))
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ lastState: { terminated: { reason: 'Error' } } })
    const back = sandbox.kubelet.processes().find(p => p.pod === 'zk-2')!
    expect(back.pid).not.toBe(victim.pid)
    // kubectl logs shows the server's own output; --previous the one that was killed.
    const logs = async (...extra: string[]): Promise<string> =>
      (await run(sandbox.kubectl, ['logs', 'zk-2', '-n', ns, ...extra], { env: sandbox.env, maxBuffer: 64 * 2 ** 20 })).stdout
    expect(await logs('--tail=2000')).toMatch(/myid:3/)
    const previous = await logs('--previous')
    expect(previous).toMatch(/myid:3/)
    expect(previous).not.toEqual(await logs())
    await waitForQuorum()
  })

  it('kubectl exec runs a command whose loopback reaches the pod (WebSocket through the real apiserver)', async () => {
    const probe = 'exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && cat <&3'
    const answers = await Promise.all(
      pods.map(
        async p => (await run(sandbox.kubectl, ['exec', p, '-n', ns, '-c', 'zookeeper', '--', 'bash', '-c', probe], { env: sandbox.env })).stdout
      )
    )
    expect(answers.map(a => parseSrvr(a).mode).sort()).toEqual(['follower', 'follower', 'leader'])
    // stderr and the exit code come back as kubectl reports them for a real container.
    const failed = await run(sandbox.kubectl, ['exec', 'zk-0', '-n', ns, '--', 'bash', '-c', 'echo oops >&2; exit 7'], { env: sandbox.env }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e
    )
    expect(failed?.code).toBe(7)
    expect(failed?.stderr).toContain('oops')
    // The exec's loopback is the pod's, not the host's: a port listening on the host's 127.0.0.1
    // (reachable from here, as the check below shows first) is not reachable from inside.
    const host = net.createServer(c => c.end('host\n'))
    await new Promise<void>(resolve => host.listen(0, '127.0.0.1', resolve))
    const port = (host.address() as net.AddressInfo).port
    try {
      const fromHost = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: '127.0.0.1', port }, () => c.once('data', d => resolve(d.toString())))
        c.once('error', reject)
      })
      expect(fromHost).toBe('host\n')
      const inside = await run(sandbox.kubectl, ['exec', 'zk-0', '-n', ns, '--', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`], {
        env: sandbox.env
      }).then(
        r => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout })
      )
      expect(inside.out).not.toContain('host')
      expect(inside.code).not.toBe(0)
    } finally {
      host.close()
    }
  })

  it('records container stops and starts in the order the node saw them', () => {
    const zk1 = sandbox.kubelet.lifecycle.filter(r => r.pod === 'zk-1').map(r => r.kind)
    // Started, stopped by the deletion above, started again as the new pod.
    expect(zk1.slice(0, 3)).toEqual(['start', 'stop', 'start'])
    const zk2 = sandbox.kubelet.lifecycle.filter(r => r.pod === 'zk-2').map(r => r.kind)
    expect(zk2.slice(0, 3)).toEqual(['start', 'stop', 'start'])
  })

  it("stops a pod's server when the pod is deleted for good", async () => {
    const servers = sandbox.kubelet.processes()
    expect(servers).toHaveLength(3)
    await run(sandbox.helm3, ['uninstall', 'zk', '--namespace', ns, '--wait'], { env: sandbox.env })
    await waitForObjects<Pod>(sandbox.client, apiPath('v1', 'pods', ns), objs => objs.length === 0, {
      what: 'the StatefulSet pods to be gone',
      timeoutMs: 60_000
    })
    expect(sandbox.kubelet.processes()).toEqual([])
    expect(servers.map(s => s.pid).filter(isProcessAlive)).toEqual([])
  })
})
