// The whole rollout of one environment, in the order the manual runbook does it: chart, pods
// Ready in order, per-pod LoadBalancers, observers over SSH, monitoring. The GitHub actions run
// the same steps one by one; this runs them in one process (zk-rollout rollout, the demo), all
// under the environment's in-cluster rollout lock, so no other rollout of it runs meanwhile.
import * as log from '../output/log.js'
import type { ChartRoots } from '../chart/chart-reference.js'
import type { SecretFiles } from '../runner/secret-file.js'
import type { Environment } from '../environment/types.js'
import type { Helm } from '../kube/helm.js'
import type { Kubectl } from '../kube/kubectl.js'
import { withEnvironmentLock, type EnvironmentLockOptions } from '../lock/index.js'
import type { DeployReport } from '../observers/index.js'
import { deployFailureMessage, deployObservers } from '../steps/deploy-observers.js'
import type { SshCredentials } from '../ssh/index.js'
import { rollBack } from '../ensemble/converge.js'
import type { DeployChartResult } from '../steps/deploy-chart.js'
import { convergeFollowing } from '../ensemble/between-steps.js'
import type { RollContext } from '../ensemble/roll.js'
import { formatSizes, type ScalingPlan } from '../scaling/plan.js'
import { exposeServers, type ExposeServersResult } from '../steps/expose-servers.js'
import { registerMonitoring, type RegisterMonitoringResult } from '../steps/register-monitoring.js'
import { waitReady, waitReadyOptions, type PodReadyTime } from '../steps/wait-ready.js'

export interface RolloutOptions {
  env: Environment
  kubectl: Kubectl
  helm: Helm
  roots: ChartRoots
  /** Needed when the environment has observers. */
  ssh?: { credentials: SshCredentials; secretFiles: SecretFiles }
  /** Roll the chart back to its previous revision when a later step fails. */
  rollbackOnFailure?: boolean
  /** The rollout lock (holder, how long to wait); default: this process, 10 min. */
  lock?: EnvironmentLockOptions
  /** Told before each ZooKeeper-aware pod restart (tests record the order). */
  onRestart?: RollContext['onRestart']
}

export interface RolloutReport {
  chart: DeployChartResult
  /** Set when the size changed: the steps taken. */
  scaling?: ScalingPlan
  /** Pods restarted in ZooKeeper order (followers first, the leader last). */
  restarted: string[]
  ready: PodReadyTime[]
  exposed: ExposeServersResult
  observers?: DeployReport
  monitoring?: RegisterMonitoringResult
}

export class RolloutError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly partial: Partial<RolloutReport>
  ) {
    super(message)
    this.name = 'RolloutError'
  }
}

export async function rollout(opts: RolloutOptions): Promise<RolloutReport> {
  const { env, kubectl } = opts
  if (env.observers && !opts.ssh) throw new Error(`environment ${env.name} has observers: an SSH key and known_hosts are needed`)
  return withEnvironmentLock(env, kubectl, () => rolloutSteps(opts), opts.lock)
}

async function rolloutSteps(opts: RolloutOptions): Promise<RolloutReport> {
  const { env, kubectl, helm } = opts
  const partial: Partial<RolloutReport> = {}
  let step = 'deploy-chart'
  try {
    log.info(`== deploy-chart`)
    // Between size steps the LoadBalancers and observers follow each intermediate size.
    const converged = await convergeFollowing({
      env,
      helm,
      kubectl,
      roots: opts.roots,
      ...(opts.ssh ? { ssh: opts.ssh } : {}),
      onPart: part => (step = part),
      ...(opts.onRestart ? { onRestart: opts.onRestart } : {})
    })
    step = 'deploy-chart'
    const chart = (partial.chart = converged.chart)
    partial.restarted = converged.restarted
    if (converged.scaling) partial.scaling = converged.scaling
    step = 'wait-ready'
    log.info(`== wait-ready`)
    partial.ready = await waitReady(waitReadyOptions({ kubectl, env, statefulSet: chart.statefulSet }))
    step = 'expose-servers'
    log.info(`== expose-servers`)
    const exposed = (partial.exposed = await exposeServers({ kubectl, env, statefulSet: chart.statefulSet }))
    if (env.observers && opts.ssh) {
      step = 'deploy-observers'
      log.info(`== deploy-observers`)
      const report = (partial.observers = await deployObservers({
        environment: env,
        servers: exposed.addresses,
        credentials: opts.ssh.credentials,
        secretFiles: opts.ssh.secretFiles,
        log: line => log.info(line)
      }))
      if (!report.ok) throw new Error(deployFailureMessage(report))
    }
    step = 'register-monitoring'
    log.info(`== register-monitoring`)
    partial.monitoring = await registerMonitoring(kubectl, env)
    return partial as RolloutReport
  } catch (error) {
    const chart = partial.chart
    // Never after a scale: the previous revision is another size, and helm would jump there at once.
    if (opts.rollbackOnFailure && chart?.changed && chart.previousRevision !== undefined && !partial.scaling) {
      // The servers go back onto the old revision in ZooKeeper order too.
      await rollBack({ env, helm, kubectl, revision: chart.previousRevision })
      log.info(`release ${chart.release} rolled back to revision ${chart.previousRevision} after ${step} failed`)
    }
    throw new RolloutError(`${step} failed: ${(error as Error).message}`, step, partial)
  }
}

/** A plain-text report for a terminal. */
export function formatRolloutReport(env: Environment, r: RolloutReport): string {
  const lines = [
    `Rollout of environment "${env.name}"`,
    `  chart:     release ${r.chart.release} revision ${r.chart.revision} (${r.chart.changed ? 'upgraded' : 'unchanged'}), chart ${r.chart.chartVersion}`,
    ...(r.scaling ? [`  scaled:    ${formatSizes(r.scaling)}`] : []),
    ...(r.restarted.length ? [`  restarted: ${r.restarted.join(', ')} (in this order)`] : []),
    `  pods:      ${r.ready.map(p => `${p.pod} ${(p.waitedMs / 1000).toFixed(1)}s`).join(', ')}`,
    `  servers:   ${r.exposed.services.map(s => `${s.name}=${s.address}`).join(', ')}`
  ]
  for (const o of r.observers?.results ?? [])
    lines.push(
      `  observer:  ${o.id} ${o.host} ${o.status}, ${o.changed ? `changed ${o.changedFiles.join('+')}` : 'unchanged'}, ${o.verified ? `Mode: ${o.mode} zxid ${o.zxid}` : 'not verified'}`
    )
  if (r.monitoring) lines.push(`  monitoring: targets ${r.monitoring.targets.join(', ') || 'none'}; ServiceMonitor ${r.monitoring.serviceMonitor}`)
  return `${lines.join('\n')}\n`
}
