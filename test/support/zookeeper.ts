// Real ZooKeeper servers for tests, from Debian's zookeeper package (3.8.0).
//
// Several servers share the loopback interface with the same ports (2181, 2888, 3888) on
// different 127.0.0.x addresses, the way LoadBalancer IPs differ in production. Jest runs test
// files in parallel, so each test file uses its own block of ten addresses and nothing else:
// zookeeper-harness.test.ts uses 127.0.0.50-59; pick an unused block for a new file.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr, type SrvrMode, type SrvrStatus } from '../../workflows-lib/src/zookeeper/srvr.js'
import { logTail, spawnTracked, stopTracked, type TrackedProcess } from './processes.js'

const JAVA = '/usr/bin/java'
const JAVA_DIR = '/usr/share/java'
// zookeeper.jar's manifest Class-Path names its other dependencies (jetty and jackson for the
// AdminServer, which the tests disable). Debian leaves out a logging backend: without
// slf4j-log4j12 and log4j 1.2, slf4j drops every log line.
const JARS = [
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'commons-cli.jar',
  'commons-io.jar',
  'metrics-core.jar',
  'snappy-java.jar',
  'netty-buffer.jar',
  'netty-common.jar',
  'netty-handler.jar',
  'netty-transport.jar',
  'netty-transport-native-epoll.jar',
  'slf4j-api.jar',
  'slf4j-log4j12.jar',
  'log4j-1.2.jar'
]
// Small heaps and C1 only: a 2-core machine runs several of these (~70 MB RSS each) side by side.
export const SERVER_JVM_ARGS = [
  '-Xms16m',
  '-Xmx128m',
  '-Xss512k',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:ReservedCodeCacheSize=32m',
  '-Djava.net.preferIPv4Stack=true'
]
const CLI_JVM_ARGS = ['-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.net.preferIPv4Stack=true']
const LOG4J_CONFIG = (target: 'System.out' | 'System.err', level: string): string =>
  [
    `log4j.rootLogger=${level}, CONSOLE`,
    // One INFO line per four-letter word: the harness polls srvr, which would bury the rest.
    'log4j.logger.org.apache.zookeeper.server.NIOServerCnxn=WARN',
    'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
    `log4j.appender.CONSOLE.Target=${target}`,
    'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n',
    ''
  ].join('\n')

/** The JVM classpath for Debian's ZooKeeper, with a log4j backend so servers write logs. */
export function zookeeperClasspath(): string {
  if (!existsSync(JAVA) || !existsSync(join(JAVA_DIR, 'zookeeper.jar'))) {
    throw new Error(`ZooKeeper is not installed (${JAVA} or ${JAVA_DIR}/zookeeper.jar missing): run test/setup/ensure.sh`)
  }
  const missing = JARS.filter(jar => !existsSync(join(JAVA_DIR, jar)))
  if (missing.length > 0) {
    throw new Error(`ZooKeeper's dependencies are incomplete (missing ${missing.join(', ')} in ${JAVA_DIR}): run test/setup/ensure.sh`)
  }
  return JARS.map(jar => join(JAVA_DIR, jar)).join(':')
}

export interface ZkServer {
  readonly name: string
  /** Of the current JVM: changes on restart(). */
  readonly pid: number
  readonly logFile: string
  readonly configFile: string
  /** clientPortAddress */
  readonly address: string
  readonly clientPort: number
  /** SIGTERM by default; SIGKILL for a teardown that throws the data away (~0.35 s faster). */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Stops and starts the same configuration again; resolves when the client port answers. */
  restart(): Promise<void>
}

export interface StartZooKeeperServerOptions {
  /** The server's directory: zoo.cfg, log4j.properties and <name>.log go here. */
  dir: string
  /** Whole zoo.cfg. Must bind loopback only: clientPortAddress set, no quorumListenOnAllIPs=true. */
  zooCfg: string
  /** Written to <dataDir>/myid; omit for a standalone server. */
  myid?: number
  name: string
  /** Extra JVM options, e.g. -Djdk.net.hosts.file=<file> to resolve test hostnames. */
  jvmArgs?: string[]
  /** Until the client port answers. Default 30 s. */
  startTimeoutMs?: number
}

