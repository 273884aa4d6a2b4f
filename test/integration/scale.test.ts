// Quorum-safe scaling end to end: the bundled chart on the sandbox in process mode (a real
// ZooKeeper server per pod), an observer VM (real sshd, the compose shim running a real observer
// JVM), and a real ZooKeeper client writing sequential znodes through the LoadBalancer addresses
// the whole time. 3 -> 5 -> 3 must lose no acknowledged write, never show two leaders, and end
// with the observer following the new server list. Loopback block 127.0.80.x, VM 127.0.0.97.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import { Helm } from '../../workflows-lib/src/kube/helm.js'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { useTerminalLog } from '../../workflows-lib/src/output/log.js'
import { rollout, type RolloutReport } from '../../workflows-lib/src/rollout/rollout.js'
import { withSecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { startWorld, type World } from '../e2e/world.js'
import { addressBlocks } from '../support/addresses.js'
import { repoRoot } from '../support/environments.js'
import { zkCli, zookeeperClasspath } from '../support/zookeeper.js'

jest.setTimeout(900_000)
let world: World
let dir: string
let writerClasses: string
const logLines: { at: number; line: string }[] = []
const writers: ChildProcess[] = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-scale-'))
  world = await startWorld({ dir, addressBlock: addressBlocks.sandboxBlocks.scaling, vmAddresses: addressBlocks.scalingVms, name: 'scale' })
  writerClasses = path.join(dir, 'writer')
  fs.mkdirSync(writerClasses)
  execFileSync('javac', ['-cp', zookeeperClasspath(), '-d', writerClasses, path.join(repoRoot, 'test/support/zk-writer/SequentialWriter.java')])
  useTerminalLog(
    text => {
      process.stdout.write(text)
      for (const line of text.split('\n')) if (line) logLines.push({ at: Date.now(), line })
    },
    { verbose: false }
  )
}, 240_000)

afterAll(async () => {
  // A writer left by a failed assertion: ours, by PID.
  for (const w of writers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  await world?.stop()
}, 120_000)

function setServers(n: number): void {
  const file = path.join(world.environmentDir, 'environment.yaml')
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/ensemble: \{ servers: \d+ \}/, `ensemble: { servers: ${n} }`))
}

async function rolloutNow(): Promise<RolloutReport> {
  const env = await loadEnvironment(world.environmentDir, { repository: dir })
  const credentials = { privateKey: fs.readFileSync(world.sshKeyFile, 'utf8'), knownHosts: fs.readFileSync(world.knownHostsFile, 'utf8') }
  return withSecretFiles(secretFiles =>
    rollout({
      env,
      kubectl: new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig),
      helm: new Helm(world.sandbox.helm4, world.sandbox.kubeconfig),
      roots: { bundled: repoRoot, repository: dir },
      ssh: { credentials, secretFiles }
    })
  )
}

const pod = (i: number): string => `zk-zookeeper-${i}`

/** srvr from every possible server address at once, every 100 ms: how many said "leader". */
function sampleLeaders(): { stop: () => Promise<{ samples: number; maxLeaders: number; twoLeaders: string[] }> } {
  let running = true
  let samples = 0
  let maxLeaders = 0
  const twoLeaders: string[] = []
  const loop = (async () => {
    while (running) {
      const modes = await Promise.all(
        [0, 1, 2, 3, 4].map(i =>
          fourLetterWord(world.sandbox.podAddress('zk', pod(i)), 2181, 'srvr', { timeoutMs: 1000 })
            .then(parseSrvr)
            .then(
              a => ({ pod: pod(i), mode: a.mode }),
              () => ({ pod: pod(i), mode: 'down' })
            )
        )
      )
      const leaders = modes.filter(m => m.mode === 'leader').map(m => m.pod)
      samples++
      maxLeaders = Math.max(maxLeaders, leaders.length)
      if (leaders.length > 1) twoLeaders.push(`${new Date().toISOString()}: ${leaders.join(', ')}`)
      await new Promise(r => setTimeout(r, 100))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { samples, maxLeaders, twoLeaders }
    }
  }
}

interface Ack {
  n: number
  path: string
  at: number
}

function startWriter(connect: string): { child: ChildProcess; acks: Ack[]; maybes: number[]; ready: Promise<void>; stop: () => Promise<void> } {
  const child = spawn('java', ['-Xmx64m', '-cp', `${writerClasses}:${zookeeperClasspath()}`, 'SequentialWriter', connect, '/scale-test'], {
    stdio: ['pipe', 'pipe', 'pipe']
  })
  writers.push(child)
  const acks: Ack[] = []
  const maybes: number[] = []
  let buffered = ''
  let onReady: () => void
  const ready = new Promise<void>(r => (onReady = r))
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const [kind, n, p, at] = line.split(' ')
      if (kind === 'ready') onReady()
      if (kind === 'ack') acks.push({ n: Number(n), path: p, at: Number(at) })
      if (kind === 'maybe') maybes.push(Number(n))
    }
  })
  child.stderr!.resume()
  const exited = new Promise<void>(r => child.on('exit', () => r()))
  return {
    child,
    acks,
    maybes,
    ready,
    stop: async () => {
      child.stdin!.end()
      await exited
    }
  }
}

