import {
  durationInput,
  environmentPath,
  getKubeSettings,
  optionalInput,
  requiredInput,
  type KubeSettings
} from '../../../workflows-lib/src/action/index.js'
import type { Environment } from '../../../workflows-lib/src/environment/index.js'

export interface ExposeServersSettings {
  environment: string
  statefulSet?: string
  kube: KubeSettings
  timeoutMs: (env: Environment) => number
}

export function getSettings(): ExposeServersSettings {
  const statefulSet = optionalInput('statefulset')
  durationInput('timeout', 0)
  return {
    environment: environmentPath(requiredInput('environment')),
    ...(statefulSet ? { statefulSet } : {}),
    kube: getKubeSettings(),
    timeoutMs: env => durationInput('timeout', env.timeouts.loadBalancerMs)
  }
}