/** Starts QuorumPeerMain on a zoo.cfg and resolves once the server answers on its client port. */
export async function startZooKeeperServer(opts: StartZooKeeperServerOptions): Promise<ZkServer> {
  const classpath = zookeeperClasspath()
  const cfg = parseConfig(opts.zooCfg)
  const where = `${opts.name} (${opts.dir}/zoo.cfg)`
  const address = cfg.get('clientPortAddress')
  if (address === undefined) {
    throw new Error(`${where}: set clientPortAddress; without it ZooKeeper binds every address and collides with other test servers`)
  }
  if (cfg.get('quorumListenOnAllIPs') === 'true') {
    throw new Error(`${where}: quorumListenOnAllIPs=true binds every address; on the shared loopback use one address per server`)
  }
  if (cfg.get('admin.enableServer') !== 'false' && cfg.get('admin.serverAddress') === undefined) {
    throw new Error(`${where}: set admin.enableServer=false (or admin.serverAddress); the AdminServer binds 0.0.0.0:8080 by default`)
  }
  const clientPort = Number(cfg.get('clientPort'))
  if (!Number.isInteger(clientPort) || clientPort <= 0) throw new Error(`${where}: clientPort is missing or not a port number`)
  const dataDir = cfg.get('dataDir')
  if (dataDir === undefined) throw new Error(`${where}: dataDir is missing`)

  mkdirSync(opts.dir, { recursive: true })
  mkdirSync(dataDir, { recursive: true })
  if (opts.myid !== undefined) writeFileSync(join(dataDir, 'myid'), `${opts.myid}\n`)
  const configFile = join(opts.dir, 'zoo.cfg')
  const log4jFile = join(opts.dir, 'log4j.properties')
  writeFileSync(configFile, opts.zooCfg)
  writeFileSync(log4jFile, LOG4J_CONFIG('System.out', 'INFO'))
  const logFile = join(opts.dir, `${opts.name}.log`)
  const args = [
    ...SERVER_JVM_ARGS,
    ...(opts.jvmArgs ?? []),
    `-Dlog4j.configuration=file:${log4jFile}`,
    '-cp',
    classpath,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    configFile
  ]
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000

  const launch = async (): Promise<TrackedProcess> => {
    const proc = await spawnTracked(JAVA, args, { logFile, name: opts.name })
    try {
      await waitForClientPort(proc, address, clientPort, startTimeoutMs)
    } catch (err) {
      await stopTracked(proc)
      throw err
    }
    return proc
  }
  let proc = await launch()
  return {
    name: opts.name,
    get pid() {
      return proc.pid
    },
    logFile,
    configFile,
    address,
    clientPort,
    stop: (signal?: NodeJS.Signals) => stopTracked(proc, signal),
    restart: async () => {
      await stopTracked(proc)
      proc = await launch()
    }
  }
}

