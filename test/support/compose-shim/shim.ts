// The test side of the compose shim (./docker, ./docker-compose, ./compose.sh): the state
// directory it works in (the "VM's /var/lib/docker"), and the processes it started, which the
// tests must stop by PID.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { shellQuote } from '../../../workflows-lib/src/ssh/quote.js'
import { SERVER_JVM_ARGS, zookeeperClasspath } from '../zookeeper.js'
import { isProcessAlive } from '../processes.js'

export const COMPOSE_SHIM_DIR = path.dirname(fileURLToPath(import.meta.url))

const LOG4J = [
  'log4j.rootLogger=INFO, CONSOLE',
  'log4j.logger.org.apache.zookeeper.server.NIOServerCnxn=WARN',
  'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
  'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n',
  ''
].join('\n')

export interface ShimStateOptions {
  /** Extra JVM options for the observers, e.g. -Djdk.net.hosts.file=<file>. */
  jvmArgs?: string[]
}

/** Prepares a VM's shim state directory (ZK_SHIM_STATE): Java, classpath and logging for ZooKeeper. */
export function prepareShimState(stateDir: string, opts: ShimStateOptions = {}): void {
  mkdirSync(stateDir, { recursive: true })
  const log4j = path.join(stateDir, 'log4j.properties')
  writeFileSync(log4j, LOG4J)
  writeFileSync(
    path.join(stateDir, 'shim.env'),
    [
      `JAVA=${shellQuote('/usr/bin/java')}`,
      `ZK_CLASSPATH=${shellQuote(zookeeperClasspath())}`,
      `ZK_JVM_OPTS=(${[...SERVER_JVM_ARGS, ...(opts.jvmArgs ?? [])].map(shellQuote).join(' ')})`,
      `LOG4J_CONFIG=${shellQuote(log4j)}`,
      ''
    ].join('\n')
  )
}

export interface ShimContainer {
  /** Compose project (the directory's base name). */
  project: string
  pid: number
  logFile: string
  /** The adapted zoo.cfg the process runs. */
  configFile: string
  dataDir: string
}

/** The containers the shim started in a state directory whose process is alive. */
export function shimContainers(stateDir: string): ShimContainer[] {
  if (!existsSync(stateDir)) return []
  return readdirSync(stateDir, { withFileTypes: true }).flatMap(entry => {
    const dir = path.join(stateDir, entry.name)
    const pidfile = path.join(dir, 'zookeeper.pid')
    if (!entry.isDirectory() || !existsSync(pidfile)) return []
    const pid = Number(readFileSync(pidfile, 'utf8').trim())
    if (!isZooKeeper(pid)) return []
    return [
      {
        project: entry.name,
        pid,
        logFile: path.join(dir, 'zookeeper.log'),
        configFile: path.join(dir, 'zoo.cfg'),
        dataDir: path.join(dir, 'volumes', 'data')
      }
    ]
  })
}

/** Stops every process the shim started in these state directories (by process group), and waits. */
export async function stopShimContainers(stateDirs: readonly string[]): Promise<void> {
  const pids = stateDirs.flatMap(dir => shimContainers(dir).map(c => c.pid))
  for (const pid of pids) signal(pid, 'SIGTERM')
  const deadline = Date.now() + 10_000
  while (pids.some(isProcessAlive) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  for (const pid of pids.filter(isProcessAlive)) signal(pid, 'SIGKILL')
  while (pids.some(isProcessAlive)) await new Promise(resolve => setTimeout(resolve, 50))
}

function isZooKeeper(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('QuorumPeerMain') && isProcessAlive(pid)
  } catch {
    return false
  }
}

// The shim starts each JVM under setsid, so its PID is also its process group.
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}
