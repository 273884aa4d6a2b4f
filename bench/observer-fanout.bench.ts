// Observer fan-out: deploy-observers over 1, 5, 10 and 20 observer VMs when nothing changed (the
// common run), side by side with what users would do instead: the runbook's sequential scp of the
// three files to each host, an ansible playbook copying them (Debian's ansible-core, default
// forks), and the floor, one `ssh host true` to every host at once with the same key exchange.
// Also: how many network round trips one host costs (a relay adding 20 ms RTT on loopback) and
// the action's peak memory. A benchmark, not a test: it records numbers and asserts nothing.
//
// Run: npm run bench (all benchmarks) or npm run bench -- --testPathPattern bench/observer-fanout
//
// The VMs are real sshd processes (test/support/sshd.ts) holding the rendered files already.
// Their observers are stood in for by a canned `srvr` answer (Mode: observer) on each VM's
// client port: 20 ZooKeeper JVMs do not fit this machine, and a no-op run only asks srvr once.
// Round trips: (time with latency - time without) / RTT.
import { afterAll, beforeAll, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../workflows-lib/src/environment/index.js'
import { DEFAULT_CONCURRENCY } from '../workflows-lib/src/steps/deploy-observers.js'
import { renderObserverFiles } from '../workflows-lib/src/render/index.js'
import { writeSshClientConfig } from '../workflows-lib/src/ssh/client-config.js'
import { SecretFiles } from '../workflows-lib/src/runner/secret-file.js'
import { addressBlocks } from '../test/support/addresses.js'
import { repoRoot, writeEnvironment } from '../test/support/environments.js'
import { compare, saveSection, summarize, type ResultRow, type Target } from './results.js'
import { listTrackedAlive, stopAllTracked } from '../test/support/processes.js'
import { type ActionRun, runActionDist } from '../test/support/run-action.js'
import { generateKey, knownHostsLine, sshPortFor, startSshd, type KeyPair, type Sshd } from '../test/support/sshd.js'

const addresses = addressBlocks.deployObserversBench.vms
const relayAddress = '127.0.3.100'
const servers = ['10.0.0.1', '10.0.0.2', '10.0.0.3'] // rendered into zoo.cfg, never contacted
const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const SIZES = [1, 5, 10, 20]

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

/** A no-op deploy-observers run of the built action (its dist/index.js, as a runner starts it). */
async function noop(envDir: string, knownHosts: string, concurrency?: number, probe = false): Promise<ActionRun> {
  const r = await runActionDist(
    'deploy-observers',
    {
      environment: envDir,
      servers: servers.join(','),
      'ssh-private-key': key.privateKey,
      'known-hosts': knownHosts,
      ...(concurrency === undefined ? {} : { concurrency: String(concurrency) })
    },
    probe ? { nodeArgs: ['-r', path.join(repoRoot, 'bench', 'maxrss.cjs')], onStart: child => sampleDescendants(child.pid!) } : {}
  )
  if (r.exitCode !== 0 || r.outputs.changed !== 'false') throw new Error(`not a clean no-op:\n${r.stdout}\n${r.stderr}`)
  return r
}

/** Wall-clock samples of fn, after one warm-up run (page cache, JIT, ssh's first exec). */
async function samples(fn: () => Promise<unknown>): Promise<number[]> {
  await fn()
  const walls: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await fn()
    walls.push(performance.now() - t0)
  }
  return walls
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

/** Sum of the resident memory, in MiB, of the processes descending from `root` whose comm is `comm`. */
function descendantsRssMiB(root: number, comm: string): number {
  const parent = new Map<number, number>()
  const names = new Map<number, string>()
  for (const entry of readdirSync('/proc').filter(e => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {
      // exited while we looked
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true
    return false
  }
  let kb = 0
  for (const [pid, name] of names) {
    if (name !== comm || !isDescendant(pid)) continue
    try {
      kb += Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    } catch {
      // exited while we looked
    }
  }
  return kb / 1024
}

let sshPeakMiB = 0
/** Samples the ssh clients under the action every 10 ms while it runs; the peak lands in sshPeakMiB. */
function sampleDescendants(root: number): void {
  sshPeakMiB = 0
  const sampler = setInterval(() => {
    try {
      process.kill(root, 0)
    } catch {
      return clearInterval(sampler)
    }
    sshPeakMiB = Math.max(sshPeakMiB, descendantsRssMiB(root, 'ssh'))
  }, 10)
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

/** The runbook: for each host in turn, scp the three rendered files into its directory. */
async function scpLoop(hosts: string[], filesDir: string, configFile: string): Promise<void> {
  for (const host of hosts) {
    const files = ['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => path.join(filesDir, host, f))
    await new Promise<void>((resolve, reject) =>
      execFile('scp', ['-q', '-F', configFile, '-P', String(port), ...files, `${os.userInfo().username}@${host}:${directory}/`], error =>
        error ? reject(error) : resolve()
      )
    )
  }
}

/** An ansible playbook copying the same files (ansible.builtin.copy, default forks, no facts). */
function ansibleSetup(hosts: string[], filesDir: string, knownHostsFile: string): { run: () => Promise<void> } {
  const dir = mkdtempSync(path.join(base, 'ansible-'))
  let runs = 0
  const user = os.userInfo().username
  writeFileSync(
    path.join(dir, 'inventory.ini'),
    `[observers]\n${hosts.map(h => `${h} ansible_port=${port}`).join('\n')}\n\n[observers:vars]\nansible_user=${user}\n` +
      `ansible_ssh_private_key_file=${key.privateKeyFile}\nansible_python_interpreter=/usr/bin/python3\n` +
      `ansible_ssh_common_args='-o UserKnownHostsFile=${knownHostsFile} -o StrictHostKeyChecking=yes'\n`
  )
  writeFileSync(
    path.join(dir, 'observers.yml'),
    `- hosts: observers
  gather_facts: false
  tasks:
    - name: observer files
      ansible.builtin.copy:
        src: "${filesDir}/{{ inventory_hostname }}/{{ item }}"
        dest: "${directory}/{{ item }}"
        mode: "0644"
      loop: [zoo.cfg, myid, docker-compose.yaml]
`
  )
  return {
    // Each run starts cold, as a CI job does: its own ControlPath directory (ansible's default
    // ControlPersist=60s would otherwise reuse the last run's connections), whose masters are
    // closed after it.
    run: async () => {
      const control = path.join(dir, `cp${runs++}`)
      mkdirSync(control)
      try {
        await ansibleRun(control)
      } finally {
        await closeMaster(control)
      }
    }
  }

  function closeMaster(control: string): Promise<void[]> {
    // ansible names its sockets by a hash of its own: close each master by its socket.
    return Promise.all(
      readdirSync(control).map(
        socket =>
          new Promise<void>(resolve => execFile('ssh', ['-o', `ControlPath=${path.join(control, socket)}`, '-O', 'exit', 'master'], () => resolve()))
      )
    )
  }

  function ansibleRun(control: string): Promise<void> {
    return new Promise((resolve, reject) =>
      execFile(
        'ansible-playbook',
        ['-i', path.join(dir, 'inventory.ini'), path.join(dir, 'observers.yml')],
        { env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: path.join(dir, 'tmp'), ANSIBLE_SSH_CONTROL_PATH_DIR: control } },
        (error, out) => {
          if (error) return reject(new Error(`ansible-playbook failed: ${out}`))
          // Same state as ours found: nothing to change.
          if (!/changed=0/.test(out) || /changed=[1-9]/.test(out)) return reject(new Error(`ansible changed files:\n${out}`))
          resolve()
        }
      )
    )
  }
}

it('observer fan-out, no-op: 1, 5, 10, 20 VMs against the runbook, ansible and the ssh floor; round trips; memory', async () => {
  const knownHosts = vms.map(vm => vm.knownHosts).join('\n')
  const knownHostsFile = path.join(base, 'known_hosts')
  writeFileSync(knownHostsFile, `${knownHosts}\n`)
  // The rendered files, per host, for the runbook loop and ansible to copy.
  const filesDir = path.join(base, 'files')
  const all = await environmentFor(addresses)
  all.observers!.hosts.forEach(host => {
    mkdirSync(path.join(filesDir, host.host), { recursive: true })
    for (const [name, content] of Object.entries(renderObserverFiles({ environment: all, observers: all.observers!, host, servers })))
      writeFileSync(path.join(filesDir, host.host, name), content)
  })
  const rows: ResultRow[] = []
  const targets: Target[] = []
  const files = new SecretFiles()
  try {
    const config = writeSshClientConfig(files, { privateKey: key.privateKey, knownHosts })
    for (const n of SIZES) {
      const hosts = addresses.slice(0, n)
      const envDir = environmentDir(hosts)
      const ours = await samples(() => noop(envDir, knownHosts))
      const others = [
        { tool: `ours, concurrency ${n}`, samples: await samples(() => noop(envDir, knownHosts, n)) },
        { tool: 'runbook: sequential scp per host', samples: await samples(() => scpLoop(hosts, filesDir, config.configFile)) },
        { tool: 'ansible-playbook (copy, 5 forks)', samples: await samples(ansibleSetup(hosts, filesDir, knownHostsFile).run) },
        { tool: 'floor: ssh host true, all at once', samples: await samples(() => Promise.all(hosts.map(a => sshTrue(config.configFile, a)))) }
      ]
      const caseRows = compare(`${n} VM${n > 1 ? 's' : ''}`, 'ms', { tool: 'ours (default concurrency)', samples: ours }, others)
      rows.push(...caseRows)
      if (n === 20) {
        const m = (tool: string): number => caseRows.find(r => r.tool.startsWith(tool))!.summary.median
        const overFloor = m('ours (default') / m('floor')
        targets.push({ case: '20 VMs', target: 'no-op <= 1.3x the parallel ssh floor', measured: `${overFloor.toFixed(2)}x`, met: overFloor <= 1.3 })
        const vsAnsible = m('ansible') / m('ours (default')
        targets.push({ case: '20 VMs', target: '>= 10x faster than ansible', measured: `${vsAnsible.toFixed(1)}x`, met: vsAnsible >= 10 })
      }
    }
  } finally {
    files.remove()
  }

  // Round trips of one host: the same no-op through a relay with 0 and 10 ms one-way latency.
  const relayedDir = environmentDir([relayAddress], path.join(vmRoot, 'relayed'))
  preinstall(await loadEnvironment(relayedDir), () => vms[0])
  const relayKnownHosts = knownHostsLine(relayAddress, port, vms[0].hostKey.publicKey)
  const through = async (oneWayMs: number): Promise<number[]> => {
    const relay = await startRelay(addresses[0], oneWayMs)
    try {
      return await samples(() => noop(relayedDir, relayKnownHosts))
    } finally {
      await new Promise(resolve => relay.close(resolve))
    }
  }
  const fast = summarize(await through(0)).median
  const slow = await through(10)
  const trips = slow.map(t => (t - fast) / 20)
  rows.push({ case: '1 VM, +20 ms RTT', tool: 'ours: round trips on the critical path', unit: 'round trips', summary: summarize(trips) })
  const tripsMedian = summarize(trips).median
  targets.push({ case: '1 VM, +20 ms RTT', target: '<= 10 round trips per host', measured: tripsMedian.toFixed(1), met: tripsMedian <= 10 })

  const probed = await noop(environmentDir(addresses), knownHosts, undefined, true)
  const nodeMiB = Number(/maxrss=(\d+)/.exec(probed.stderr)?.[1]) / 1024
  rows.push({ case: '20 VMs, no-op', tool: 'ours: peak RSS of the action (node)', unit: 'MiB', summary: summarize([nodeMiB]) })
  rows.push({ case: '20 VMs, no-op', tool: 'ours: peak RSS of its ssh clients at once', unit: 'MiB', summary: summarize([sshPeakMiB]) })

  saveSection('fanout', {
    title: 'Observer fan-out (no-op deploy)',
    method: `${addresses.length} real sshd "VMs" on loopback holding the rendered files; canned srvr answers stand in for the observers. ${RUNS} runs each after one warm-up. Ours is actions/deploy-observers/dist/index.js started as a runner starts it (node start-up included), default concurrency ${DEFAULT_CONCURRENCY}. Ansible runs cold each time (its own ControlPath directory, masters closed after). Changed runs are not measured here: 20 observer JVMs do not fit this machine (the whole-rollout bench measures a changed run of 2). Round trips: the same one-VM no-op through a relay adding 10 ms each way, (slow - fast) / 20 ms.`,
    rows,
    targets
  })
}, 1_800_000)
