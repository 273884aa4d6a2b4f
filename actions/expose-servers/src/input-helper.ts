import { durationInput, getKubeSettings, optionalInput, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface ExposeServersSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  /** Undefined: the environment's StatefulSet. */
  statefulSet?: string
  kube: KubeSettings
  /** Undefined: the environment's timeouts.loadBalancer. */
  timeoutMs?: number
}

export function getSettings(): ExposeServersSettings {
  return {
    environment: requiredInput('environment'),
    statefulSet: optionalInput('statefulset'),
    kube: getKubeSettings(),
    timeoutMs: durationInput('timeout')
  }
}
