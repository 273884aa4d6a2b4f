// Reading every observer VM for drift, read-only: one SSH session per host runs the remote
// script's `inspect` (sha256 of each file against the one we would render, the differing files'
// content, srvr once). Nothing is written on the VM. A host that cannot be reached is reported
// as such; the others are still read.
import type { Environment, ObserverHost, Observers } from '../environment/types.js'
import { DEFAULT_CONCURRENCY, observerConnections, type JumpHostOverride } from '../observers/connections.js'
import { forEachLimit } from '../observers/pool.js'
import { parseRemoteOutput, remoteProgram, type FileState } from '../observers/remote-script.js'
import { renderObserverFiles, type ObserverFiles } from '../render/observer-files.js'
import type { SecretFiles } from '../runner/secret-file.js'
import { writeSshClientConfig, type SshCredentials } from '../ssh/client-config.js'
import { parseSrvr, type SrvrStatus } from '../zookeeper/srvr.js'

export interface ObserverInspection {
  host: ObserverHost
  /** Why the host could not be read; the rest is then empty. */
  error?: string
  /** Each file against ours: same, changed, or new (missing on the host). */
  files: Partial<Record<keyof ObserverFiles, FileState>>
  /** The host's content of each changed file. */
  contents: Partial<Record<keyof ObserverFiles, string>>
  /** What we would render with the servers' current addresses. */
  expected: ObserverFiles
  /** The observer's srvr answer, parsed; undefined when it did not answer or is not serving. */
  srvr?: SrvrStatus
  /** "no answer on the client port", "running, not serving", or the parse error. */
  srvrProblem?: string
}

export interface InspectObserversOptions {
  env: Environment
  observers: Observers
  /** The servers' current LoadBalancer addresses, in ordinal order. */
  servers: readonly string[]
  credentials: SshCredentials
  secretFiles: SecretFiles
  jumpHost?: JumpHostOverride
  concurrency?: number
}

const SESSION_TIMEOUT_MS = 60_000

export async function inspectObservers(opts: InspectObserversOptions): Promise<ObserverInspection[]> {
  const { observers } = opts
  const connections = observerConnections(observers, writeSshClientConfig(opts.secretFiles, opts.credentials), opts.jumpHost)
  const results = observers.hosts.map((host): ObserverInspection => {
    try {
      return { host, files: {}, contents: {}, expected: renderObserverFiles({ environment: opts.env, observers, host, servers: opts.servers }) }
    } catch (error) {
      // An address the cloud reported that cannot go into a zoo.cfg: this host is not compared.
      return { host, files: {}, contents: {}, expected: {} as ObserverFiles, error: (error as Error).message }
    }
  })
  try {
    await forEachLimit(
      results.map((r, i) => ({ r, connection: connections[i] })),
      opts.concurrency ?? DEFAULT_CONCURRENCY,
      async ({ r, connection }) => {
        if (r.error !== undefined) return
        try {
          const program = remoteProgram('inspect', {
            directory: observers.directory,
            clientPort: observers.clientPort,
            joinTimeoutMs: 1000,
            dryRun: true,
            files: r.expected
          })
          const { stdout, stderr, code } = await connection.run(program, { timeoutMs: SESSION_TIMEOUT_MS })
          const report = parseRemoteOutput(stdout)
          if (report.error !== undefined || !report.done) {
            r.error = report.error ?? `the VM's answer stopped before its end (exit status ${code}): ${stderr.trim().split('\n').slice(-2).join(' ')}`
            return
          }
          r.files = report.files
          r.contents = report.contents
          if (!report.srvr) r.srvrProblem = 'no answer on the client port'
          else if (/not currently serving/.test(report.srvr)) r.srvrProblem = 'running, not serving (not in sync with a leader)'
          else {
            try {
              r.srvr = parseSrvr(report.srvr)
            } catch (error) {
              r.srvrProblem = (error as Error).message
            }
          }
        } catch (error) {
          r.error = (error as Error).message
        }
      }
    )
  } finally {
    await Promise.all(connections.map(c => c.close().catch(() => undefined)))
  }
  return results
}
