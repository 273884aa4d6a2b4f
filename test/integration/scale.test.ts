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
import type { Pod } from '../../workflows-lib/src/kube/types.js'
import { useTerminalLog } from '../../workflows-lib/src/output/log.js'
import type { EnsembleState } from '../../workflows-lib/src/ensemble/state.js'
import { rollout, type RolloutReport } from '../../workflows-lib/src/rollout/rollout.js'
import { withSecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { rolloutArgs, startWorld, type World } from '../e2e/world.js'
import { addressBlocks } from '../support/addresses.js'
import { repoRoot } from '../support/environments.js'
import { sandboxValues } from '../support/kube.js'
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
  // With volume claims (the sandbox provisions none; they stay Pending), to see that none is deleted.
  fs.writeFileSync(
    path.join(world.environmentDir, 'values.yaml'),
    sandboxValues.replace('persistence:\n  enabled: false', 'persistence:\n  enabled: true\n  dataSize: 1Gi\n  dataLogSize: 1Gi')
  )
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

/** How long a restarted server may take to be back in the quorum before the step fails. */
function setPodReadyTimeout(value: string): void {
  const file = path.join(world.environmentDir, 'environment.yaml')
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/podReady: [0-9a-z]+/, `podReady: ${value}`))
}

async function rolloutNow(onRestart?: (pod: string, state: EnsembleState) => void): Promise<RolloutReport> {
  const env = await loadEnvironment(world.environmentDir, { repository: dir })
  const credentials = { privateKey: fs.readFileSync(world.sshKeyFile, 'utf8'), knownHosts: fs.readFileSync(world.knownHostsFile, 'utf8') }
  return withSecretFiles(secretFiles =>
    rollout({
      env,
      kubectl: new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig),
      helm: new Helm(world.sandbox.helm4, world.sandbox.kubeconfig),
      roots: { bundled: repoRoot, repository: dir },
      ssh: { credentials, secretFiles },
      ...(onRestart ? { onRestart } : {})
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

describe('scaling under continuous writes', () => {
  let writer: ReturnType<typeof startWriter>
  let leaders: ReturnType<typeof sampleLeaders>

  beforeAll(async () => {
    const first = await rolloutNow()
    expect(first.ready).toHaveLength(3)
    leaders = sampleLeaders()
    writer = startWriter(first.exposed.addresses.map(a => `${a}:2181`).join(','))
    await writer.ready
    await new Promise(r => setTimeout(r, 2000))
  }, 240_000)

  /** Every write acknowledged so far is on each of these servers, and the acknowledgements came in sequence order. */
  async function expectNoAcknowledgedWriteLost(addresses: string[]): Promise<number> {
    const seqs = writer.acks.map(a => Number(a.path.slice(-10)))
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true)
    const acked = writer.acks.map(a => a.path.replace('/scale-test/', ''))
    for (const address of addresses) {
      // Tens of thousands of children: an answer above the client's default 1 MB packet limit.
      const listed = await zkCli(`${address}:2181`, ['ls', '/scale-test'], { timeoutMs: 60_000, jvmArgs: ['-Djute.maxbuffer=67108864'] })
      const children = new Set(listed.replace(/^[^[]*\[|\][^\]]*$/g, '').split(', '))
      const missing = acked.filter(c => !children.has(c))
      expect({ address, missing: missing.slice(0, 10), count: missing.length }).toEqual({ address, missing: [], count: 0 })
    }
    return acked.length
  }

  it('3 -> 5 -> 3 loses no acknowledged write, never has two leaders, and the observer follows the new server list', async () => {
    const upFrom = Date.now()
    setServers(5)
    const up = await rolloutNow()
    const upTo = Date.now()
    expect(up.scaling?.sizes).toEqual([3, 4, 5])
    await new Promise(r => setTimeout(r, 2000))

    // Who leads at five: after the last restart of 4 -> 5 the election usually picks the highest id.
    const leaderAtFive = (
      await Promise.all(
        [0, 1, 2, 3, 4].map(async i => ({ i, mode: parseSrvr(await fourLetterWord(world.sandbox.podAddress('zk', pod(i)), 2181, 'srvr')).mode }))
      )
    ).find(s => s.mode === 'leader')?.i
    const downFrom = Date.now()
    setServers(3)
    const down = await rolloutNow()
    const downTo = Date.now()
    expect(down.scaling?.sizes).toEqual([5, 4, 3])
    // A leader that is to be removed hands over first: the others could not follow it otherwise.
    const handedOver = logLines.some(l => l.at >= downFrom && l.line.startsWith(`${pod(4)} leads and is to be removed`))
    expect(handedOver).toBe(leaderAtFive === 4)
    await new Promise(r => setTimeout(r, 2000))

    // Per step: from the log line that starts it to the next one (or the end of the run).
    const steps = logLines
      .filter(l => l.at >= upFrom && l.at < downTo && /^== scale step/.test(l.line))
      .map((l, i, all) => {
        const runEnd = l.at < downFrom ? upTo : downTo
        const end = all[i + 1] && all[i + 1].at < runEnd ? all[i + 1].at : runEnd
        return { step: l.line.replace(/^== scale step (\d+ -> \d+).*/, '$1'), ...window(writer.acks, l.at, end) }
      })
    const checked = await expectNoAcknowledgedWriteLost([...[0, 1, 2].map(i => world.sandbox.podAddress('zk', pod(i))), world.observers[0].address])
    const summary = {
      acknowledgedAndChecked: checked,
      uncertain: writer.maybes.length,
      steps,
      whole: { up: window(writer.acks, upFrom, upTo), down: window(writer.acks, downFrom, downTo) }
    }
    console.log(`scaling under writes: ${JSON.stringify(summary, null, 2)}`)
    fs.writeFileSync(path.join(dir, 'scale-measurements.json'), JSON.stringify(summary, null, 2))

    expect(steps.map(s => s.step)).toEqual(['3 -> 4', '4 -> 5', '5 -> 4', '4 -> 3'])
    // The client kept writing through every step.
    expect(steps.every(s => s.writes > 0)).toBe(true)
    expect(checked).toBeGreaterThan(100)

    // The removed servers' claims are still there, and the log said how to delete them.
    const claims = (await new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig).list('persistentvolumeclaims', 'zk')).map(c => c.metadata.name)
    expect(claims.sort()).toEqual([0, 1, 2, 3, 4].flatMap(i => [`data-${pod(i)}`, `datalog-${pod(i)}`]).sort())
    expect(logLines.map(l => l.line)).toContain(
      `${pod(4)} removed; its PersistentVolumeClaims are kept. To delete them by hand: kubectl delete pvc -n zk data-${pod(4)} datalog-${pod(4)}`
    )

    // The observer ends as an observer of the 3-server ensemble.
    expect(parseSrvr(await fourLetterWord(world.observers[0].address, 2181, 'srvr')).mode).toBe('observer')
    expect(down.observers!.results[0].mode).toBe('observer')
    // The VM's file, in the directory backing its private root (mounted at <dir>/vm inside it).
    const cfgFile = path.join(world.vms[0].root, 'data', 'zookeeper', 'zoo.cfg')
    const serverLines = fs
      .readFileSync(cfgFile, 'utf8')
      .split('\n')
      .filter(l => /^server\.\d+=/.test(l))
    expect(serverLines.filter(l => !l.includes(':observer'))).toHaveLength(3)
  })

  it('a server killed mid-step fails the step with the state report; the next run resumes and completes', async () => {
    setServers(5)
    setPodReadyTimeout('20s')
    let victim: string | undefined
    const failed = await rolloutNow((restarting, state) => {
      // In step 3 -> 4, once the new server runs: kill a follower that is not the one restarting, and keep it down.
      if (victim || state.servers.length !== 4) return
      victim = state.servers.find(s => s.mode === 'follower' && s.pod !== restarting)?.pod
      if (victim) world.sandbox.kubelet.setFault(`zk/${victim}`, { crashLoop: true })
    }).then(
      () => undefined,
      (e: Error) => e
    )
    expect(victim).toBeDefined()
    // Named as not serving, in the reason or in its line of the state report.
    expect(failed?.message).toMatch(new RegExp(`${victim}[^\n]*not serving`))
    expect(failed?.message).toMatch(
      /State of the ensemble:\n(\s+zk-zookeeper-\d \(myid \d\): revision \S+ \((new|old)\), .*\n)+\s+(leader: zk-zookeeper-\d|leaders: none)\n/
    )
    expect(failed?.message).toContain('Observers, as last verified:\n  observers: not redeployed in this run')
    // The process is really gone while the fault holds.
    expect(world.sandbox.kubelet.processes().some(p => p.pod === victim)).toBe(false)

    world.sandbox.kubelet.setFault(`zk/${victim}`, undefined)
    setPodReadyTimeout('2m')
    const resumed = await rolloutNow()
    // It went on from where the live state was: 4 servers, one step left.
    expect(resumed.scaling?.sizes).toEqual([4, 5])
    expect(resumed.ready).toHaveLength(5)
    await new Promise(r => setTimeout(r, 2000))
    await expectNoAcknowledgedWriteLost([0, 1, 2, 3, 4].map(i => world.sandbox.podAddress('zk', pod(i))))
  })

  it('refuses to scale while the ensemble has no quorum, and changes nothing', async () => {
    const kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
    const revisionBefore = (await new Helm(world.sandbox.helm4, world.sandbox.kubeconfig).status('zk', 'zk'))?.revision
    const down = [2, 3, 4].map(pod)
    for (const p of down) world.sandbox.kubelet.setFault(`zk/${p}`, { crashLoop: true })
    try {
      // Until their ZooKeeper processes are gone: two of five servers are no quorum.
      const deadline = Date.now() + 30_000
      while (world.sandbox.kubelet.processes().some(p => down.includes(p.pod))) {
        if (Date.now() > deadline) throw new Error(`the crash-loop fault did not stop ${down.join(', ')} within 30 s`)
        await new Promise(r => setTimeout(r, 100))
      }
      setServers(3)
      await expect(rolloutNow()).rejects.toThrow(/scale 5 -> 4 -> 3 refused: the ensemble has no quorum now[\s\S]*State of the ensemble:/)
      expect((await new Helm(world.sandbox.helm4, world.sandbox.kubeconfig).status('zk', 'zk'))?.revision).toBe(revisionBefore)
      expect(await kubectl.list('pods', 'zk', 'app.kubernetes.io/name=zookeeper')).toHaveLength(5)
    } finally {
      for (const p of down) world.sandbox.kubelet.setFault(`zk/${p}`, undefined)
    }
  })

  it('a runner killed in the middle of a step leaves a state the next run resumes from', async () => {
    // Back to a quorum of five after the previous test's faults.
    const quorum = Date.now() + 120_000
    for (;;) {
      const modes = await Promise.all(
        [0, 1, 2, 3, 4].map(i =>
          fourLetterWord(world.sandbox.podAddress('zk', pod(i)), 2181, 'srvr', { timeoutMs: 1000 })
            .then(parseSrvr)
            .then(
              a => a.mode,
              () => 'down'
            )
        )
      )
      if (modes.filter(m => m === 'leader').length === 1 && modes.filter(m => m === 'follower').length === 4) break
      if (Date.now() > quorum) throw new Error(`no quorum of five within 120 s: ${modes.join(', ')}`)
      await new Promise(r => setTimeout(r, 250))
    }
    setServers(3)
    // The committed CLI bundle, as a runner would run it; its process group is killed with SIGKILL
    // halfway through a step, like a cancelled job or a lost runner.
    const child = spawn(process.execPath, [path.join(repoRoot, 'workflows-lib/dist/cli/index.js'), ...rolloutArgs(world)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...world.sandbox.env }
    })
    let output = ''
    const killed = new Promise<string>(resolve => {
      child.stdout!.on('data', (d: Buffer) => {
        output += d.toString()
        // The second restart of step 5 -> 4 begins once the first server runs the new list: mixed.
        const step = output.slice(output.indexOf('== scale step 5 -> 4'))
        if (
          output.includes('== scale step 5 -> 4') &&
          (step.match(/restarting zk-zookeeper-\d \(follower\)/g) ?? []).length >= 2 &&
          child.exitCode === null
        ) {
          process.kill(-child.pid!, 'SIGKILL')
          resolve(output)
        }
      })
      child.stderr!.resume()
    })
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    await killed
    expect(await exited).toBeNull()
    expect(output).toContain('== scale step 5 -> 4')
    // Left behind: servers on two lists (one voter apart), the fifth pod still there.
    const revisions = new Set(
      (await new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig).list<Pod>('pods', 'zk', 'app.kubernetes.io/name=zookeeper')).map(
        p => p.metadata.labels?.['controller-revision-hash']
      )
    )
    expect(revisions.size).toBe(2)
    const resumed = await rolloutNow()
    expect(resumed.ready).toHaveLength(3)
    expect(resumed.scaling?.sizes).toEqual([5, 4, 3])
    await new Promise(r => setTimeout(r, 2000))
    const checked = await expectNoAcknowledgedWriteLost([...[0, 1, 2].map(i => world.sandbox.podAddress('zk', pod(i))), world.observers[0].address])
    console.log(`acknowledged writes checked on every server and the observer after all tests: ${checked}`)
  })

  afterAll(async () => {
    await writer?.stop()
    const sampled = await leaders?.stop()
    // Sampled from every server the whole time, faults included: never two leaders at once.
    expect(sampled?.twoLeaders).toEqual([])
    expect(sampled?.samples).toBeGreaterThan(50)
  }, 60_000)
})
