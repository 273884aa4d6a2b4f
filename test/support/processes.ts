// A registry of the processes a test file starts (ZooKeeper, sshd, etcd, apiserver, ...), so
// afterAll can stop every one of them by process group, even when a test failed half-way.
import { spawn } from 'node:child_process'
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { basename, dirname } from 'node:path'

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface TrackedProcess {
  readonly name: string
  /** Also the process group id: each tracked process leads its own group. */
  readonly pid: number
  readonly command: readonly string[]
  readonly logFile: string
  /** Settles when the group leader has exited. */
  readonly exited: Promise<ExitStatus>
  /** The leader's exit status, or undefined while it runs. */
  exitStatus(): ExitStatus | undefined
}

export interface SpawnTrackedOptions {
  /** stdout and stderr are appended here (a restart keeps the earlier output). */
  logFile: string
  /** For messages; defaults to the command's base name. */
  name?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
}

const registry = new Set<TrackedProcess>()

/**
 * The test run's orphan marker (test/support/reaper/global-setup.mjs), for a child started with an
 * environment of its own: the reaper kills what carries it once the run is gone.
 */
export function ownerEnv(): Record<string, string> {
  const owner = process.env.ZK_ROLLOUT_TEST_OWNER
  return owner ? { ZK_ROLLOUT_TEST_OWNER: owner } : {}
}

/** Starts a process in its own process group, with its output in a log file, and registers it. */
export async function spawnTracked(cmd: string, args: readonly string[], opts: SpawnTrackedOptions): Promise<TrackedProcess> {
  mkdirSync(dirname(opts.logFile), { recursive: true })
  const out = openSync(opts.logFile, 'a')
  const name = opts.name ?? basename(cmd)
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env && { ...opts.env, ...ownerEnv() },
      detached: true, // own process group, so stopping it also stops anything it forked
      stdio: ['ignore', out, out]
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', err => reject(new Error(`Could not start ${name} (${cmd}): ${err.message}`)))
    })
    let status: ExitStatus | undefined
    const exited = new Promise<ExitStatus>(resolve =>
      child.once('exit', (code, signal) => {
        status = { code, signal }
        resolve(status)
      })
    )
    // A process left running must not keep jest alive; listTrackedAlive() is what catches leaks.
    child.unref()
    const tracked: TrackedProcess = {
      name,
      pid: child.pid as number,
      command: [cmd, ...args],
      logFile: opts.logFile,
      exited,
      exitStatus: () => status
    }
    registry.add(tracked)
    registerWithReaper(tracked.pid)
    return tracked
  } finally {
    closeSync(out)
  }
}

/**
 * Stops a tracked process group: `signal` (SIGTERM) first, SIGKILL after `timeoutMs`, and waits
 * until no member of the group is left. Throws if the group outlives SIGKILL. A teardown whose
 * state is thrown away passes SIGKILL: a graceful exit costs a JVM ~0.35 s, kube-apiserver ~1.1 s.
 */
export async function stopTracked(proc: TrackedProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  // Children are unref'd so a forgotten one cannot keep jest alive; while we stop one, this
  // timer keeps a bare Node process (such as the sandbox CLI) alive until the exit is reaped.
  const keepAlive = setInterval(() => undefined, 1000)
  try {
    await stopGroup(proc, signal, timeoutMs)
  } finally {
    clearInterval(keepAlive)
  }
}

async function stopGroup(proc: TrackedProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (groupMembers(proc.pid).length > 0) {
    signalGroup(proc.pid, signal)
    if (!(await groupGone(proc.pid, timeoutMs))) {
      signalGroup(proc.pid, 'SIGKILL')
      if (!(await groupGone(proc.pid, 5000))) {
        throw new Error(`${proc.name} (process group ${proc.pid}) still runs after ${signal} and SIGKILL: pids ${groupMembers(proc.pid).join(', ')}`)
      }
    }
  }
  // The leader is our child: wait until Node has reaped it, so its exit status is known.
  if (proc.exitStatus() === undefined) await proc.exited
  registry.delete(proc)
}

// The reaper (test/support/reaper) kills these groups if the run dies before stopping them:
// sshd's listener re-executes itself without the environment that marks the rest.
function registerWithReaper(pgid: number): void {
  const groups = process.env.ZK_ROLLOUT_REAPER_GROUPS
  const started = startTime(pgid)
  if (groups && started) appendFileSync(groups, `${pgid} ${started}\n`)
}

/** Field 22 of /proc/<pid>/stat: with the PID, it names one process even after PID reuse. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Stops every registered process group; for afterAll. Reports all failures at once. */
export async function stopAllTracked(): Promise<void> {
  const results = await Promise.allSettled([...registry].map(proc => stopTracked(proc)))
  const failures = results.flatMap(r => (r.status === 'rejected' ? [String(r.reason)] : []))
  if (failures.length > 0) throw new Error(`Could not stop every test process:\n${failures.join('\n')}`)
}

/** Registered processes whose group still has a live member: empty after a clean teardown. */
export function listTrackedAlive(): TrackedProcess[] {
  return [...registry].filter(proc => groupMembers(proc.pid).length > 0)
}

/** A live process carrying a test run's orphan marker, with its command name (for messages). */
export interface MarkedProcess {
  pid: number
  comm: string
}

/**
 * Every live process that carries `owner` as its orphan marker, or belongs to a process group the
 * run registered while that group's leader still runs: what the reaper kills.
 */
export function listMarked(owner: string): MarkedProcess[] {
  const marker = Buffer.from(`\0ZK_ROLLOUT_TEST_OWNER=${owner}\0`)
  const groups = registeredGroups(path.join(os.tmpdir(), `zk-rollout-reaper-${owner}.groups`))
  const found: MarkedProcess[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (state === 'Z' || state === 'X') continue
      // environ is NUL-separated; a leading NUL lets the first variable match like the others.
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`), Buffer.from([0])])
      if (!environ.includes(marker) && !groups.has(Number(pgrp))) continue
      found.push({ pid: Number(entry), comm: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() })
    } catch {
      continue // exited while we looked
    }
  }
  return found
}

// The groups file's entries whose leader is still the process registered (not a reused PID).
function registeredGroups(file: string): Set<number> {
  const groups = new Set<number>()
  if (!existsSync(file)) return groups
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [pgid, started] = line.split(' ')
    if (pgid && startTime(Number(pgid)) === started) groups.add(Number(pgid))
  }
  return groups
}

/** The last `lines` lines of a process's log, for error messages. */
export function logTail(proc: Pick<TrackedProcess, 'logFile'>, lines = 40): string {
  try {
    return readFileSync(proc.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch (err) {
    return `(no log at ${proc.logFile}: ${(err as Error).message})`
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (groupMembers(pgid).length > 0) {
    if (Date.now() >= deadline) return false
    // A scan of /proc takes about a millisecond; a process killed with SIGKILL is gone in a few.
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return true
}

// Live (not zombie) members of a process group, from /proc: kill(-pgid, 0) would also count
// zombies that init has not reaped yet.
function groupMembers(pgid: number): number[] {
  const members: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so cut at the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry))
  }
  return members
}

/** The process exists and is not a zombie (a reparented child that init has yet to reap). */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}
