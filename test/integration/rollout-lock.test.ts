// The in-cluster rollout lock (a coordination.k8s.io/v1 Lease) against a real API server: mutual
// exclusion between holders, waiting and its timeout, take-over of an expired lease (a holder
// SIGKILLed mid-rollout), re-entrant joins, renewal, a lost lease, the built lock action as a
// runner runs it, and rollout() holding the lock across its steps.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import type { Helm } from '../../workflows-lib/src/kube/helm.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import {
  acquireLease,
  holderIdentity,
  LockLostError,
  LockTimeoutError,
  microTime,
  withEnvironmentLock,
  type HeldLease,
  type Lease
} from '../../workflows-lib/src/lock/index.js'
import { useTerminalLog } from '../../workflows-lib/src/output/log.js'
import { rollout } from '../../workflows-lib/src/rollout/rollout.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { addressBlocks } from '../support/addresses.js'
import { repoRoot, writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, productClients, roots, sandboxValues, useSandboxToolEnv } from '../support/kube.js'
import { runActionDist } from '../support/run-action.js'

let sandbox: Sandbox
let kubectl: Kubectl
let helm: Helm
let toolEnv: Record<string, string>
const logLines: string[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  // Delay mode (no ZooKeeper processes): only the rollout() test deploys pods at all.
  sandbox = await startSandbox({ addressBlock: addressBlocks.sandboxBlocks.leaseLock, loadBalancer: { delayMs: 200 } })
  toolEnv = useSandboxToolEnv(sandbox)
  ;({ kubectl, helm } = productClients(sandbox, sandbox.helm3))
  useTerminalLog(text => logLines.push(text.replace(/\n$/, '')), { verbose: false })
}, 120_000)

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await sandbox?.stop()
})

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const LEASE = 'zk-rollout-zk'

