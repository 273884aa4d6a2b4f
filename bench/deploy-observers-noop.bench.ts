// How long deploy-observers takes when nothing changed (the common run), over 2 and 20 observer
// VMs, and how many network round trips one host costs. A benchmark, not a test: it prints
// numbers and asserts nothing about time.
//
// Run:
//   node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects integration \
//     --testMatch '<rootDir>/bench/**/*.bench.ts' bench/deploy-observers-noop.bench.ts
//
// The VMs are real sshd processes (test/support/sshd.ts) holding the rendered files already.
// Their observers are stood in for by a canned `srvr` answer (Mode: observer) on each VM's
// client port: 20 ZooKeeper JVMs do not fit this machine, and a no-op run only asks srvr once.
// Round trips are measured through a relay that delays every chunk by a fixed one-way latency:
// (time with latency - time without) / RTT.
import { afterAll, beforeAll, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { withSecretFiles } from '../workflows-lib/src/runner/secret-file.js'
import { loadEnvironment, type Environment } from '../workflows-lib/src/environment/index.js'
import type { DeployReport } from '../workflows-lib/src/observers/index.js'
import { deployObservers } from '../workflows-lib/src/steps/deploy-observers.js'
import { renderObserverFiles } from '../workflows-lib/src/render/index.js'
import { writeSshClientConfig } from '../workflows-lib/src/ssh/client-config.js'
import { SecretFiles } from '../workflows-lib/src/runner/secret-file.js'
import { addressBlocks } from '../test/support/addresses.js'
import { repoRoot, writeEnvironment } from '../test/support/environments.js'
import { listTrackedAlive, stopAllTracked } from '../test/support/processes.js'
import { generateKey, sshPortFor, startSshd, type KeyPair, type Sshd } from '../test/support/sshd.js'

const addresses = addressBlocks.deployObserversBench.vms
const relayAddress = '127.0.3.100'
const servers = ['10.0.0.1', '10.0.0.2', '10.0.0.3'] // rendered into zoo.cfg, never contacted
const RUNS = 7

const base = mkdtempSync(path.join(os.tmpdir(), 'zk-bench-observers-'))
const vmRoot = path.join(base, 'vm')
const directory = path.join(vmRoot, 'zookeeper')
let port: number
let key: KeyPair
let vms: Sshd[] = []
const listeners: Server[] = []

const SRVR = `Zookeeper version: 3.8.0-bench, built on 2023-01-01 00:00 UTC
Latency min/avg/max: 0/0.0/0
Received: 1
Sent: 1
Connections: 1
Outstanding: 0
Zxid: 0x100000004
Mode: observer
Node count: 5
`

function yamlFor(hosts: string[], dir: string): string {
  return `kubernetes: { namespace: zk, release: zk }
ensemble: { servers: 3 }
observers:
  directory: ${dir}
  ssh: { user: ${os.userInfo().username}, port: ${port} }
  hosts:
${hosts.map((h, i) => `    - { id: ${101 + i}, host: ${h} }`).join('\n')}
`
}

// The environment's name is in the files' header comment: every variant is called "bench".
async function environmentFor(hosts: string[], dir = directory): Promise<Environment> {
  return loadEnvironment(environmentDir(hosts, dir))
}

function environmentDir(hosts: string[], dir = directory): string {
  return writeEnvironment(yamlFor(hosts, dir), { name: 'bench' })
}

/** Writes each host's rendered files into its VM's directory: the state a no-op run finds. */
function preinstall(env: Environment, vmOf: (i: number) => Sshd): void {
  const observers = env.observers!
  observers.hosts.forEach((host, i) => {
    const dir = path.join(vmOf(i).root, path.relative(vmRoot, observers.directory))
    mkdirSync(dir, { recursive: true })
    for (const [name, content] of Object.entries(renderObserverFiles({ environment: env, observers, host, servers })))
      writeFileSync(path.join(dir, name), content)
  })
}

async function noop(environment: Environment, knownHosts: string, concurrency?: number): Promise<DeployReport> {
  const report = await withSecretFiles(secretFiles =>
    deployObservers({ environment, servers, credentials: { privateKey: key.privateKey, knownHosts }, secretFiles, concurrency })
  )
  if (!report.ok || report.changed) throw new Error(`not a clean no-op: ${JSON.stringify(report.results, null, 2)}`)
  return report
}

async function measure(label: string, fn: () => Promise<DeployReport | void>): Promise<string> {
  await fn() // warm-up: page cache, JIT
  const walls: number[] = []
  const perHost: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const report = await fn()
    walls.push(performance.now() - t0)
    if (report) perHost.push(...report.results.map(r => r.durationMs))
  }
  const stats = (xs: number[]): string => {
    const s = [...xs].sort((a, b) => a - b)
    return `min ${s[0].toFixed(0)} ms, median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`
  }
  return `${label}: wall ${stats(walls)}${perHost.length ? `; per host ${stats(perHost)}` : ''}`
}

