import {
  durationInput,
  environmentPath,
  getKubeSettings,
  optionalInput,
  requiredInput,
  type KubeSettings
} from '../../../workflows-lib/src/action/index.js'
import type { Environment } from '../../../workflows-lib/src/environment/index.js'

export interface WaitReadySettings {
  environment: string
  statefulSet?: string
  kube: KubeSettings
  /** Resolved against the environment once it is loaded. */
  timeouts: (env: Environment) => { podMs: number; overallMs: number }
}

export function getSettings(): WaitReadySettings {
  const statefulSet = optionalInput('statefulset')
  // Read now so a malformed duration fails before anything else happens.
  durationInput('pod-timeout', 0)
  durationInput('timeout', 0)
  return {
    environment: environmentPath(requiredInput('environment')),
    ...(statefulSet ? { statefulSet } : {}),
    kube: getKubeSettings(),
    timeouts: env => {
      const podMs = durationInput('pod-timeout', env.timeouts.podReadyMs)
      return { podMs, overallMs: durationInput('timeout', podMs * env.ensemble.servers) }
    }
  }
}