// Up means the client port answers srvr, with a status or "not currently serving" (no quorum
// yet): an ensemble member opens its client port before the leader election.
async function waitForClientPort(proc: TrackedProcess, address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: string
  for (;;) {
    const exit = proc.exitStatus()
    if (exit !== undefined) {
      throw new Error(
        `${proc.name} exited (code ${exit.code}, signal ${exit.signal}) before answering on ${address}:${port}; log ${proc.logFile}:\n${logTail(proc)}`
      )
    }
    try {
      await fourLetterWord(address, port, 'srvr', { timeoutMs: 2000 })
      return
    } catch (err) {
      lastError = (err as Error).message
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${proc.name} did not answer on ${address}:${port} within ${timeoutMs} ms (last: ${lastError}); log ${proc.logFile}:\n${logTail(proc)}`
      )
    }
    await sleep(200)
  }
}

export interface StartEnsembleOptions {
  /** One loopback address per server: server i+1 listens on addresses[i]. */
  addresses: string[]
  /** Server i+1 lives in <baseDir>/zk<i+1>. */
  baseDir: string
  clientPort?: number
  /** zoo.cfg keys to add or override on every server. */
  extraConfig?: Record<string, string>
  /** Until one leader and N-1 followers. Default 60 s. */
  quorumTimeoutMs?: number
}

export interface Ensemble {
  readonly servers: ZkServer[]
  leader(): Promise<ZkServer>
  stop(): Promise<void>
}

/** The zoo.cfg of one member of a static ensemble on loopback addresses. */
export function ensembleConfig(opts: StartEnsembleOptions, index: number): string {
  const address = opts.addresses[index]
  const entries: Record<string, string> = {
    tickTime: '500', // short ticks: election and sync in a few seconds
    initLimit: '20',
    syncLimit: '10',
    dataDir: join(opts.baseDir, `zk${index + 1}`, 'data'),
    clientPort: String(opts.clientPort ?? 2181),
    clientPortAddress: address,
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': 'srvr,mntr,ruok',
    reconfigEnabled: 'false',
    standaloneEnabled: 'false',
    ...opts.extraConfig
  }
  opts.addresses.forEach((addr, i) => {
    entries[`server.${i + 1}`] = `${addr}:2888:3888`
  })
  return Object.entries(entries)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('')
}

/** Starts a static N-server ensemble and resolves when it has one leader and N-1 followers. */
export async function startEnsemble(opts: StartEnsembleOptions): Promise<Ensemble> {
  const started = await Promise.allSettled(
    opts.addresses.map((_, i) =>
      startZooKeeperServer({
        dir: join(opts.baseDir, `zk${i + 1}`),
        zooCfg: ensembleConfig(opts, i),
        myid: i + 1,
        name: `zk${i + 1}`
      })
    )
  )
  const servers = started.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map(server => server.stop()))
  }
  const failed = started.flatMap(r => (r.status === 'rejected' ? [String(r.reason)] : []))
  if (failed.length > 0) {
    await stop()
    throw new Error(`Could not start the ensemble on ${opts.addresses.join(', ')}:\n${failed.join('\n')}`)
  }
  try {
    await waitForQuorum(servers, opts.quorumTimeoutMs ?? 60_000)
  } catch (err) {
    await stop()
    throw err
  }
  return {
    servers,
    leader: async () => {
      const modes = await Promise.all(servers.map(async s => (await srvrOf(s)).mode))
      const leaders = servers.filter((_, i) => modes[i] === 'leader')
      if (leaders.length !== 1) {
        throw new Error(`Expected one leader, found ${leaders.length}: ${servers.map((s, i) => `${s.name}=${modes[i]}`).join(', ')}`)
      }
      return leaders[0]
    },
    stop
  }
}

/** Waits until exactly one server leads and all others follow, as `srvr` reports it. */
export async function waitForQuorum(servers: ZkServer[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let states: string[] = []
  for (;;) {
    const answers = await Promise.all(
      servers.map(s =>
        srvrOf(s).then(
          status => status.mode,
          (err: Error) => `error: ${err.message}`
        )
      )
    )
    states = answers
    const leaders = answers.filter(mode => mode === 'leader').length
    const followers = answers.filter(mode => mode === 'follower').length
    if (leaders === 1 && followers === servers.length - 1) return
    if (Date.now() >= deadline) break
    await sleep(200)
  }
  const report = servers.map((s, i) => `--- ${s.name} ${s.address}:${s.clientPort} pid ${s.pid}: ${states[i]}\n${logTail(s, 15)}`).join('\n')
  throw new Error(`No quorum (one leader, ${servers.length - 1} followers) within ${timeoutMs} ms:\n${report}`)
}

/** Waits until the server at address:port reports `mode`; returns that status. */
export async function waitForMode(address: string, port: number, mode: SrvrMode, timeoutMs: number): Promise<SrvrStatus> {
  const deadline = Date.now() + timeoutMs
  let last: string
  for (;;) {
    try {
      const status = parseSrvr(await fourLetterWord(address, port, 'srvr', { timeoutMs: 2000 }))
      if (status.mode === mode) return status
      last = `Mode: ${status.mode}`
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() >= deadline) {
      throw new Error(`${address}:${port} did not reach Mode: ${mode} within ${timeoutMs} ms (last: ${last})`)
    }
    await sleep(200)
  }
}

export interface ZkCliOptions {
  jvmArgs?: string[]
  /** Default 30 s; the CLI is killed after it. */
  timeoutMs?: number
}

/**
 * Runs the real ZooKeeper CLI (ZooKeeperMain) for one command, e.g. ['create', '/foo', 'bar'],
 * and returns its stdout without the connection notice. Throws with the output on failure.
 */
export async function zkCli(server: string, args: string[], opts: ZkCliOptions = {}): Promise<string> {
  const classpath = zookeeperClasspath()
  const timeoutMs = opts.timeoutMs ?? 30_000
  const argv = [
    ...CLI_JVM_ARGS,
    ...(opts.jvmArgs ?? []),
    `-Dlog4j.configuration=file:${cliLog4jConfig()}`,
    '-cp',
    classpath,
    'org.apache.zookeeper.ZooKeeperMain',
    '-server',
    server,
    ...args
  ]
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(JAVA, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' })
      let out = ''
      let err = ''
      child.stdout.on('data', chunk => (out += chunk))
      child.stderr.on('data', chunk => (err += chunk))
      child.on('error', reject)
      child.on('close', (c, s) => resolve({ code: c, signal: s, stdout: out, stderr: err }))
    }
  )
  if (code !== 0) {
    const why = signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit code ${code}${signal ? `, signal ${signal}` : ''}`
    throw new Error(`zkCli -server ${server} ${args.join(' ')} failed (${why}):\n${stdout}${stderr}`)
  }
  // Not the command's output: the CLI announces the server, and its watcher prints the
  // connection event ("\nWATCHER::" and "\nWatchedEvent ..." as two writes from another thread).
  return stdout
    .replace(/^Connecting to \S+\n/, '')
    .replace(/\nWATCHER::\n/g, '')
    .replace(/\nWatchedEvent state:\w+ type:None path:null\n/g, '')
}

// The CLI logs to stderr (stdout is the command's output), warnings only.
function cliLog4jConfig(): string {
  const file = join(tmpdir(), 'zk-rollout-zkcli-log4j.properties')
  if (!existsSync(file)) {
    // Parallel test workers may race here: write a private file, then rename it into place.
    const tmp = `${file}.${process.pid}`
    writeFileSync(tmp, LOG4J_CONFIG('System.err', 'WARN'))
    renameSync(tmp, file)
  }
  return file
}

function srvrOf(server: ZkServer): Promise<SrvrStatus> {
  return fourLetterWord(server.address, server.clientPort, 'srvr', { timeoutMs: 2000 }).then(parseSrvr)
}

// zoo.cfg is a Java properties file; the last assignment of a key wins, as in ZooKeeper.
function parseConfig(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*?)\s*$/.exec(line)
    if (m) entries.set(m[1], m[2])
  }
  return entries
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