/** Forwards relayAddress:port to target:port, delaying each chunk by oneWayMs, in order. */
function startRelay(target: string, oneWayMs: number): Promise<Server> {
  const server = createServer(client => {
    const upstream = connect({ host: target, port })
    const pipe = (from: Socket, to: Socket): void => {
      let last = 0
      from.on('data', chunk => {
        const at = Math.max(Date.now() + oneWayMs, last)
        last = at
        setTimeout(() => to.write(chunk), at - Date.now())
      })
      from.on('end', () => setTimeout(() => to.end(), Math.max(0, last - Date.now()) + 1))
      from.on('error', () => to.destroy())
    }
    pipe(client, upstream)
    pipe(upstream, client)
  })
  return new Promise(resolve => server.listen({ host: relayAddress, port }, () => resolve(server)))
}

/** Sum of the resident memory of all running ssh client processes, in MiB. */
function sshClientsRssMiB(): number {
  let kb = 0
  for (const pid of readdirSync('/proc').filter(e => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ssh') continue
      kb += Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    } catch {
      // exited while we looked
    }
  }
  return kb / 1024
}

/** Runs the built action as a runner would, under /usr/bin/time: its peak RSS in MiB, and the ssh clients' peak. */
async function actionMemory(envDir: string, knownHosts: string): Promise<{ nodeMiB: number; sshMiB: number }> {
  const temp = mkdtempSync(path.join(base, 'runner-'))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    RUNNER_TEMP: temp,
    GITHUB_OUTPUT: path.join(temp, 'output'),
    GITHUB_STEP_SUMMARY: path.join(temp, 'summary'),
    INPUT_ENVIRONMENT: envDir,
    INPUT_SERVERS: servers.join(','),
    'INPUT_SSH-PRIVATE-KEY': key.privateKey,
    'INPUT_KNOWN-HOSTS': knownHosts
  }
  writeFileSync(env.GITHUB_OUTPUT, '')
  writeFileSync(env.GITHUB_STEP_SUMMARY, '')
  let sshPeak = 0
  const sampler = setInterval(() => (sshPeak = Math.max(sshPeak, sshClientsRssMiB())), 10)
  try {
    const stderr = await new Promise<string>((resolve, reject) =>
      execFile(
        '/usr/bin/time',
        ['-f', 'maxrss=%M', process.execPath, path.join(repoRoot, 'actions/deploy-observers/dist/index.js')],
        { env },
        (error, _out, err) => (error ? reject(new Error(`${error.message}\n${_out}\n${err}`)) : resolve(err))
      )
    )
    return { nodeMiB: Number(/maxrss=(\d+)/.exec(stderr)?.[1]) / 1024, sshMiB: sshPeak }
  } finally {
    clearInterval(sampler)
  }
}

function sshTrue(configFile: string, host: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('ssh', ['-F', configFile, '-p', String(port), '-l', os.userInfo().username, '--', host, 'true'], error =>
      error ? reject(error) : resolve()
    )
  )
}

