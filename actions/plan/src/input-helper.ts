import { booleanInput, integerInput, optionalInput, secretInput, stringListInput } from '../../../workflows-lib/src/runner/inputs.js'
import { getKubeSettings, type KubeSettings } from '../../../workflows-lib/src/runner/kube-clients.js'

export interface PlanSettings {
  /** Environment directory names; undefined plans every environment under the root. */
  environments?: string[]
  environmentsRoot?: string
  pullRequest?: number
  token?: string
  postComment: boolean
  /** Read-only cluster credentials for the live comparison (none: the kubeconfig input is empty and KUBECONFIG unset). */
  kube: KubeSettings
}

export function getSettings(): PlanSettings {
  return {
    environments: stringListInput('environments'),
    environmentsRoot: optionalInput('environments-root'),
    pullRequest: integerInput('pull-request', { min: 1, max: 2_147_483_647 }),
    token: secretInput('github-token', { required: false }),
    postComment: booleanInput('post-comment', true),
    kube: getKubeSettings()
  }
}
