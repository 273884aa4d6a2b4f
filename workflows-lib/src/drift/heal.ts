// Healing the one dangerous drift automatically (heal: observers, off by default): when the only
// difference is that LoadBalancer addresses moved, the observers get the current addresses by
// the usual deploy-observers (staged upload, rolling restart, proof of Mode: observer, rollback
// of a host that does not join). Anything else found means a person must look first.
import type { Environment } from '../environment/types.js'
import { withEnvironmentLock } from '../lock/environment-lock.js'
import type { DeployReport } from '../observers/results.js'
import type { SecretFiles } from '../runner/secret-file.js'
import type { SshCredentials } from '../ssh/client-config.js'
import { deployFailureMessage, deployObservers } from '../steps/deploy-observers.js'
import type { JumpHostOverride } from '../observers/connections.js'
import { detectDrift, type DetectDriftOptions, type DriftDetection } from './detect.js'
import { driftStatus } from './types.js'

export type HealMode = 'none' | 'observers'

export interface HealDecision {
  heal: boolean
  /** Why not, when not (in words for the issue). */
  why?: string
}

export function healDecision(mode: HealMode, drift: DriftDetection): HealDecision {
  if (mode === 'none') return { heal: false, why: 'healing is off (heal: observers turns it on for moved LoadBalancer addresses)' }
  if (!drift.items.some(i => i.kind === 'addresses')) return { heal: false, why: 'no LoadBalancer address moved' }
  // An observer that already lost sync through a moved address is the case heal exists for: its
  // "not serving" or lag item goes with the address item of the same host.
  const moved = new Set(drift.items.filter(i => i.kind === 'addresses').map(i => i.subject))
  const other = drift.items.filter(
    i => i.kind !== 'addresses' && !((i.kind === 'observer-serving' || i.kind === 'observer-lag') && moved.has(i.subject))
  )
  if (other.length > 0) return { heal: false, why: `other drift needs a person first: ${[...new Set(other.map(i => i.kind))].join(', ')}` }
  if (drift.unchecked.length > 0) return { heal: false, why: 'not everything could be checked' }
  return { heal: true }
}

export interface HealOptions {
  env: Environment
  drift: DriftDetection
  credentials: SshCredentials
  secretFiles: SecretFiles
  jumpHost?: JumpHostOverride
  log?: (line: string) => void
}

export function healObservers(opts: HealOptions): Promise<DeployReport> {
  return deployObservers({
    environment: opts.env,
    servers: opts.drift.addresses,
    credentials: opts.credentials,
    secretFiles: opts.secretFiles,
    jumpHost: opts.jumpHost,
    log: opts.log
  })
}

export interface DetectAndHealOptions extends DetectDriftOptions {
  heal: HealMode
  /** Progress lines: the heal decision, then deploy-observers' own. */
  log?: (line: string) => void
}

export interface DetectAndHealResult {
  /** What is live now: after a heal, detected again. */
  drift: DriftDetection
  /** Present when healing was asked for and there was drift. */
  heal?: { decision: HealDecision; report?: DeployReport }
}

/** Detects; when asked and safe, heals the observers and detects again, so the result is what is live now. */
export async function detectAndHeal(opts: DetectAndHealOptions): Promise<DetectAndHealResult> {
  const drift = await detectDrift(opts)
  if (opts.heal === 'none' || driftStatus(drift) !== 'drift') return { drift }
  const decision = healDecision(opts.heal, drift)
  if (!decision.heal || !opts.ssh) {
    opts.log?.(`heal: not healing: ${decision.why ?? 'no SSH credentials'}`)
    return { drift, heal: { decision: decision.heal ? { heal: false, why: 'no SSH credentials' } : decision } }
  }
  const ssh = opts.ssh
  // Heal writes to the VMs: under the rollout lock, like a rollout. The lock may have been waited
  // for behind one, so the decision and the addresses are taken again inside it.
  return withEnvironmentLock(opts.env, opts.kubectl, async lock => {
    const now = await detectDrift({ ...opts, holder: lock.holder })
    const still = driftStatus(now) === 'drift' ? healDecision(opts.heal, now) : { heal: false, why: 'the drift was gone once the lock was held' }
    if (!still.heal) {
      opts.log?.(`heal: not healing: ${still.why}`)
      return { drift: now, heal: { decision: still } }
    }
    opts.log?.('heal: redeploying the observers with the current addresses')
    const report = await healObservers({ env: opts.env, drift: now, ...ssh, log: opts.log })
    if (!report.ok) opts.log?.(`heal failed: ${deployFailureMessage(report)}`)
    return { drift: await detectDrift({ ...opts, holder: lock.holder }), heal: { decision: still, report } }
  })
}

export interface HealNote {
  /** Our sentence. */
  text: string
  /** deploy-observers' account of a failure (hosts' messages: shown as code, never as Markdown). */
  detail?: string
  failed: boolean
}

/** The heal's outcome for the issue and the summary; undefined when none was asked for. */
export function healNote(heal: DetectAndHealResult['heal']): HealNote | undefined {
  if (!heal) return undefined
  if (!heal.report) return { text: `Not healed: ${heal.decision.why}.`, failed: false }
  return heal.report.ok
    ? { text: 'Healed: the observers were redeployed with the current LoadBalancer addresses and verified (Mode: observer).', failed: false }
    : { text: 'Healing failed; deploy-observers rolled back what it could and reported:', detail: deployFailureMessage(heal.report), failed: true }
}
