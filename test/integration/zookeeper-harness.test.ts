// The real-ZooKeeper harness: a 3-server ensemble, an observer started from a container config,
// the four-letter-word client against them, and a teardown that leaves nothing running.
// Address block of this file: 127.0.0.50-59 (see test/support/zookeeper.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { adaptContainerConfigForHost, startHostObserver } from '../support/host-observer.js'
import { listTrackedAlive, stopAllTracked } from '../support/processes.js'
import { startEnsemble, waitForMode, waitForQuorum, zkCli, type Ensemble, type ZkServer } from '../support/zookeeper.js'
import { removeScanned } from '../support/secret-hygiene.js'

const ENSEMBLE = ['127.0.0.51', '127.0.0.52', '127.0.0.53']
const OBSERVER = '127.0.0.54'
const SILENT = '127.0.0.58' // accepts connections and never answers
const UNUSED = '127.0.0.59' // nothing listens here

// An observer zoo.cfg as rendered for the official image's container.
const OBSERVER_CFG = `# observer 101
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/data
dataLogDir=/datalog
clientPort=2181
peerType=observer
quorumListenOnAllIPs=true
tcpKeepAlive=true
admin.enableServer=false
4lw.commands.whitelist=srvr,mntr,ruok
reconfigEnabled=false
standaloneEnabled=false
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
server.1=127.0.0.51:2888:3888
server.2=127.0.0.52:2888:3888
server.3=127.0.0.53:2888:3888
server.101=127.0.0.54:2888:3888:observer
`

function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return kb ? Math.round(Number(kb[1]) / 1024) : NaN
}

describe('adaptContainerConfigForHost', () => {
  it('changes only the data directories, the listen addresses and the metrics provider, and says so', () => {
    const { config, changes } = adaptContainerConfigForHost(OBSERVER_CFG, {
      address: OBSERVER,
      dataDir: '/tmp/obs/data',
      dataLogDir: '/tmp/obs/datalog'
    })
    expect(config).toBe(`# observer 101
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/obs/data
dataLogDir=/tmp/obs/datalog
clientPort=2181
clientPortAddress=127.0.0.54
peerType=observer
quorumListenOnAllIPs=false
tcpKeepAlive=true
admin.enableServer=false
4lw.commands.whitelist=srvr,mntr,ruok
reconfigEnabled=false
standaloneEnabled=false
server.1=127.0.0.51:2888:3888
server.2=127.0.0.52:2888:3888
server.3=127.0.0.53:2888:3888
server.101=127.0.0.54:2888:3888:observer
`)
    expect(changes).toEqual([
      "dataDir=/data -> /tmp/obs/data: the container's volume mount at /data is this host directory here",
      "dataLogDir=/datalog -> /tmp/obs/datalog: the container's volume mount at /datalog is this host directory here",
      "quorumListenOnAllIPs=true -> false: the container's own network namespace makes binding every address safe; on the shared loopback it would collide with the ensemble's ports",
      "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider dropped: Debian's ZooKeeper build lacks the Prometheus metrics provider",
      "metricsProvider.httpPort=7000 dropped: Debian's ZooKeeper build lacks the Prometheus metrics provider",
      'clientPortAddress=127.0.0.54 added: without it the client port binds every address, which collides with the ensemble on the shared loopback'
    ])
  })

  it('passes quorumListenOnAllIPs=false and unknown keys through unchanged', () => {
    const cfg = 'dataDir=/data\nquorumListenOnAllIPs=false\nsomething.new = kept as is\n'
    const { config } = adaptContainerConfigForHost(cfg, { address: OBSERVER, dataDir: '/d', dataLogDir: '/l' })
    expect(config).toBe('dataDir=/d\nquorumListenOnAllIPs=false\nsomething.new = kept as is\nclientPortAddress=127.0.0.54\n')
  })

  it('refuses a config without dataDir', () => {
    expect(() => adaptContainerConfigForHost('clientPort=2181\n', { address: OBSERVER, dataDir: '/d', dataLogDir: '/l' })).toThrow(/no dataDir line/)
  })
})

