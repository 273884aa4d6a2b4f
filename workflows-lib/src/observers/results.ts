// What a deploy did on each observer VM: the action's `results` output and its summary table.
import type { ObserverFiles } from '../render/observer-files.js'

export type ObserverStatus = 'ok' | 'failed' | 'skipped'

export interface ObserverResult {
  id: number
  host: string
  status: ObserverStatus
  /** The host's files were compared with the rendered ones (false: it was never reached). */
  compared: boolean
  /** The rendered files differed from the host's (true on a first deploy and on a dry run that would change). */
  changed: boolean
  /** Which of zoo.cfg, myid and docker-compose.yaml differed. */
  changedFiles: (keyof ObserverFiles)[]
  /** The observer container was (re)created by this run. */
  restarted: boolean
  /** The observer answered srvr with Mode: observer and a zxid, on the files this run wanted. */
  verified: boolean
  /** The new files failed verification and the previous ones were put back. */
  rolledBack: boolean
  /** Last srvr answer seen on the VM. */
  mode?: string
  zxid?: string
  /** `docker compose` or `docker-compose`, when compose was run. */
  compose?: string
  /** Time spent on this host (its SSH sessions), not waiting for its turn. */
  durationMs: number
  /** What went wrong, or what a dry run would do. */
  message?: string
}

export interface DeployReport {
  environment: string
  dryRun: boolean
  results: ObserverResult[]
  /** Every host ended in status ok. */
  ok: boolean
  /** Some host's files differed. */
  changed: boolean
  /** Hosts whose new files were rolled back. */
  rolledBack: string[]
  durationMs: number
}