async function environment(namespace: string): Promise<Environment> {
  return loadEnvironment(writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk' }), { name: namespace, values: sandboxValues }))
}

async function readLease(namespace: string): Promise<Lease | undefined> {
  return kubectl.getOptional<Lease>('leases.coordination.k8s.io', LEASE, namespace)
}

/** What a promise rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    value => ({ value }),
    (error: unknown) => ({ error })
  )
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  return outcome.error as Error
}

describe('rollout lock (Lease)', () => {
  it('two holders starting at once: one holds it, the other waits and runs after its release, never overlapping', async () => {
    const namespace = 'lock-race'
    expect(await kubectl.getOptional('namespace', namespace)).toBeUndefined()
    const env = await environment(namespace)
    const sections: { holder: string; start: number; end: number; leaseHolder?: string }[] = []
    const critical = (holder: string): Promise<void> =>
      withEnvironmentLock(
        env,
        kubectl,
        async lock => {
          const start = Date.now()
          expect(lock.owned).toBe(true)
          const leaseHolder = (await readLease(namespace))?.spec?.holderIdentity
          await sleep(1500)
          sections.push({ holder, start, end: Date.now(), leaseHolder })
        },
        { holder, leaseDurationSeconds: 3, pollMs: 200 }
      )
    const from = logLines.length
    await Promise.all([critical('holder A'), critical('holder B')])

    expect(sections.map(s => s.holder).sort()).toEqual(['holder A', 'holder B'])
    const [first, second] = [...sections].sort((a, b) => a.start - b.start)
    // The critical sections never overlap: the second starts only after the first ended.
    expect(second.start).toBeGreaterThanOrEqual(first.end)
    for (const s of sections) expect(s.leaseHolder).toBe(s.holder)
    // The second waited for the first, by name, and said so.
    const lines = logLines.slice(from)
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^waiting for the rollout lock "${namespace}/${LEASE}" held by "${literally(first.holder)}" since `))
    )
    expect(lines.filter(l => /^waiting for the rollout lock/.test(l) && l.includes(`"${second.holder}"`))).toEqual([])
    // The lock created its namespace (a first install has none), and the lease ends released.
    expect(await kubectl.getOptional('namespace', namespace)).toBeDefined()
    const lease = await readLease(namespace)
    expect(lease?.spec?.holderIdentity ?? '').toBe('')
    expect(lease?.spec?.leaseTransitions).toBe(1)
  })

  it('a waiter with a short timeout fails naming the holder, when it was renewed, and how to free it', async () => {
    const namespace = 'lock-timeout'
    const holder = await acquireLease({ kubectl, namespace, name: LEASE, holder: 'https://example.test/runs/1 job deploy', pollMs: 200 })
    try {
      const started = Date.now()
      const error = await rejection(acquireLease({ kubectl, namespace, name: LEASE, holder: 'laptop', waitTimeoutMs: 1500, pollMs: 200 }))
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
      expect(error).toBeInstanceOf(LockTimeoutError)
      expect(error.message).toMatch(
        /^the rollout lock "lock-timeout\/zk-rollout-zk" is still held by "https:\/\/example\.test\/runs\/1 job deploy" after waiting 1500ms \(acquired \S+, last renewed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\)/
      )
      expect(error.message).toContain('its lease expires 60 s after its last renewal')
      expect(error.message).toContain('kubectl delete lease "zk-rollout-zk" --namespace "lock-timeout"')
      // The waiter took nothing.
      expect((await readLease(namespace))?.spec?.holderIdentity).toBe('https://example.test/runs/1 job deploy')
    } finally {
      await holder.release()
    }
  })

  it('an expired lease (a crashed holder: old renewTime) is taken over at once and leaseTransitions increments; a live one is not', async () => {
    const namespace = 'lock-expired'
    await sandbox.createNamespace(namespace)
    const lease = (holder: string, renewedAgoMs: number): string =>
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: LEASE, namespace },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: 60,
          acquireTime: microTime(Date.now() - 300_000),
          renewTime: microTime(Date.now() - renewedAgoMs),
          leaseTransitions: 4
        }
      })
    // Renewed 30 s ago with a 60 s lease: alive, so a waiter that does not wait gets nothing.
    await kubectl.run(['create', '-f', '-'], { input: lease('alive run', 30_000) })
    expect(await rejection(acquireLease({ kubectl, namespace, name: LEASE, holder: 'next run', waitTimeoutMs: 0 }))).toBeInstanceOf(LockTimeoutError)
    await kubectl.run(['delete', 'lease', LEASE, '-n', namespace])
    // Renewed 120 s ago with a 60 s lease: its holder is gone.
    await kubectl.run(['create', '-f', '-'], { input: lease('crashed run', 120_000) })
    const before = Date.now()
    const held = await acquireLease({ kubectl, namespace, name: LEASE, holder: 'next run', waitTimeoutMs: 0 })
    try {
      expect(held.owned).toBe(true)
      const now = await readLease(namespace)
      expect(now?.spec).toMatchObject({ holderIdentity: 'next run', leaseTransitions: 5, leaseDurationSeconds: 60 })
      expect(Date.parse(now!.spec!.acquireTime!)).toBeGreaterThanOrEqual(before - 1000)
    } finally {
      await held.release()
    }
  })

  it('a holder killed with SIGKILL stops renewing; a waiter takes over only after its lease expired', async () => {
    const namespace = 'lock-killed'
    const moduleUrl = new URL('../../workflows-lib/src/lock/index.ts', import.meta.url).href
    const kubectlUrl = new URL('../../workflows-lib/src/kube/kubectl.ts', import.meta.url).href
    // A separate process holding the lock (3 s lease, renewed every second) until it is killed.
    const code = `
      const { acquireLease } = await import(${JSON.stringify(moduleUrl)})
      const { Kubectl } = await import(${JSON.stringify(kubectlUrl)})
      const kubectl = new Kubectl(${JSON.stringify(sandbox.kubectl)}, ${JSON.stringify(sandbox.kubeconfig)})
      await acquireLease({ kubectl, namespace: ${JSON.stringify(namespace)}, name: ${JSON.stringify(LEASE)}, holder: 'doomed run', leaseDurationSeconds: 3 })
      process.stdout.write('held\\n')
      setInterval(() => undefined, 1000)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repoRoot,
      env: { ...sandbox.env, GITHUB_ACTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString()
        if (/^held$/m.test(stdout)) resolve()
      })
      child.on('exit', code => reject(new Error(`holder exited (${code}) before holding the lock: ${stderr}`)))
    })

    const from = logLines.length
    let acquiredAt = 0
    const waiter = acquireLease({
      kubectl,
      namespace,
      name: LEASE,
      holder: 'next run',
      leaseDurationSeconds: 3,
      waitTimeoutMs: 30_000,
      pollMs: 200
    }).then(lock => ((acquiredAt = Date.now()), lock))
    // Alive for 4 s (longer than its 3 s lease): its renewals keep the waiter out.
    await sleep(4000)
    expect(acquiredAt).toBe(0)
    child.kill('SIGKILL')
    const killedAt = Date.now()
    await new Promise(resolve => child.once('exit', resolve))
    const last = await readLease(namespace)
    expect(last?.spec?.holderIdentity).toBe('doomed run')
    const lock = await waiter
    try {
      expect(acquiredAt).toBeGreaterThan(killedAt)
      // Not before its last renewal plus its 3 s lease.
      expect(acquiredAt).toBeGreaterThanOrEqual(Date.parse(last!.spec!.renewTime!) + 3000)
      const now = await readLease(namespace)
      expect(now?.spec).toMatchObject({ holderIdentity: 'next run', leaseTransitions: 1 })
      expect(logLines.slice(from)).toContainEqual(expect.stringMatching(/the lease of "doomed run" expired at .*; taking it over$/))
    } finally {
      await lock.release()
    }
  })

  it('a re-entrant join by the same holder neither waits nor releases the owner’s lock', async () => {
    const namespace = 'lock-join'
    const env = await environment(namespace)
    const owner = await acquireLease({ kubectl, namespace, name: LEASE, holder: 'composite run', leaseDurationSeconds: 3, pollMs: 200 })
    try {
      const started = Date.now()
      let joined: HeldLease | undefined
      await withEnvironmentLock(
        env,
        kubectl,
        async lock => {
          joined = lock
          // Long enough for both the owner and the joiner to renew (every second) side by side.
          await sleep(2500)
        },
        { holder: 'composite run', leaseDurationSeconds: 3, waitTimeoutMs: 0 }
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(joined?.owned).toBe(false)
      expect(joined?.signal.aborted).toBe(false)
      // Still the owner's: not released, no transition, and another holder is kept out.
      expect((await readLease(namespace))?.spec).toMatchObject({ holderIdentity: 'composite run', leaseTransitions: 0 })
      expect(
        await rejection(acquireLease({ kubectl, namespace, name: LEASE, holder: 'other run', waitTimeoutMs: 1000, pollMs: 200 }))
      ).toBeInstanceOf(LockTimeoutError)
      expect(owner.signal.aborted).toBe(false)
    } finally {
      await owner.release()
    }
    expect((await readLease(namespace))?.spec?.holderIdentity ?? '').toBe('')
  })

  it('renewal keeps a long holder’s 3 s lease alive for 8 s against a waiter', async () => {
    const namespace = 'lock-renew'
    const holder = await acquireLease({ kubectl, namespace, name: LEASE, holder: 'long run', leaseDurationSeconds: 3 })
    try {
      const acquired = Date.parse((await readLease(namespace))!.spec!.acquireTime!)
      const waiter = rejection(
        acquireLease({ kubectl, namespace, name: LEASE, holder: 'impatient run', leaseDurationSeconds: 3, waitTimeoutMs: 7000, pollMs: 250 })
      )
      await sleep(8000)
      const error = await waiter
      expect(error).toBeInstanceOf(LockTimeoutError)
      expect(error.message).toContain('held by "long run"')
      const lease = await readLease(namespace)
      expect(lease?.spec?.holderIdentity).toBe('long run')
      // Renewed all along: the last renewal is recent, well past the 3 s the lease would last alone.
      expect(Date.parse(lease!.spec!.renewTime!)).toBeGreaterThan(acquired + 6000)
      expect(Date.now() - Date.parse(lease!.spec!.renewTime!)).toBeLessThan(3000)
      expect(holder.signal.aborted).toBe(false)
    } finally {
      await holder.release()
    }
  })

  it('a holder whose lease was taken fails loudly (lost rejects, signal aborts) and leaves the new holder’s lease alone', async () => {
    const namespace = 'lock-lost'
    const env = await environment(namespace)
    const from = logLines.length
    const work = withEnvironmentLock(
      env,
      kubectl,
      async lock => {
        // Someone overwrites the lease (by hand, or a take-over after a stall).
        // Unconditional (no resourceVersion), so the victim's own renewals cannot make it conflict.
        const lease = (await readLease(namespace))!
        const metadata = { name: lease.metadata.name, namespace }
        await kubectl.run(['replace', '-f', '-'], {
          input: JSON.stringify({ ...lease, metadata, spec: { ...lease.spec, holderIdentity: 'intruder' } })
        })
        await sleep(10_000)
        return lock.signal.aborted
      },
      { holder: 'victim run', leaseDurationSeconds: 3 }
    )
    const started = Date.now()
    const error = await rejection(work)
    expect(Date.now() - started).toBeLessThan(6000)
    expect(error).toBeInstanceOf(LockLostError)
    expect(error.message).toMatch(/^lost the rollout lock "lock-lost\/zk-rollout-zk" held by "victim run": it is now held by "intruder"/)
    expect(logLines.slice(from)).toContain(`warning: ${error.message}`)
    // The release in finally did not clear the intruder's lease.
    expect((await readLease(namespace))?.spec?.holderIdentity).toBe('intruder')
  })
})

describe('the lock action, built, as the root composite runs it', () => {
  const namespace = 'lock-action'
  let entry: string
  let envDir: string

  beforeAll(async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'zk-lock-action-'))
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        ['node_modules/@vercel/ncc/dist/ncc/cli.js', 'build', 'actions/lock/src/index.ts', '-o', out, '-q', '-t', '--target', 'es2022'],
        { cwd: repoRoot },
        (error, _stdout, stderr) => (error ? reject(new Error(`ncc build of actions/lock failed: ${stderr}`)) : resolve())
      )
    )
    entry = path.join(out, 'index.js')
    envDir = writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk' }), { name: namespace, values: sandboxValues })
  }, 180_000)

  const lockAction = (holder: string, mode: string, extra: Record<string, string> = {}): ReturnType<typeof runActionDist> =>
    runActionDist(
      'lock',
      { environment: envDir, kubeconfig: readFileSync(sandbox.kubeconfig, 'utf8'), kubectl: sandbox.kubectl, mode, ...extra },
      { entry, env: { ...toolEnv, ZK_ROLLOUT_LOCK_HOLDER: holder }, timeoutMs: 120_000 }
    )

  it('acquire leaves it held; another holder fails or waits; release frees it for the waiter', async () => {
    const acquire = await lockAction('run-1', 'acquire')
    expect(acquire.stdout).not.toContain('::error')
    expect(acquire.exitCode).toBe(0)
    expect(acquire.outputs).toEqual({ holder: 'run-1' })
    // The process has exited; the lease stays held for the next steps, for 60 s without renewal.
    expect((await readLease(namespace))?.spec).toMatchObject({ holderIdentity: 'run-1', leaseDurationSeconds: 60 })

    // A rollout from elsewhere gives up after its lock-timeout, naming the holder.
    const refused = await lockAction('run-2', 'acquire', { 'lock-timeout': '2s' })
    expect(refused.exitCode).toBe(1)
    expect(refused.stdout).toMatch(/::error::lock: the rollout lock "lock-action\/zk-rollout-zk" is still held by "run-1" after waiting 2s/)
    expect(refused.outputs.error).toContain('held by "run-1"')
    // Its release step (if: always()) leaves run-1's lease alone.
    const notMine = await lockAction('run-2', 'release')
    expect(notMine.exitCode).toBe(0)
    expect(notMine.stdout).toContain('held by "run-1", not by "run-2": left alone')
    expect((await readLease(namespace))?.spec?.holderIdentity).toBe('run-1')

    // run-2 waits; run-1's release lets it in.
    let waiterDoneAt = 0
    const waiter = lockAction('run-2', 'acquire', { 'lock-timeout': '60s' }).then(r => ((waiterDoneAt = Date.now()), r))
    await sleep(2500)
    expect(waiterDoneAt).toBe(0)
    const releasedAt = Date.now()
    const release = await lockAction('run-1', 'release')
    expect(release.exitCode).toBe(0)
    expect(release.stdout).toContain('released by "run-1"')
    const second = await waiter
    expect(second.exitCode).toBe(0)
    expect(waiterDoneAt).toBeGreaterThan(releasedAt)
    expect(second.stdout).toMatch(/waiting for the rollout lock "lock-action\/zk-rollout-zk" held by "run-1" since /)
    expect((await readLease(namespace))?.spec).toMatchObject({ holderIdentity: 'run-2', leaseTransitions: 1 })
    expect((await lockAction('run-2', 'release')).exitCode).toBe(0)
    expect((await readLease(namespace))?.spec?.holderIdentity ?? '').toBe('')
  })

  it('refuses a lock-timeout out of range before touching the cluster', async () => {
    const run = await lockAction('run-3', 'acquire', { 'lock-timeout': '7h' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('input "lock-timeout": 7h is out of range: use 1s to 6h')
  })
})

describe('zk-rollout rollout', () => {
  it('holds the lock across all its steps: another holder waits until the rollout is done', async () => {
    const namespace = 'lock-rollout'
    const env = await loadEnvironment(
      writeEnvironment(
        `kubernetes: { namespace: ${namespace}, release: zk }
ensemble: { servers: 1, allowUnsafeSize: true }
expose: { serviceName: "{release}-lb-{ordinal}" }
timeouts: { podReady: 90s, loadBalancer: 60s }
`,
        { name: namespace, values: sandboxValues }
      )
    )
    let rolloutDoneAt = 0
    const done = rollout({ env, kubectl, helm, roots }).then(r => ((rolloutDoneAt = Date.now()), r))
    done.catch(() => undefined)
    // Wait until the rollout holds the lock (it takes it before deploy-chart).
    const deadline = Date.now() + 30_000
    let lease: Lease | undefined
    while (!(lease = await readLease(namespace))?.spec?.holderIdentity && Date.now() < deadline) await sleep(100)
    expect(lease?.spec?.holderIdentity).toBe(holderIdentity())

    const from = logLines.length
    const other = await acquireLease({ kubectl, namespace, name: LEASE, holder: 'other rollout', waitTimeoutMs: 120_000, pollMs: 200 })
    const otherAt = Date.now()
    try {
      const report = await done
      expect(report.chart).toMatchObject({ release: 'zk', changed: true })
      expect(report.ready.map(r => r.pod)).toEqual(['zk-zookeeper-0'])
      expect(rolloutDoneAt).toBeGreaterThan(0)
      expect(otherAt).toBeGreaterThanOrEqual(rolloutDoneAt)
      expect(logLines.slice(from)).toContainEqual(
        expect.stringMatching(
          new RegExp(`^waiting for the rollout lock "${namespace}/${LEASE}" held by ${literally(JSON.stringify(holderIdentity()))} since `)
        )
      )
    } finally {
      await other.release()
    }
  })
})
