// listAndWatch leaves no kubectl behind: once it has settled (timeout or abort) it starts no new
// `kubectl get --raw ...watch=true` child and the live one is killed, whether it settled while
// the list was in flight, inside onChange, or during the backoff sleep after refused watches.
// Real kubectl against the sandbox's real API server (through its fault proxy); kubectl is
// wrapped in a shell script that records each child's PID (exec keeps it) before running it.
// Loopback block 127.0.76.x (addressBlocks.sandboxBlocks.kubeWatchChildren).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { listAndWatch } from '../../workflows-lib/src/kube/watch.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { addressBlocks } from '../support/addresses.js'
import { useSandboxToolEnv } from '../support/kube.js'
import { isProcessAlive } from '../support/processes.js'
import { removeScanned } from '../support/secret-hygiene.js'

const namespaces = ['abort-in-list', 'timeout-in-list', 'abort-in-backoff', 'timeout-in-backoff']

let sandbox: Sandbox
let dir: string
const wrappers: CountingKubectl[] = []

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: addressBlocks.sandboxBlocks.kubeWatchChildren, faultProxy: true, namespaces })
  useSandboxToolEnv(sandbox)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-watch-children-'))
}, 120_000)

afterEach(() => sandbox.proxy!.clearRules())

afterAll(async () => {
  // A leaked watch (what this file catches) must not outlive the file, whatever the verdict.
  for (const pid of wrappers.flatMap(w => w.alive())) process.kill(pid, 'SIGKILL')
  await sandbox?.stop()
  if (dir) removeScanned(dir)
}, 60_000)

const delay = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

interface Child {
  pid: number
  watch: boolean
}

/**
 * A Kubectl whose binary is a wrapper script: it appends "<pid> watch|list" to a log and execs
 * the real kubectl. While refuseWatches is on, a watch call exits 1 at once instead, as kubectl
 * does when the server refuses the watch, and in a few milliseconds, so the timing of the
 * backoff sleeps between attempts is known.
 */
class CountingKubectl {
  readonly kubectl: Kubectl
  private readonly log: string
  private readonly refuse: string

