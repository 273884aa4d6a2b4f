import { environmentPath, getKubeSettings, requiredInput, type KubeSettings } from '../../../workflows-lib/src/action/index.js'

export interface RegisterMonitoringSettings {
  environment: string
  kube: KubeSettings
}

export function getSettings(): RegisterMonitoringSettings {
  return { environment: environmentPath(requiredInput('environment')), kube: getKubeSettings() }
}
