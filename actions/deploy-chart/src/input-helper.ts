import {
  environmentPath,
  getKubeSettings,
  integerInput,
  optionalInput,
  requiredInput,
  type KubeSettings
} from '../../../workflows-lib/src/action/index.js'

export interface DeployChartSettings {
  environment: string
  kube: KubeSettings
  /** Roll back to this revision instead of deploying. */
  rollbackTo?: number
}

export function getSettings(): DeployChartSettings {
  return {
    environment: environmentPath(requiredInput('environment')),
    kube: getKubeSettings(),
    ...(optionalInput('rollback-to') ? { rollbackTo: integerInput('rollback-to', 0, { min: 1, max: 1_000_000 }) } : {})
  }
}
