// What follows each intermediate size of a scale, so that clients and observers keep working
// throughout: the per-pod LoadBalancers at that size, then the observers' new server list
// (rolling, each verified Mode: observer). The last size is the caller's own later steps.
import type { Environment } from '../environment/types.js'
import type { Kubectl } from '../kube/kubectl.js'
import * as log from '../output/log.js'
import type { SecretFiles } from '../runner/secret-file.js'
import type { VotingStep } from '../scaling/plan.js'
import type { SshCredentials } from '../ssh/index.js'
import { deployFailureMessage, deployObservers } from '../steps/deploy-observers.js'
import { exposeServers } from '../steps/expose-servers.js'
import type { DeployReport } from '../observers/index.js'
import { converge, type ConvergeOptions, type ConvergeResult } from './converge.js'
import { EnsembleStepError } from './roll.js'

export interface BetweenStepsOptions {
  env: Environment
  kubectl: Kubectl
  /** Needed when the environment has observers; without it, no intermediate step is possible. */
  ssh?: { credentials: SshCredentials; secretFiles: SecretFiles }
  /** Told which part runs, for the failure message. */
  onPart?: (part: string) => void
  /** Told each intermediate observer deploy's report. */
  onObservers?: (servers: number, report: DeployReport) => void
}

/** The function converge calls after each intermediate step, or undefined when observers cannot be reached. */
export function betweenSteps(opts: BetweenStepsOptions): ((step: VotingStep) => Promise<void>) | undefined {
  const { env, kubectl, ssh } = opts
  if (env.observers && !ssh) return undefined
  return async step => {
    const sized: Environment = { ...env, ensemble: { ...env.ensemble, servers: step.to } }
    opts.onPart?.(`expose-servers at ${step.to} servers`)
    log.info(`== expose-servers at ${step.to} servers`)
    const exposed = await exposeServers({ kubectl, env: sized, statefulSet: env.kubernetes.statefulSet })
    if (sized.observers && ssh) {
      opts.onPart?.(`deploy-observers at ${step.to} servers`)
      log.info(`== deploy-observers at ${step.to} servers`)
      const report = await deployObservers({
        environment: sized,
        servers: exposed.addresses,
        credentials: ssh.credentials,
        secretFiles: ssh.secretFiles,
        log: line => log.info(line)
      })
      opts.onObservers?.(step.to, report)
      if (!report.ok) throw new Error(deployFailureMessage(report))
    }
    // Back to the chart's next step.
    opts.onPart?.('deploy-chart')
  }
}

/**
 * converge with the LoadBalancers and observers following every intermediate size, and a failed
 * check's state report that also says how the observers were last seen.
 */
export async function convergeFollowing(opts: ConvergeOptions & Omit<BetweenStepsOptions, 'onObservers'>): Promise<ConvergeResult> {
  let observed: { servers: number; report: DeployReport } | undefined
  const afterStep = betweenSteps({ ...opts, onObservers: (servers, report) => (observed = { servers, report }) })
  try {
    return await converge({ ...opts, afterStep })
  } catch (error) {
    if (!(error instanceof EnsembleStepError) || !opts.env.observers) throw error
    const lines = observed
      ? observed.report.results.map(
          r =>
            `  observer ${r.id} on ${r.host}: ${r.verified ? `Mode: ${r.mode} zxid ${r.zxid}` : `not verified (${r.status})`} with the ${observed!.servers}-server list`
        )
      : [`  observers: not redeployed in this run; they keep the server list of the last rollout`]
    throw new EnsembleStepError(`${error.message}\nObservers, as last verified:\n${lines.join('\n')}`, undefined)
  }
}
