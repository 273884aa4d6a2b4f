// The observer zoo.cfg we render must really join a real ensemble: three Debian ZooKeeper
// servers on three loopback addresses stand in for the pods behind three LoadBalancers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import { renderObserverFiles } from '../../workflows-lib/src/render/index.js'
import { addressBlocks } from '../support/addresses.js'
import { writeEnvironment } from '../support/environments.js'
import { startHostObserver } from '../support/host-observer.js'
import { listTrackedAlive, stopAllTracked } from '../support/processes.js'
import { startEnsemble, waitForMode, zkCli, type Ensemble } from '../support/zookeeper.js'

const { ensemble: serverAddresses, observers: observerAddresses } = addressBlocks.observerJoins

let ensemble: Ensemble
let env: Environment
const base = mkdtempSync(path.join(os.tmpdir(), 'zk-observer-join-'))

beforeAll(async () => {
  env = await loadEnvironment(
    writeEnvironment(
      `kubernetes: { namespace: zk, release: zk }
ensemble: { servers: 3 }
observers:
  hosts:
${observerAddresses.map((a, i) => `    - { id: ${101 + i}, host: "${a}" }`).join('\n')}
`,
      { name: 'loopback' }
    )
  )
  ensemble = await startEnsemble({ addresses: [...serverAddresses], baseDir: path.join(base, 'ensemble') })
}, 120_000)

afterAll(async () => {
  await stopAllTracked()
  expect(listTrackedAlive()).toEqual([])
})

async function startRenderedObserver(index: number, jvmArgs?: string[]): Promise<{ address: string; changes: string[] }> {
  const observers = env.observers!
  const host = observers.hosts[index]
  const files = renderObserverFiles({ environment: env, observers, host, servers: serverAddresses })
  const { changes } = await startHostObserver({
    zooCfg: files['zoo.cfg'],
    myid: Number(files.myid.trim()),
    address: host.host,
    baseDir: path.join(base, `observer-${host.id}`),
    name: `observer-${host.id}`,
    jvmArgs
  })
  return { address: host.host, changes }
}

describe('a rendered observer config against a real ensemble', () => {
  it('joins as an observer and serves data written through the leader', async () => {
    const { address, changes } = await startRenderedObserver(0)
    // Only container-specific settings were adapted to this shared-loopback host; the rest of
    // the rendered file ran verbatim.
    const adaptedKeys = changes.map(c => c.split('=')[0]).sort()
    expect(adaptedKeys).toEqual([
      'clientPortAddress',
      'dataDir',
      'dataLogDir',
      'metricsProvider.className',
      'metricsProvider.httpPort',
      'quorumListenOnAllIPs'
    ])

    const status = await waitForMode(address, 2181, 'observer', 60_000)
    expect(status.mode).toBe('observer')

    const leader = await ensemble.leader()
    await zkCli(`${leader.address}:2181`, ['create', '/zk-rollout-join', 'written-through-leader'])
    const read = await zkCli(`${address}:2181`, ['get', '/zk-rollout-join'])
    expect(read).toContain('written-through-leader')
    const after = await waitForMode(address, 2181, 'observer', 10_000)
    expect(after.zxid).toBeGreaterThan(status.zxid)
  })

  it('runs two observers side by side, each serving the ensemble data', async () => {
    const { address } = await startRenderedObserver(1)
    await waitForMode(address, 2181, 'observer', 60_000)
    const leader = await ensemble.leader()
    await zkCli(`${leader.address}:2181`, ['create', '/zk-rollout-two', 'both-observers'])
    for (const observer of observerAddresses.slice(0, 2)) {
      expect(await zkCli(`${observer}:2181`, ['get', '/zk-rollout-two'])).toContain('both-observers')
    }
    // Observers never vote: the ensemble still has one leader and two followers.
    const modes = await Promise.all(serverAddresses.map(a => waitForMode(a, 2181, 'follower', 1).catch(() => null)))
    expect(modes.filter(m => m?.mode === 'follower')).toHaveLength(2)
  })

  it('joins from an IPv6 address: its own server line is bracketed, as ZooKeeper parses it', async () => {
    // The harness starts JVMs with preferIPv4Stack (the rest is IPv4 loopback); this one needs IPv6.
    const ipv6 = ['-Djava.net.preferIPv4Stack=false']
    const { address } = await startRenderedObserver(2, ipv6)
    const files = renderObserverFiles({ environment: env, observers: env.observers!, host: env.observers!.hosts[2], servers: serverAddresses })
    expect(files['zoo.cfg']).toContain('server.103=[::1]:2888:3888:observer\n')
    const status = await waitForMode(address, 2181, 'observer', 60_000)
    const leader = await ensemble.leader()
    await zkCli(`${leader.address}:2181`, ['create', '/zk-rollout-ipv6', 'over-ipv6'])
    expect(await zkCli(`[${address}]:2181`, ['get', '/zk-rollout-ipv6'], { jvmArgs: ipv6 })).toContain('over-ipv6')
    expect((await waitForMode(address, 2181, 'observer', 10_000)).zxid).toBeGreaterThan(status.zxid)
  })
})
