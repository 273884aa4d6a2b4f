import { LOCK_WAIT_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import { durationInput, getKubeSettings, integerInput, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface DeployChartSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
  /** Roll back to this revision instead of deploying. */
  rollbackTo?: number
  /** How long to wait for the rollout lock; undefined: the library's default. */
  lockTimeoutMs?: number
}

export function getSettings(): DeployChartSettings {
  return {
    environment: requiredInput('environment'),
    kube: getKubeSettings(),
    rollbackTo: integerInput('rollback-to', { min: 1, max: 1_000_000 }),
    lockTimeoutMs: durationInput('lock-timeout', LOCK_WAIT_DURATION)
  }
}
