// GitHub Deployments for a rollout: one deployment per environment and run, in_progress while
// the steps run, then success, failure or error, each status linking to the run's log. The
// deployment waits for no commit status (the checks ran before the merge) and merges nothing.
import { isEnvironmentName, ENVIRONMENT_NAME_RULE } from '../environment/rules.js'
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import { InputError } from '../runner/inputs.js'
import { currentRepository, githubClient, runUrl } from './client.js'
import { DEFAULT_ENVIRONMENTS_ROOT } from './plan-comment.js'

export type FinalState = 'success' | 'failure' | 'error'

/** GitHub caps a status description at 140 characters. */
const MAX_DESCRIPTION = 140

const description = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text

/** `status` as given, or a `job.status` ("success", "failure", "cancelled"): a cancelled rollout is an error, not a failed one. */
export function finalState(status: string): FinalState {
  const value = status.trim().toLowerCase()
  if (value === 'success' || value === 'failure' || value === 'error') return value
  if (value === 'cancelled') return 'error'
  throw new InputError('status', `${quoted(status)} is not success, failure, error or a job.status (success, failure, cancelled)`)
}

export interface StartDeploymentOptions {
  token: string
  /** The environment directory name, which is also the GitHub Environment's name. */
  environment: string
  /** Default: GITHUB_SHA. */
  ref?: string
  environmentsRoot?: string
  environmentUrl?: string
  description?: string
}

export interface FinishDeploymentOptions {
  token: string
  /** For the log only: the deployment already names its environment. */
  environment?: string
  deploymentId: number
  /** success | failure | error, or the job.status to map. */
  status: string
  environmentUrl?: string
  description?: string
}

function checkEnvironment(name: string): void {
  if (!isEnvironmentName(name))
    throw new InputError('environment', `${quoted(name)} must be ${ENVIRONMENT_NAME_RULE} (the environment directory's name)`)
}

/** Creates the deployment and marks it in_progress; returns its id for the finish call. */
export async function startDeployment(opts: StartDeploymentOptions): Promise<{ id: number; statusId: number }> {
  checkEnvironment(opts.environment)
  const ref = opts.ref ?? process.env.GITHUB_SHA
  if (!ref) throw new InputError('ref', 'is required outside a workflow run (GITHUB_SHA is not set)')
  const client = githubClient(opts.token)
  const repo = currentRepository()
  const directory = `${(opts.environmentsRoot ?? DEFAULT_ENVIRONMENTS_ROOT).replace(/\/+$/, '')}/${opts.environment}`
  const response = await client.rest.repos.createDeployment({
    ...repo,
    ref,
    task: 'deploy',
    environment: opts.environment,
    auto_merge: false,
    required_contexts: [],
    payload: { directory, tool: 'zk-rollout' },
    description: description(opts.description ?? `zk-rollout of ${directory}`)
  })
  // 202 is GitHub's "merged the default branch first" answer, which auto_merge: false rules out.
  if (!('id' in response.data)) throw new Error(`GitHub did not create the deployment: ${response.data.message ?? `HTTP ${response.status}`}`)
  const id = response.data.id
  const { data: status } = await client.rest.repos.createDeploymentStatus({
    ...repo,
    deployment_id: id,
    state: 'in_progress',
    ...links(opts.environmentUrl),
    description: description(opts.description ?? `rolling out ${directory}`)
  })
  log.info(`deployment ${id} of ${quoted(opts.environment)} at ${quoted(ref)}: in_progress`)
  return { id, statusId: status.id }
}

export async function finishDeployment(opts: FinishDeploymentOptions): Promise<{ state: FinalState; statusId: number }> {
  const state = finalState(opts.status)
  const client = githubClient(opts.token)
  const { data } = await client.rest.repos.createDeploymentStatus({
    ...currentRepository(),
    deployment_id: opts.deploymentId,
    state,
    ...links(opts.environmentUrl),
    ...(opts.description !== undefined ? { description: description(opts.description) } : {})
  })
  log.info(`deployment ${opts.deploymentId}${opts.environment ? ` of ${quoted(opts.environment)}` : ''}: ${state}`)
  return { state, statusId: data.id }
}

/** The run's log (log_url also sets target_url) and the environment's URL, when known. */
function links(environmentUrl: string | undefined): { log_url?: string; environment_url?: string } {
  const logUrl = runUrl()
  return { ...(logUrl ? { log_url: logUrl } : {}), ...(environmentUrl ? { environment_url: environmentUrl } : {}) }
}
