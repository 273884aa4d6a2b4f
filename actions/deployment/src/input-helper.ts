import { InputError, integerInput, optionalInput, requiredInput, secretInput } from '../../../workflows-lib/src/runner/inputs.js'
import { quoted } from '../../../workflows-lib/src/output/printable.js'

export type DeploymentSettings =
  | {
      mode: 'start'
      environment: string
      environmentsRoot?: string
      ref?: string
      environmentUrl?: string
      description?: string
      token: string
    }
  | {
      mode: 'finish'
      environment: string
      deploymentId: number
      /** success | failure | error or a job.status; the library maps it. */
      status: string
      environmentUrl?: string
      description?: string
      token: string
    }

export function getSettings(): DeploymentSettings {
  const mode = requiredInput('mode')
  const common = {
    environment: requiredInput('environment'),
    environmentUrl: optionalInput('environment-url'),
    description: optionalInput('description'),
    token: secretInput('github-token', { required: true }) as string
  }
  if (mode === 'start') return { mode, ...common, environmentsRoot: optionalInput('environments-root'), ref: optionalInput('ref') }
  if (mode === 'finish') {
    const deploymentId = integerInput('deployment-id', { min: 1, max: Number.MAX_SAFE_INTEGER })
    if (deploymentId === undefined) throw new InputError('deployment-id', 'is required with mode finish: the deployment-id output of mode start')
    return { mode, ...common, deploymentId, status: requiredInput('status') }
  }
  throw new InputError('mode', `${quoted(mode)} is not start or finish`)
}