/** Writes acknowledged within [from, to): how many per second, and the longest gap between two. */
function window(acks: Ack[], from: number, to: number): { writes: number; perSecond: number; longestStallMs: number } {
  const inside = acks.filter(a => a.at >= from && a.at < to)
  let longest = 0
  let previous = from
  for (const a of inside) {
    longest = Math.max(longest, a.at - previous)
    previous = a.at
  }
  longest = Math.max(longest, to - previous)
  return { writes: inside.length, perSecond: Math.round((inside.length / Math.max(1, to - from)) * 1000), longestStallMs: longest }
}

describe('scaling 3 -> 5 -> 3 under continuous writes', () => {
  it('loses no acknowledged write, never has two leaders, and the observer follows the new server list', async () => {
    const first = await rolloutNow()
    expect(first.ready).toHaveLength(3)
    const lbs = first.exposed.addresses.map(a => `${a}:2181`).join(',')
    const leaders = sampleLeaders()
    const writer = startWriter(lbs)
    await writer.ready
    await new Promise(r => setTimeout(r, 2000))

    const upFrom = Date.now()
    setServers(5)
    const up = await rolloutNow()
    const upTo = Date.now()
    expect(up.scaling?.sizes).toEqual([3, 4, 5])
    await new Promise(r => setTimeout(r, 2000))

    const downFrom = Date.now()
    setServers(3)
    const down = await rolloutNow()
    const downTo = Date.now()
    expect(down.scaling?.sizes).toEqual([5, 4, 3])
    await new Promise(r => setTimeout(r, 2000))
    await writer.stop()
    const sampled = await leaders.stop()

    // Per step: from the log line that starts it to the next one (or the end of the run).
    const steps = logLines
      .filter(l => l.at >= upFrom && /^== scale step/.test(l.line))
      .map((l, i, all) => {
        const end = all[i + 1] && all[i + 1].at < (l.at < downFrom ? upTo : downTo) ? all[i + 1].at : l.at < downFrom ? upTo : downTo
        return { step: l.line.replace(/^== scale step (\d+ -> \d+).*/, '$1'), ...window(writer.acks, l.at, end) }
      })
    const summary = {
      acknowledged: writer.acks.length,
      uncertain: writer.maybes.length,
      leaderSamples: sampled.samples,
      steps,
      whole: { up: window(writer.acks, upFrom, upTo), down: window(writer.acks, downFrom, downTo) }
    }
    console.log(`scaling under writes: ${JSON.stringify(summary, null, 2)}`)
    fs.writeFileSync(path.join(dir, 'scale-measurements.json'), JSON.stringify(summary, null, 2))

    expect(steps.map(s => s.step)).toEqual(['3 -> 4', '4 -> 5', '5 -> 4', '4 -> 3'])
    expect(sampled.twoLeaders).toEqual([])
    expect(sampled.samples).toBeGreaterThan(50)
    // The client kept writing through every step.
    expect(steps.every(s => s.writes > 0)).toBe(true)

    // Acknowledged in order: the sequence numbers ZooKeeper gave rise with every acknowledgement.
    const seqs = writer.acks.map(a => Number(a.path.slice(-10)))
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true)
    expect(writer.acks.length).toBeGreaterThan(100)

    // Every acknowledged write is on every remaining server and on the observer.
    const acked = writer.acks.map(a => a.path.replace('/scale-test/', ''))
    const readers = [...[0, 1, 2].map(i => world.sandbox.podAddress('zk', pod(i))), world.observers[0].address]
    for (const address of readers) {
      // sync first, so a follower or observer that lags answers with everything committed.
      const listed = await zkCli(`${address}:2181`, ['ls', '/scale-test'], { timeoutMs: 60_000 })
      const children = new Set(listed.replace(/^[^[]*\[|\][^\]]*$/g, '').split(', '))
      const missing = acked.filter(c => !children.has(c))
      expect({ address, missing: missing.slice(0, 10), count: missing.length }).toEqual({ address, missing: [], count: 0 })
    }

    // The observer ends as an observer of the 3-server ensemble.
    expect(parseSrvr(await fourLetterWord(world.observers[0].address, 2181, 'srvr')).mode).toBe('observer')
    const zooCfg = down.observers!.results[0]
    expect(zooCfg.mode).toBe('observer')
    // The VM's file, in the directory backing its private root (mounted at <dir>/vm inside it).
    const cfgFile = path.join(world.vms[0].root, 'data', 'zookeeper', 'zoo.cfg')
    const serverLines = fs
      .readFileSync(cfgFile, 'utf8')
      .split('\n')
      .filter(l => /^server\.\d+=/.test(l))
    expect(serverLines.filter(l => !l.includes(':observer'))).toHaveLength(3)
  })
})
