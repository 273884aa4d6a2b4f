import { InputError, requiredInput } from '../../../workflows-lib/src/runner/index.js'
import type { StepsContext } from '../../../workflows-lib/src/github/rollout-steps.js'

export interface RolloutSummarySettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  steps: StepsContext
}

export function getSettings(): RolloutSummarySettings {
  let steps: unknown
  try {
    steps = JSON.parse(requiredInput('steps'))
  } catch {
    throw new InputError('steps', 'is not JSON: pass ${{ toJSON(steps) }}')
  }
  if (typeof steps !== 'object' || steps === null || Array.isArray(steps)) throw new InputError('steps', 'must be the steps context, a JSON object')
  return { environment: requiredInput('environment'), steps: steps as StepsContext }
}
