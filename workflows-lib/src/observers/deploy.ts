// Deploys the observer files to every observer VM over SSH, restarts only what changed (rolling),
// proves each restarted observer joined, and rolls a host back when it did not.
//
// Per host, everything goes over one SSH connection: one session compares and uploads (the files
// travel with the program, so an unchanged host costs a single session), and, only if
// something changed, one session swaps the files in, recreates the container and waits for
// `Mode: observer`, rolling back in that same session if it does not come.
// Uploads run on `concurrency` hosts at once; restarts on at most `maxUnavailable`. The rollout
// stops at the first host that fails verification: later hosts keep their current files and
// observers, and their staged uploads are removed.
import type { SecretFiles } from '../action/secret-file.js'
import type { Environment, ObserverHost } from '../environment/types.js'
import { OBSERVER_FILE_NAMES, renderObserverFiles, type ObserverFiles } from '../render/observer-files.js'
import { writeSshClientConfig, type SshCredentials } from '../ssh/client-config.js'
import { SshConnection } from '../ssh/connection.js'
import type { SshEndpoint } from '../ssh/target.js'
import { parseSrvr } from '../zookeeper/srvr.js'
import { forEachLimit } from './pool.js'
import { parseRemoteOutput, remoteProgram, type RemoteCommand, type RemoteReport } from './remote-script.js'
import type { DeployReport, ObserverResult } from './results.js'

export interface DeployObserversOptions {
  environment: Environment
  /** The ensemble's server addresses in ordinal order (expose-servers' `addresses` output). */
  servers: readonly string[]
  credentials: SshCredentials
  /** Holds the key, known_hosts, ssh_config and control sockets; the caller removes it. */
  secretFiles: SecretFiles
  /** Hosts compared and uploaded to at once. Default 4. */
  concurrency?: number
  /** Observers restarting at once. Default 1. */
  maxUnavailable?: number
  /** How long a restarted observer has to answer Mode: observer. Default: the environment's timeouts.observerJoin. */
  joinTimeoutMs?: number
  /** Compare only: report what would change, write and restart nothing. */
  dryRun?: boolean
  /** Overrides the environment's observers.ssh.jumpHost. */
  jumpHost?: SshEndpoint
  /** Progress lines for the job log. */
  log?: (line: string) => void
}

interface HostRun {
  host: ObserverHost
  files: ObserverFiles
  connection: SshConnection
  result: ObserverResult
  /** What the rolling phase must do on this host. */
  next?: 'apply' | 'start'
}

// Generous bounds for sessions that do not wait for ZooKeeper: they guard against a hung VM.
const UPLOAD_TIMEOUT_MS = 120_000
const COMPOSE_ALLOWANCE_MS = 180_000