describe('fourLetterWord errors', () => {
  let silent: Server
  const held: Socket[] = []

  beforeAll(async () => {
    silent = createServer(socket => held.push(socket))
    await new Promise<void>(resolve => silent.listen(2181, SILENT, resolve))
  })

  afterAll(async () => {
    held.forEach(socket => socket.destroy())
    await new Promise(resolve => silent.close(resolve))
  })

  it('names host:port and the word when the connection is refused', async () => {
    await expect(fourLetterWord(UNUSED, 2181, 'srvr')).rejects.toThrow(
      /^ZooKeeper 'srvr' to 127\.0\.0\.59:2181 failed: connect ECONNREFUSED 127\.0\.0\.59:2181: nothing listens there/
    )
  })

  it('gives up after its timeout when the server never answers', async () => {
    await expect(fourLetterWord(SILENT, 2181, 'ruok', { timeoutMs: 300 })).rejects.toThrow(
      "ZooKeeper 'ruok' to 127.0.0.58:2181 timed out after 300 ms"
    )
  })
})

describe('ZooKeeper ensemble with a host observer', () => {
  let baseDir: string
  let ensemble: Ensemble | undefined
  let observer: ZkServer | undefined
  const measured: Record<string, string> = {}

  beforeAll(async () => {
    baseDir = mkdtempSync(join(tmpdir(), 'zk-harness-'))
    const started = Date.now()
    ensemble = await startEnsemble({ addresses: ENSEMBLE, baseDir })
    measured['ensemble start (3 JVMs to quorum)'] = `${Date.now() - started} ms`
  })

  afterAll(async () => {
    // Whatever the tests did, nothing this file started may outlive it.
    await stopAllTracked()
    removeScanned(baseDir)
    console.log(
      Object.entries(measured)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n')
    )
  })

  it('has one leader and two followers', async () => {
    const modes = await Promise.all(ENSEMBLE.map(async a => parseSrvr(await fourLetterWord(a, 2181, 'srvr')).mode))
    expect(modes.filter(m => m === 'leader')).toHaveLength(1)
    expect(modes.filter(m => m === 'follower')).toHaveLength(2)
  })

  it('answers a word that is not whitelisted with the whitelist error', async () => {
    await expect(fourLetterWord(ENSEMBLE[0], 2181, 'stat')).rejects.toThrow(
      "ZooKeeper at 127.0.0.51:2181 refused 'stat': it is not in the whitelist; add it to 4lw.commands.whitelist"
    )
  })

  it('replicates a znode written through the leader to a follower', async () => {
    const leader = await ensemble!.leader()
    const follower = ensemble!.servers.find(s => s !== leader)!
    await zkCli(`${leader.address}:2181`, ['create', '/harness', 'written-via-leader'])
    // A new session is a quorum transaction after the create, and the follower applies
    // transactions in order: once the CLI is connected there, the znode is there.
    expect(await zkCli(`${follower.address}:2181`, ['get', '/harness'])).toBe('written-via-leader\n')
  })

  it('starts an observer from a container config that joins and serves the data', async () => {
    const started = Date.now()
    const { server, changes } = await startHostObserver({
      zooCfg: OBSERVER_CFG,
      myid: 101,
      address: OBSERVER,
      baseDir: join(baseDir, 'observer-101'),
      name: 'observer-101'
    })
    observer = server
    expect(changes).toHaveLength(6)
    const status = await waitForMode(OBSERVER, 2181, 'observer', 60_000)
    measured['observer join (JVM start to Mode: observer)'] = `${Date.now() - started} ms`
    expect(status.version).toBe('3.8.0')
    expect(await zkCli(`${OBSERVER}:2181`, ['get', '/harness'])).toBe('written-via-leader\n')
  })

  it('restarts a follower, which rejoins with the data', async () => {
    const leader = await ensemble!.leader()
    const follower = ensemble!.servers.find(s => s !== leader)!
    const before = follower.pid
    await follower.restart()
    expect(follower.pid).not.toBe(before)
    await waitForQuorum(ensemble!.servers, 60_000)
    expect(await zkCli(`${follower.address}:2181`, ['get', '/harness'])).toBe('written-via-leader\n')
  })

  it('stops every JVM it started', async () => {
    for (const server of [...ensemble!.servers, observer!]) {
      measured[`RSS ${server.name}`] = `${rssMiB(server.pid)} MiB`
    }
    const pids = [...ensemble!.servers, observer!].map(s => s.pid)
    await ensemble!.stop()
    await observer!.stop()
    expect(listTrackedAlive()).toEqual([])
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/)
  })
})
