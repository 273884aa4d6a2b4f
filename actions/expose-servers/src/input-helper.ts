import { LOCK_WAIT_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import { durationInput, getKubeSettings, optionalInput, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface ExposeServersSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  /** Undefined: the environment's StatefulSet. */
  statefulSet?: string
  kube: KubeSettings
  /** Undefined: the environment's timeouts.loadBalancer. */
  timeoutMs?: number
  /** How long to wait for the rollout lock; undefined: the library's default. */
  lockTimeoutMs?: number
}

export function getSettings(): ExposeServersSettings {
  return {
    environment: requiredInput('environment'),
    statefulSet: optionalInput('statefulset'),
    kube: getKubeSettings(),
    timeoutMs: durationInput('timeout'),
    lockTimeoutMs: durationInput('lock-timeout', LOCK_WAIT_DURATION)
  }
}
