import { getKubeSettings, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'

export interface RegisterMonitoringSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
}

export function getSettings(): RegisterMonitoringSettings {
  return { environment: requiredInput('environment'), kube: getKubeSettings() }
}