  constructor(name: string) {
    this.log = path.join(dir, `${name}.children`)
    this.refuse = path.join(dir, `${name}.refuse-watches`)
    const wrapper = path.join(dir, `${name}-kubectl`)
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh
case "$*" in *watch=true*) kind=watch ;; *) kind=list ;; esac
echo "$$ $kind" >> '${this.log}'
if [ "$kind" = watch ] && [ -e '${this.refuse}' ]; then echo 'error: watch refused by the test' >&2; exit 1; fi
exec '${sandbox.kubectl}' "$@"
`,
      { mode: 0o755 }
    )
    this.kubectl = new Kubectl(wrapper, sandbox.kubeconfig)
    wrappers.push(this)
  }

  children(): Child[] {
    if (!fs.existsSync(this.log)) return []
    return fs
      .readFileSync(this.log, 'utf8')
      .split('\n')
      .map(line => /^(\d+) (watch|list)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(m => ({ pid: Number(m[1]), watch: m[2] === 'watch' }))
  }

  watches(): Child[] {
    return this.children().filter(c => c.watch)
  }

  /** PIDs of recorded children still running. */
  alive(): number[] {
    return this.children()
      .map(c => c.pid)
      .filter(isProcessAlive)
  }

  set refuseWatches(on: boolean) {
    if (on) fs.writeFileSync(this.refuse, '')
    else fs.rmSync(this.refuse, { force: true })
  }
}

const configMaps = (namespace: string): string => `/api/v1/namespaces/${namespace}/configmaps`

describe('listAndWatch after it settled', () => {
  it('starts no kubectl at all when the signal is already aborted', async () => {
    const k = new CountingKubectl('aborted-before')
    const reason = new Error('aborted before the start')
    const watching = listAndWatch(k.kubectl, {
      path: configMaps('abort-in-list'),
      what: 'configmaps',
      signal: AbortSignal.abort(reason),
      timeoutMs: 60_000,
      timeoutError: () => new Error('timeout'),
      onChange: () => {
        throw new Error('onChange called')
      }
    })
    await expect(watching).rejects.toBe(reason)
    await delay(500)
    expect(k.children()).toEqual([])
  })

  it('starts no watch when onChange aborts on the first list', async () => {
    const k = new CountingKubectl('abort-in-list')
    const abort = new AbortController()
    const reason = new Error('aborted from onChange')
    let calls = 0
    let watchesAtAbort = -1
    const watching = listAndWatch(k.kubectl, {
      path: configMaps('abort-in-list'),
      what: 'configmaps',
      signal: abort.signal,
      timeoutMs: 60_000,
      timeoutError: () => new Error('timeout'),
      onChange: () => {
        calls++
        // What wait-ready does when the first list already shows a crash loop.
        watchesAtAbort = k.watches().length
        abort.abort(reason)
        return false
      }
    })
    await expect(watching).rejects.toBe(reason)
    await delay(1500)
    expect(watchesAtAbort).toBe(0)
    expect(k.watches()).toEqual([])
    expect(k.alive()).toEqual([])
    expect(calls).toBe(1)
  })

  it('starts no watch and calls no onChange when the timeout fires while the list is in flight', async () => {
    const k = new CountingKubectl('timeout-in-list')
    // The list answers after 2 s, long after the 500 ms timeout.
    sandbox.proxy!.addRule({ path: /^\/api\/v1\/namespaces\/timeout-in-list\/configmaps/, watch: false, delayMs: 2000, times: 1 })
    const timeout = new Error('timeout')
    let calls = 0
    const started = Date.now()
    const watching = listAndWatch(k.kubectl, {
      path: configMaps('timeout-in-list'),
      what: 'configmaps',
      timeoutMs: 500,
      timeoutError: () => timeout,
      onChange: () => {
        calls++
        return false
      }
    })
    await expect(watching).rejects.toBe(timeout)
    expect(Date.now() - started).toBeLessThan(1500)
    // The list child ends with its (late) answer; a watch, if any, would start right after.
    const [list] = k.children()
    expect(list).toEqual({ pid: expect.any(Number), watch: false })
    await until('the list to end', () => !isProcessAlive(list.pid))
    await delay(1000)
    expect(k.watches()).toEqual([])
    expect(k.alive()).toEqual([])
    expect(calls).toBe(0)
  })

  it('starts no watch after an abort during the backoff sleep', async () => {
    const k = new CountingKubectl('abort-in-backoff')
    // Three watches answered 500 (kubectl exits at once): sleeps of 200, 400, then 800 ms.
    // A fourth watch would be let through and live on.
    const refused = sandbox.proxy!.addRule({
      path: /^\/api\/v1\/namespaces\/abort-in-backoff\/configmaps/,
      watch: true,
      respond: { status: 500 },
      times: 3
    })
    const abort = new AbortController()
    const reason = new Error('aborted during backoff')
    const watching = listAndWatch(k.kubectl, {
      path: configMaps('abort-in-backoff'),
      what: 'configmaps',
      signal: abort.signal,
      timeoutMs: 60_000,
      timeoutError: () => new Error('timeout'),
      onChange: () => false
    })
    const settled = watching.then(
      () => 'resolved',
      (e: unknown) => e
    )
    await until('three refused watches to end', () => k.watches().length === 3 && k.alive().length === 0)
    await delay(150) // well inside the 800 ms sleep that follows the third
    abort.abort(reason)
    expect(await settled).toBe(reason)
    await delay(2000)
    expect(refused.hits).toBe(3)
    expect(k.watches()).toHaveLength(3)
    expect(k.alive()).toEqual([])
  })

  it('starts no watch after a timeout during the backoff sleep', async () => {
    const k = new CountingKubectl('timeout-in-backoff')
    // Refused watches take milliseconds, so attempts start about 0, 0.2, 0.6, 1.4, 3.0 and 5.0 s
    // after the list: a 4 s timeout fires in a sleep. Then watches are let through, so one
    // started after the timeout would live on.
    k.refuseWatches = true
    const timeout = new Error('timeout')
    let duringSleep: boolean | undefined
    let watchesAtTimeout = -1
    const watching = listAndWatch(k.kubectl, {
      path: configMaps('timeout-in-backoff'),
      what: 'configmaps',
      timeoutMs: 4000,
      timeoutError: () => {
        watchesAtTimeout = k.watches().length
        duringSleep = watchesAtTimeout > 0 && k.alive().length === 0
        k.refuseWatches = false
        return timeout
      },
      onChange: () => false
    })
    await expect(watching).rejects.toBe(timeout)
    await delay(2500) // longer than the longest sleep (2 s)
    expect(duringSleep).toBe(true)
    expect(watchesAtTimeout).toBeGreaterThanOrEqual(4)
    expect(k.watches()).toHaveLength(watchesAtTimeout)
    expect(k.alive()).toEqual([])
  })
})
