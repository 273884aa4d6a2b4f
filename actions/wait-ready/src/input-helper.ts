import { OVERALL_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import { durationInput, getKubeSettings, optionalInput, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface WaitReadySettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  /** Undefined: the environment's StatefulSet. */
  statefulSet?: string
  kube: KubeSettings
  /** Undefined: the environment's timeouts.podReady. */
  podTimeoutMs?: number
  /** Undefined: the pod timeout times the number of servers. */
  overallTimeoutMs?: number
}

export function getSettings(): WaitReadySettings {
  return {
    environment: requiredInput('environment'),
    statefulSet: optionalInput('statefulset'),
    kube: getKubeSettings(),
    podTimeoutMs: durationInput('pod-timeout'),
    overallTimeoutMs: durationInput('timeout', OVERALL_DURATION)
  }
}
