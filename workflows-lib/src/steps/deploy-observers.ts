// Step 4: the observer files to every observer VM over SSH, restarts only where they changed
// (rolling), proof that each restarted observer joined, and a rollback of a host that did not.
//
// Per host, everything goes over one SSH connection: one session compares and uploads (the files
// travel with the program, so an unchanged host costs a single session), and, only if
// something changed, one session swaps the files in, recreates the container and waits for
// `Mode: observer`, rolling back in that same session if it does not come (observers/remote-script.ts).
// Phase 1 (compare and upload) runs on `concurrency` hosts at once; phase 2 (restarts) on at most
// `maxUnavailable`. The rollout stops at the first host that fails verification: later hosts
// keep their current files and observers, and their staged uploads are removed.
import type { Environment, ObserverHost, Observers } from '../environment/types.js'
import { DEFAULT_CONCURRENCY, observerConnections, type JumpHostOverride } from '../observers/connections.js'
import { forEachLimit } from '../observers/pool.js'
import { parseRemoteOutput, remoteProgram, type RemoteCommand, type RemoteReport } from '../observers/remote-script.js'
import type { DeployReport, ObserverResult } from '../observers/results.js'
import { OBSERVER_FILE_NAMES, renderObserverFiles, type ObserverFiles } from '../render/observer-files.js'
import type { SecretFiles } from '../runner/secret-file.js'
import { writeSshClientConfig, type SshCredentials } from '../ssh/client-config.js'
import type { SshConnection } from '../ssh/connection.js'
import { parseSrvr } from '../zookeeper/srvr.js'

export type { JumpHostOverride } from '../observers/connections.js'

export { DEFAULT_CONCURRENCY } from '../observers/connections.js'

export interface DeployObserversOptions {
  environment: Environment
  /** The ensemble's server addresses in ordinal order (expose-servers' `addresses` output). */
  servers: readonly string[]
  /** Needed when the environment has observers. */
  credentials?: SshCredentials
  /** Holds the key, known_hosts, ssh_config and control sockets; the caller removes it. */
  secretFiles: SecretFiles
  /** Hosts compared and uploaded to at once. Default DEFAULT_CONCURRENCY. */
  concurrency?: number
  /** Observers restarting at once. Default 1. */
  maxUnavailable?: number
  /** How long a restarted observer has to answer Mode: observer. Default: the environment's timeouts.observerJoin. */
  joinTimeoutMs?: number
  /** Compare only: report what would change, write and restart nothing. */
  dryRun?: boolean
  /** Overrides the environment's observers.ssh.jumpHost. */
  jumpHost?: JumpHostOverride
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
  const dryRun = opts.dryRun ?? false
  if (!env.observers || env.observers.hosts.length === 0)
    return { environment: env.name, dryRun, results: [], ok: true, changed: false, rolledBack: [], durationMs: 0 }
  if (!opts.credentials)
    throw new Error(`environment ${env.name} has observers: an SSH private key and known_hosts are needed (host keys are always verified)`)
  const deploy = new ObserverDeploy(env, env.observers, opts)
  const runs = deploy.prepare(opts)
  try {
    await forEachLimit(runs, opts.concurrency ?? DEFAULT_CONCURRENCY, run => deploy.stageGuarded(run))
    await deploy.rollRestarts(
      runs.filter(run => run.next !== undefined),
      opts.maxUnavailable ?? 1
    )
  } finally {
    await Promise.all(runs.map(run => run.connection.close().catch(() => undefined)))
  }
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

/** The one-paragraph reason a deploy failed, host by host (the action's and the rollout's error). */
export function deployFailureMessage(report: DeployReport): string {
  const failed = report.results.filter(r => r.status === 'failed')
  const skipped = report.results.filter(r => r.status === 'skipped')
  return (
    `${failed.length} of ${report.results.length} observers failed` +
    (skipped.length > 0 ? `, ${skipped.length} not restarted because the rollout stopped` : '') +
    ':\n' +
    failed.map(r => `  ${r.id} (${r.host}): ${r.message}`).join('\n')
  )
}

class ObserverDeploy {
  private readonly log: (line: string) => void
  private readonly dryRun: boolean
  private readonly joinTimeoutMs: number

