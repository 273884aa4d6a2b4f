// Runs the observer zoo.cfg our product renders for a container, as a plain process on this
// machine, with the fewest changes that make it work here. Each change is reported, so a test
// can show that everything else in the rendered file ran as written.
import { join } from 'node:path'
import { startZooKeeperServer, type ZkServer } from './zookeeper.js'

export interface HostObserverAdaptation {
  config: string
  /** One sentence per changed, added or dropped line. */
  changes: string[]
}

const KEY = /^\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*?)\s*$/

/**
 * Adapts a container observer zoo.cfg to run on a shared loopback interface. Every line is kept
 * verbatim except: dataDir/dataLogDir (container volume mounts -> host directories),
 * quorumListenOnAllIPs=true -> false and an added clientPortAddress (the container's own network
 * namespace makes binding every address safe; here it would collide with the ensemble), and
 * metricsProvider.* lines are dropped (Debian's ZooKeeper build lacks the Prometheus provider).
 */
export function adaptContainerConfigForHost(zooCfg: string, opts: { address: string; dataDir: string; dataLogDir: string }): HostObserverAdaptation {
  const changes: string[] = []
  const out: string[] = []
  let sawDataDir = false
  let clientPortAt = -1
  const lines = zooCfg.endsWith('\n') ? zooCfg.slice(0, -1).split('\n') : zooCfg.split('\n')
  for (const line of lines) {
    const m = KEY.exec(line)
    const key = m?.[1]
    const value = m?.[2]
    if (key === 'dataDir' || key === 'dataLogDir') {
      const dir = key === 'dataDir' ? opts.dataDir : opts.dataLogDir
      if (key === 'dataDir') sawDataDir = true
      out.push(`${key}=${dir}`)
      changes.push(`${key}=${value} -> ${dir}: the container's volume mount at ${value} is this host directory here`)
    } else if (key === 'quorumListenOnAllIPs' && value === 'true') {
      out.push('quorumListenOnAllIPs=false')
      changes.push(
        "quorumListenOnAllIPs=true -> false: the container's own network namespace makes binding every address safe; on the shared loopback it would collide with the ensemble's ports"
      )
    } else if (key === 'clientPortAddress') {
      changes.push(`clientPortAddress=${value} dropped: replaced by clientPortAddress=${opts.address}`)
    } else if (key?.startsWith('metricsProvider.')) {
      changes.push(`${line.trim()} dropped: Debian's ZooKeeper build lacks the Prometheus metrics provider`)
    } else {
      if (key === 'clientPort') clientPortAt = out.length
      out.push(line)
    }
  }
  if (!sawDataDir) throw new Error('The observer zoo.cfg has no dataDir line: ZooKeeper cannot start without one')
  // Beside clientPort, where a reader of the file looks for it.
  out.splice(clientPortAt === -1 ? out.length : clientPortAt + 1, 0, `clientPortAddress=${opts.address}`)
  changes.push(
    `clientPortAddress=${opts.address} added: without it the client port binds every address, which collides with the ensemble on the shared loopback`
  )
  return { config: `${out.join('\n')}\n`, changes }
}

export interface StartHostObserverOptions {
  zooCfg: string
  myid: number
  /** The loopback address standing in for the observer VM's address. */
  address: string
  /** Holds zoo.cfg, the log, and data/ and datalog/ in place of the container volumes. */
  baseDir: string
  name: string
  jvmArgs?: string[]
}

/** Starts a container observer config on this host (see adaptContainerConfigForHost). */
export async function startHostObserver(opts: StartHostObserverOptions): Promise<{ server: ZkServer; changes: string[] }> {
  const { config, changes } = adaptContainerConfigForHost(opts.zooCfg, {
    address: opts.address,
    dataDir: join(opts.baseDir, 'data'),
    dataLogDir: join(opts.baseDir, 'datalog')
  })
  const server = await startZooKeeperServer({
    dir: opts.baseDir,
    zooCfg: config,
    myid: opts.myid,
    name: opts.name,
    jvmArgs: opts.jvmArgs
  })
  return { server, changes }
}
