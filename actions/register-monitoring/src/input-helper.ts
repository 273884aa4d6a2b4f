import { LOCK_WAIT_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import { durationInput, getKubeSettings, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface RegisterMonitoringSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
  /** How long to wait for the rollout lock; undefined: the library's default. */
  lockTimeoutMs?: number
}

export function getSettings(): RegisterMonitoringSettings {
  return { environment: requiredInput('environment'), kube: getKubeSettings(), lockTimeoutMs: durationInput('lock-timeout', LOCK_WAIT_DURATION) }
}