export async function deployObservers(opts: DeployObserversOptions): Promise<DeployReport> {
  const started = Date.now()
  const env = opts.environment
  const observers = env.observers
  const log = opts.log ?? (() => undefined)
  const dryRun = opts.dryRun ?? false
  const joinTimeoutMs = opts.joinTimeoutMs ?? env.timeouts.observerJoinMs
  if (!observers || observers.hosts.length === 0) {
    return { environment: env.name, dryRun, results: [], ok: true, changed: false, rolledBack: [], durationMs: 0 }
  }
  // Rendering checks the server addresses: a bad list fails here, before any connection.
  const rendered = observers.hosts.map(host => ({ host, files: renderObserverFiles({ environment: env, observers, host, servers: opts.servers }) }))
  const config = writeSshClientConfig(opts.secretFiles, opts.credentials)
  const jumpHost = opts.jumpHost ?? observers.ssh.jumpHost
  const runs: HostRun[] = rendered.map(({ host, files }, i) => ({
    host,
    files,
    connection: new SshConnection(config, { host: host.host, port: observers.ssh.port, user: observers.ssh.user, jumpHost }, i),
    result: {
      id: host.id,
      host: host.host,
      status: 'ok',
      compared: false,
      changed: false,
      changedFiles: [],
      restarted: false,
      verified: false,
      rolledBack: false,
      durationMs: 0
    }
  }))

  const session = async (run: HostRun, command: RemoteCommand, timeoutMs: number): Promise<RemoteReport> => {
    const t0 = Date.now()
    try {
      const program = remoteProgram(command, {
        directory: observers.directory,
        clientPort: observers.clientPort,
        joinTimeoutMs,
        dryRun,
        files: run.files
      })
      const { code, stdout, stderr } = await run.connection.run(program, {
        timeoutMs,
        onStderrLine: line => log(`[${run.host.id} ${run.host.host}] ${line}`)
      })
      const report = parseRemoteOutput(stdout)
      if (!report.done && report.error === undefined) {
        const tail = stderr.trim().split('\n').slice(-3).join(' ')
        report.error = `the ${command} step stopped before its end (exit status ${code})${tail ? `: ${tail}` : ''}`
      }
      return report
    } finally {
      run.result.durationMs += Date.now() - t0
    }
  }

  const fail = (run: HostRun, message: string): void => {
    run.result.status = 'failed'
    run.result.message = message
    log(`[${run.host.id} ${run.host.host}] failed: ${message}`)
  }

  // Phase 1: compare and upload, `concurrency` hosts at a time.
  await forEachLimit(runs, opts.concurrency ?? 4, async run => {
    try {
      const report = await session(run, 'stage', UPLOAD_TIMEOUT_MS)
      const r = run.result
      r.compared = OBSERVER_FILE_NAMES.every(f => report.files[f] !== undefined)
      if (!r.compared) return fail(run, report.error ?? 'the VM did not report its files')
      r.changedFiles = OBSERVER_FILE_NAMES.filter(f => report.files[f] !== 'same')
      r.changed = r.changedFiles.length > 0
      const serving = readSrvr(r, report.srvr)
      if (report.error !== undefined) return fail(run, report.error)
      if (report.events.includes('unchanged')) {
        if (serving) {
          r.verified = true
          log(`[${run.host.id} ${run.host.host}] unchanged, serving as observer (zxid ${r.zxid})`)
        } else if (dryRun) {
          r.message = `files unchanged, but the observer is not serving (${describeSrvr(report.srvr)}): a deploy would start it`
        } else {
          run.next = 'start'
          log(`[${run.host.id} ${run.host.host}] files unchanged, but the observer is not serving (${describeSrvr(report.srvr)}): it will be started`)
        }
      } else if (report.events.includes('would-change')) {
        r.message = `would ${Object.values(report.files).every(s => s === 'new') ? 'deploy' : 'replace'} ${r.changedFiles.join(', ')} and recreate the observer`
      } else if (report.events.includes('staged')) {
        run.next = 'apply'
        log(`[${run.host.id} ${run.host.host}] uploaded ${r.changedFiles.join(', ')}; waiting for its turn to restart`)
      } else {
        fail(run, `unexpected answer from the VM: ${report.events.join(' ') || '(none)'}`)
      }
    } catch (error) {
      fail(run, (error as Error).message)
    }
  })

  const apply = async (run: HostRun): Promise<void> => {
    const report = await session(run, 'apply', 2 * joinTimeoutMs + COMPOSE_ALLOWANCE_MS)
    const r = run.result
    r.compose = report.compose
    r.restarted = report.events.includes('restarted')
    readSrvr(r, report.srvr)
    if (report.events.includes('verified')) {
      r.verified = true
      log(`[${run.host.id} ${run.host.host}] verified: Mode: observer, zxid ${r.zxid}`)
      return
    }
    // Nothing was replaced: the host keeps its files and its running observer.
    if (!report.events.includes('replaced')) return fail(run, report.error ?? 'unknown failure')
    const [firstWait, rollbackWait] = report.waitStates
    let why = report.events.includes('compose-failed')
      ? `${report.compose ?? 'docker compose'} up failed (its output is in the log above)`
      : `the observer did not answer Mode: observer within ${Math.ceil(joinTimeoutMs / 1000)} s (last: ${firstWait ?? 'unknown'})`
    if (report.events.includes('rolled-back')) {
      r.rolledBack = true
      why += report.events.includes('rollback-verified')
        ? `; rolled back to the previous files, and the observer serves again on them (Mode: observer, zxid ${r.zxid})`
        : `; rolled back to the previous files, but the observer did not come back on them either (${rollbackWait ?? report.error ?? 'compose failed'}): check the VM`
    } else if (report.events.includes('stopped')) {
      why += `; first deploy on this VM, so nothing to roll back to: the observer was stopped (compose down, volumes kept) and the new files moved to ${observers.directory}/.failed`
    } else if (report.error !== undefined) {
      why += `; then: ${report.error}`
    }
    fail(run, why)
  }

  const start = async (run: HostRun): Promise<void> => {
    const report = await session(run, 'start', joinTimeoutMs + COMPOSE_ALLOWANCE_MS)
    const r = run.result
    r.compose = report.compose
    r.restarted = report.events.includes('restarted')
    readSrvr(r, report.srvr)
    if (report.events.includes('verified')) {
      r.verified = true
      r.message = 'files unchanged; the observer was not serving and was started'
      return
    }
    fail(
      run,
      report.events.includes('not-verified')
        ? `files unchanged, but the observer did not answer Mode: observer within ${Math.ceil(joinTimeoutMs / 1000)} s after compose up (last: ${report.waitStates[0] ?? 'unknown'})`
        : (report.error ?? 'unknown failure')
    )
  }

  const skip = async (run: HostRun, cause: HostRun): Promise<void> => {
    run.result.status = 'skipped'
    run.result.message = `not restarted: the rollout stopped after observer ${cause.host.id} (${cause.host.host}) failed; this VM keeps its current files and observer`
    if (run.next !== 'apply') return
    try {
      const report = await session(run, 'discard', UPLOAD_TIMEOUT_MS)
      if (report.error !== undefined) run.result.message += `; removing the staged upload failed: ${report.error}`
    } catch (error) {
      run.result.message += `; removing the staged upload failed: ${(error as Error).message}`
    }
  }

  // Phase 2: restarts, rolling, in the environment's order.
  let stoppedBy: HostRun | undefined
  const pending = runs.filter(run => run.next !== undefined)
  await forEachLimit(pending, opts.maxUnavailable ?? 1, async run => {
    if (stoppedBy) return skip(run, stoppedBy)
    try {
      if (run.next === 'apply') await apply(run)
      else await start(run)
    } catch (error) {
      fail(run, (error as Error).message)
    }
    if (run.result.status === 'failed') stoppedBy ??= run
  })

  await Promise.all(runs.map(run => run.connection.close().catch(() => undefined)))

  const results = runs.map(run => run.result)
  return {
    environment: env.name,
    dryRun,
    results,
    ok: results.every(r => r.status === 'ok'),
    changed: results.some(r => r.changed),
    rolledBack: results.filter(r => r.rolledBack).map(r => r.host),
    durationMs: Date.now() - started
  }
}

/** Records mode and zxid from a srvr answer; true when it is a serving observer. */
function readSrvr(result: ObserverResult, srvr: string | undefined): boolean {
  if (!srvr) return false
  try {
    const status = parseSrvr(srvr)
    result.mode = status.mode
    result.zxid = `0x${status.zxid.toString(16)}`
    return status.mode === 'observer'
  } catch {
    result.mode = undefined
    result.zxid = undefined
    return false
  }
}

function describeSrvr(srvr: string | undefined): string {
  if (!srvr) return 'no answer on the client port'
  if (/not currently serving/.test(srvr)) return 'running, not serving'
  const mode = /^Mode: (.*)$/m.exec(srvr)
  return mode ? `Mode: ${mode[1]}` : 'unexpected answer to srvr'
}