  constructor(
    private readonly env: Environment,
    private readonly observers: Observers,
    opts: DeployObserversOptions
  ) {
    this.log = opts.log ?? (() => undefined)
    this.dryRun = opts.dryRun ?? false
    this.joinTimeoutMs = opts.joinTimeoutMs ?? env.timeouts.observerJoinMs
  }

  /** Renders every host's files (a bad server list fails here, before any connection) and its connection. */
  prepare(opts: DeployObserversOptions): HostRun[] {
    const { observers } = this
    const rendered = observers.hosts.map(host => ({
      host,
      files: renderObserverFiles({ environment: this.env, observers, host, servers: opts.servers })
    }))
    const connections = observerConnections(observers, writeSshClientConfig(opts.secretFiles, opts.credentials!), opts.jumpHost)
    return rendered.map(({ host, files }, i) => ({
      host,
      files,
      connection: connections[i],
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
  }

  /** Phase 2: restarts, rolling, in the environment's order; the first failure stops the rest. */
  async rollRestarts(pending: HostRun[], maxUnavailable: number): Promise<void> {
    let stoppedBy: HostRun | undefined
    await forEachLimit(pending, maxUnavailable, async run => {
      if (stoppedBy) return this.skip(run, stoppedBy)
      try {
        if (run.next === 'apply') await this.apply(run)
        else await this.start(run)
      } catch (error) {
        this.fail(run, (error as Error).message)
      }
      if (run.result.status === 'failed') stoppedBy ??= run
    })
  }

  async stageGuarded(run: HostRun): Promise<void> {
    try {
      await this.stage(run)
    } catch (error) {
      this.fail(run, (error as Error).message)
    }
  }

  private async session(run: HostRun, command: RemoteCommand, timeoutMs: number): Promise<RemoteReport> {
    const t0 = Date.now()
    try {
      const program = remoteProgram(command, {
        directory: this.observers.directory,
        clientPort: this.observers.clientPort,
        joinTimeoutMs: this.joinTimeoutMs,
        dryRun: this.dryRun,
        files: run.files
      })
      const { code, stdout, stderr } = await run.connection.run(program, {
        timeoutMs,
        onStderrLine: line => this.log(`[${run.host.id} ${run.host.host}] ${line}`)
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

  private fail(run: HostRun, message: string): void {
    run.result.status = 'failed'
    run.result.message = message
    this.log(`[${run.host.id} ${run.host.host}] failed: ${message}`)
  }

  /** A session that (re)creates the container; what it did goes on the host's result. */
  private async restart(run: HostRun, command: 'apply' | 'start', timeoutMs: number): Promise<RemoteReport> {
    const report = await this.session(run, command, timeoutMs)
    const r = run.result
    r.compose = report.compose
    r.restarted = report.events.includes('restarted')
    readSrvr(r, report.srvr)
    r.verified = report.events.includes('verified')
    return report
  }

  /** Phase 1 for one host: compare its files with ours and, when they differ, upload ours to .staged/. */
  private async stage(run: HostRun): Promise<void> {
    const report = await this.session(run, 'stage', UPLOAD_TIMEOUT_MS)
    const r = run.result
    r.compared = OBSERVER_FILE_NAMES.every(f => report.files[f] !== undefined)
    if (!r.compared) return this.fail(run, report.error ?? 'the VM did not report its files')
    r.changedFiles = OBSERVER_FILE_NAMES.filter(f => report.files[f] !== 'same')
    r.changed = r.changedFiles.length > 0
    const serving = readSrvr(r, report.srvr)
    if (report.error !== undefined) return this.fail(run, report.error)
    if (report.events.includes('unchanged')) {
      if (serving) {
        r.verified = true
        this.log(`[${run.host.id} ${run.host.host}] unchanged, serving as observer (zxid ${r.zxid})`)
      } else if (this.dryRun) {
        r.message = `files unchanged, but the observer is not serving (${describeSrvr(report.srvr)}): a deploy would start it`
      } else {
        run.next = 'start'
        this.log(
          `[${run.host.id} ${run.host.host}] files unchanged, but the observer is not serving (${describeSrvr(report.srvr)}): it will be started`
        )
      }
    } else if (report.events.includes('would-change')) {
      r.message = `would ${Object.values(report.files).every(s => s === 'new') ? 'deploy' : 'replace'} ${r.changedFiles.join(', ')} and recreate the observer`
    } else if (report.events.includes('staged')) {
      run.next = 'apply'
      this.log(`[${run.host.id} ${run.host.host}] uploaded ${r.changedFiles.join(', ')}; waiting for its turn to restart`)
    } else {
      this.fail(run, `unexpected answer from the VM: ${report.events.join(' ') || '(none)'}`)
    }
  }

  /** Phase 2 for a changed host: swap the files in, recreate, verify; roll back when it does not join. */
  private async apply(run: HostRun): Promise<void> {
    const report = await this.restart(run, 'apply', 2 * this.joinTimeoutMs + COMPOSE_ALLOWANCE_MS)
    const r = run.result
    if (r.verified) {
      this.log(`[${run.host.id} ${run.host.host}] verified: Mode: observer, zxid ${r.zxid}`)
      return
    }
    // Not replaced: nothing was swapped, or a half-done swap was undone; report.error says which,
    // and what is left when undoing it failed.
    if (!report.events.includes('replaced')) return this.fail(run, report.error ?? 'unknown failure')
    const [firstWait, rollbackWait] = report.waitStates
    let why = report.events.includes('compose-failed')
      ? `${report.compose ?? 'docker compose'} up failed (its output is in the log above)`
      : `the observer did not answer Mode: observer within ${Math.ceil(this.joinTimeoutMs / 1000)} s (last: ${firstWait ?? 'unknown'})`
    if (report.events.includes('rolled-back')) {
      r.rolledBack = true
      why += report.events.includes('rollback-verified')
        ? `; rolled back to the previous files, and the observer serves again on them (Mode: observer, zxid ${r.zxid})`
        : `; rolled back to the previous files, but the observer did not come back on them either (${rollbackWait ?? report.error ?? 'compose failed'}): check the VM`
    } else if (report.events.includes('stopped')) {
      const partial = report.events.includes('partial-previous')
      why += partial
        ? '; only some of the files were on this VM before, not a complete set to roll back to: the observer was stopped (compose down, volumes kept)'
        : '; first deploy on this VM, so nothing to roll back to: the observer was stopped (compose down, volumes kept)'
      if (report.events.includes('removed'))
        why += `${partial ? ', the files it had were put back,' : ''} and the new files ${report.events.includes('failed-kept') ? `moved to ${this.observers.directory}/.failed` : 'removed'}`
      else if (report.error !== undefined) why += `; then: ${report.error}`
    } else if (report.error !== undefined) {
      why += `; then: ${report.error}`
    }
    this.fail(run, why)
  }

  /** Phase 2 for an unchanged host whose observer was not serving: start it and verify. */
  private async start(run: HostRun): Promise<void> {
    const report = await this.restart(run, 'start', this.joinTimeoutMs + COMPOSE_ALLOWANCE_MS)
    const r = run.result
    if (r.verified) {
      r.message = 'files unchanged; the observer was not serving and was started'
      return
    }
    this.fail(
      run,
      report.events.includes('not-verified')
        ? `files unchanged, but the observer did not answer Mode: observer within ${Math.ceil(this.joinTimeoutMs / 1000)} s after compose up (last: ${report.waitStates[0] ?? 'unknown'})`
        : (report.error ?? 'unknown failure')
    )
  }

  /** Phase 2 after an earlier host failed: leave this one as it is, remove its staged upload. */
  private async skip(run: HostRun, cause: HostRun): Promise<void> {
    run.result.status = 'skipped'
    const stopped = `not restarted: the rollout stopped after observer ${cause.host.id} (${cause.host.host}) failed`
    if (run.next !== 'apply') {
      run.result.message = `${stopped}; this VM keeps its current files, and its observer, which was not serving, was not started`
      return
    }
    try {
      const report = await this.session(run, 'discard', UPLOAD_TIMEOUT_MS)
      run.result.message = report.events.includes('discarded')
        ? `${stopped}; this VM keeps its current files and observer (the staged upload was removed)`
        : `${stopped}; the new files were not applied, but removing the staged upload failed: ${report.error ?? 'unknown failure'}`
    } catch (error) {
      run.result.message = `${stopped}; nothing was changed on this VM, but it could not be reached again to remove the staged upload: ${(error as Error).message}`
    }
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