beforeAll(async () => {
  key = generateKey(path.join(base, 'keys'), 'bench')
  port = await sshPortFor([...addresses, relayAddress])
  vms = await Promise.all(
    addresses.map((address, i) =>
      startSshd({ name: `vm${i + 1}`, address, port, dir: path.join(base, `vm${i + 1}`), authorizedKeys: [key.publicKey], rootMount: vmRoot })
    )
  )
  // Each VM already holds its rendered files, and "its observer" answers srvr.
  preinstall(await environmentFor(addresses), i => vms[i])
  for (const address of addresses) {
    const server = createServer(socket => socket.once('data', () => socket.end(SRVR)))
    await new Promise<void>(resolve => server.listen({ host: address, port: 2181 }, resolve))
    listeners.push(server)
  }
}, 120_000)

afterAll(async () => {
  for (const server of listeners) server.close()
  await stopAllTracked()
  if (listTrackedAlive().length > 0) throw new Error('bench processes left running')
})

it('no-op deploy: 2 and 20 VMs, round trips per host', async () => {
  const knownHosts = vms.map(vm => vm.knownHosts).join('\n')
  const lines: string[] = [
    `${os.cpus().length} CPUs, ${RUNS} runs after one warm-up; OpenSSH ${await new Promise<string>(r => execFile('ssh', ['-V'], (_, o, e) => r(e.trim())))}`
  ]

  const two = await environmentFor(addresses.slice(0, 2))
  lines.push(await measure('no-op, 2 VMs', () => noop(two, knownHosts)))
  const twenty = await environmentFor(addresses)
  lines.push(await measure('no-op, 20 VMs, concurrency 4 (default)', () => noop(twenty, knownHosts)))
  lines.push(await measure('no-op, 20 VMs, concurrency 20', () => noop(twenty, knownHosts, 20)))

  // The floor: 20 fresh OpenSSH connections running `true`, all at once.
  const files = new SecretFiles()
  try {
    const config = writeSshClientConfig(files, { privateKey: key.privateKey, knownHosts })
    lines.push(
      await measure(
        'baseline: ssh host true, 20 VMs at once',
        async () => void (await Promise.all(addresses.map(a => sshTrue(config.configFile, a))))
      )
    )
    lines.push(await measure('baseline: ssh host true, 1 VM', async () => sshTrue(config.configFile, addresses[0])))
  } finally {
    files.remove()
  }

  const memory = await actionMemory(environmentDir(addresses), knownHosts)
  lines.push(
    `the built action, no-op over 20 VMs: peak RSS ${memory.nodeMiB.toFixed(0)} MiB (node), ${memory.sshMiB.toFixed(0)} MiB (all ssh clients at once)`
  )

  // Round trips of one host: the same no-op through a relay with 0 and 10 ms one-way latency.
  const relayed = await environmentFor([relayAddress], path.join(vmRoot, 'relayed'))
  preinstall(relayed, () => vms[0])
  const relayKnownHosts = `${relayAddress} ${vms[0].hostKey.publicKey.split(' ').slice(0, 2).join(' ')}`
  const timed = async (oneWayMs: number): Promise<number> => {
    const relay = await startRelay(addresses[0], oneWayMs)
    try {
      await noop(relayed, relayKnownHosts)
      const samples: number[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        await noop(relayed, relayKnownHosts)
        samples.push(performance.now() - t0)
      }
      return samples.sort((a, b) => a - b)[2]
    } finally {
      await new Promise(resolve => relay.close(resolve))
    }
  }
  const fast = await timed(0)
  const slow = await timed(10)
  lines.push(
    `one VM through a relay: ${fast.toFixed(0)} ms at 0 ms RTT, ${slow.toFixed(0)} ms at 20 ms RTT -> ${((slow - fast) / 20).toFixed(1)} round trips on the critical path`
  )
  console.log(lines.join('\n'))
}, 600_000)
