// The step executor: brings the release to the environment's chart, values and size through a
// sequence of safe states. A size change goes one voter per step (scaling/plan.ts); within a step
// the servers whose configuration changed restart in ZooKeeper order (roll.ts), and between
// steps the per-pod LoadBalancers and the observers follow the size (afterStep). Every run
// starts from the live state, so a run that failed or was killed halfway is resumed by the next.
import type { ChartRoots } from '../chart/chart-reference.js'
import type { Environment } from '../environment/types.js'
import type { Helm } from '../kube/helm.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { KubeObject } from '../kube/types.js'
import * as log from '../output/log.js'
import { formatSizes, planScaling, ScalingRefusal, type ScalingPlan, type VotingStep } from '../scaling/plan.js'
import { deployChart, unsafeScalingError, type DeployChartResult } from '../steps/deploy-chart.js'
import { execPodQuery, type PodQuery } from './pod-query.js'
import { EnsembleStepError, restartServer, rollOutdated, waitForQuorum, waitPodReplaced, type RollContext } from './roll.js'
import { formatEnsembleState, hasQuorum, readEnsembleState, type StatefulSetWithStrategy } from './state.js'

export interface ConvergeOptions {
  env: Environment
  helm: Helm
  kubectl: Kubectl
  roots: ChartRoots
  /** How to ask a server pod; default kubectl exec into its `zookeeper` container. */
  query?: PodQuery
  /**
   * After every size step but the last (the caller's own later steps do the last): expose the
   * new size and give the observers the new server list. Without it, a plan of more than one
   * step is refused.
   */
  afterStep?: ((step: VotingStep) => Promise<void>) | undefined
  onRestart?: RollContext['onRestart']
}

export interface ConvergeResult {
  chart: DeployChartResult
  scaling?: ScalingPlan
  /** Pods restarted by zk-rollout, in order. */
  restarted: string[]
}

/**
 * The scale from `from` live servers to the environment's size: the planner's steps for the
 * bundled chart, whose size zk-rollout renders per step; for a third-party chart, which takes its
 * size from its own values, one server per rollout at most. Throws ScalingRefusal with the reason.
 */
export function scalingPlanFor(env: Environment, statefulSet: string, from: number | undefined): ScalingPlan | undefined {
  const to = env.ensemble.servers
  if (from === undefined || from === to) return undefined
  if (env.chart.source.kind !== 'bundled') {
    const refused = unsafeScalingError(statefulSet, from, to)
    if (refused) throw new ScalingRefusal(refused)
    return undefined
  }
  return planScaling({ from, to, allowUnsafeSize: env.ensemble.allowUnsafeSize, observerIds: env.observers?.hosts.map(h => h.id) ?? [] })
}

export async function converge(opts: ConvergeOptions): Promise<ConvergeResult> {
  const { env, kubectl } = opts
  const namespace = env.kubernetes.namespace
  const name = env.kubernetes.statefulSet
  const deploy = (size?: { replicas: number; servers: number }): Promise<DeployChartResult> =>
    deployChart({ env, helm: opts.helm, kubectl, roots: opts.roots, ...(size ? { size } : {}) })
  const live = await kubectl.getOptional<StatefulSetWithStrategy>('statefulset', name, namespace)
  // First install: pods start 0..N-1, each with the full server list; nothing to restart.
  if (!live) return { chart: await deploy(), restarted: [] }

  const ctx: RollContext = {
    kubectl,
    query: opts.query ?? execPodQuery(kubectl, { namespace, container: 'zookeeper' }),
    namespace,
    statefulSet: name,
    podTimeoutMs: env.timeouts.podReadyMs,
    quorumTimeoutMs: env.timeouts.podReadyMs,
    ...(opts.onRestart ? { onRestart: opts.onRestart } : {})
  }
  const from = live.spec.replicas ?? 1
  const to = env.ensemble.servers
  const restarted: string[] = []

  const plan = scalingPlanFor(env, name, from)
  if (plan && plan.steps.length > 1 && !opts.afterStep)
    throw new ScalingRefusal(
      `StatefulSet ${name} has ${from} servers and the environment asks for ${to}: that is ${plan.steps.length} steps (${formatSizes(plan)}), ` +
        `each followed by the LoadBalancers and the observers' new server list: give deploy-chart the observers' ssh-private-key and known-hosts ` +
        `(the root action passes them), or run zk-rollout rollout`
    )

  if (plan) {
    const state = await readEnsembleState(kubectl, ctx.query, namespace, name)
    if (!hasQuorum(state, from))
      throw new EnsembleStepError(
        `scale ${formatSizes(plan)} refused: the ensemble has no quorum now; fix that first (a scale restarts servers)`,
        state
      )
    log.info(`scaling StatefulSet ${name}: ${formatSizes(plan)}, one voter per step`)
    if (plan.unsafeSize) log.warning(`target size ${to}: ${plan.unsafeSize} (allowed by ensemble.allowUnsafeSize)`)
  }
  // Resume: a step interrupted halfway left servers on two configurations; finish it first at
  // the size both agree on, so the next step again differs by one voter only.
  restarted.push(...(await rollOutdated(ctx, Math.min(from, to))))

  let chart: DeployChartResult | undefined
  for (const step of plan?.steps ?? []) {
    log.info(`== scale step ${step.from} -> ${step.to}: ${step.change.kind} server.${step.change.myid} (${name}-${step.change.ordinal})`)
    if (step.change.kind === 'add') {
      chart = await deploy({ replicas: step.to, servers: step.to })
      const sts = await kubectl.getOptional<StatefulSetWithStrategy>('statefulset', name, namespace)
      await waitPodReplaced(ctx, `${name}-${step.change.ordinal}`, undefined, sts?.status?.updateRevision)
      restarted.push(...(await rollOutdated(ctx, step.to)))
    } else {
      // A server that no longer lists the leader cannot follow it: leadership moves first.
      restarted.push(...(await moveLeadershipOff(ctx, step.from, step.change.ordinal)))
      // The others stop listing the last server while it still runs; only then is it removed.
      await deploy({ replicas: step.from, servers: step.to })
      restarted.push(...(await rollOutdated(ctx, step.to)))
      chart = await deploy({ replicas: step.to, servers: step.to })
      await waitPodGone(ctx, `${name}-${step.change.ordinal}`)
      log.info(await removedPodClaims(kubectl, namespace, `${name}-${step.change.ordinal}`))
    }
    if (step.to !== to) await opts.afterStep?.(step)
  }
  if (!chart) {
    chart = await deploy()
    restarted.push(...(await rollOutdated(ctx, to)))
  }
  if (restarted.length) {
    const state = await readEnsembleState(kubectl, ctx.query, namespace, name)
    for (const line of formatEnsembleState(state)) log.info(`  ${line}`)
  }
  return { chart, ...(plan ? { scaling: plan } : {}), restarted }
}

/** Restarts the server at `ordinal` if it leads, so that one of the others is elected meanwhile. */
async function moveLeadershipOff(ctx: RollContext, n: number, ordinal: number): Promise<string[]> {
  const state = await waitForQuorum(ctx, n, `before removing ${ctx.statefulSet}-${ordinal}`)
  const leaving = state.servers.find(s => s.ordinal === ordinal)
  if (leaving?.mode !== 'leader') return []
  log.info(`${leaving.pod} leads and is to be removed: restarting it first, so that a server that stays takes over`)
  await restartServer(ctx, leaving, state)
  const after = await waitForQuorum(ctx, n, `after restarting ${leaving.pod}`)
  if (after.leaders.includes(leaving.pod)) throw new EnsembleStepError(`${leaving.pod} was elected leader again; rerun to try once more`, after)
  return [leaving.pod]
}

/** What happens to a removed server's volumes: they stay (the data may be wanted back); how to delete them. */
async function removedPodClaims(kubectl: Kubectl, namespace: string, pod: string): Promise<string> {
  const claims = await kubectl.list<KubeObject>('persistentvolumeclaims', namespace).then(
    list => list.map(c => c.metadata.name).filter(n => n.endsWith(`-${pod}`)),
    () => undefined
  )
  if (claims === undefined) return `${pod} removed; its PersistentVolumeClaims, if any, are kept (list them with kubectl get pvc -n ${namespace})`
  if (claims.length === 0) return `${pod} removed; it had no PersistentVolumeClaims`
  return `${pod} removed; its PersistentVolumeClaims are kept. To delete them by hand: kubectl delete pvc -n ${namespace} ${claims.join(' ')}`
}

async function waitPodGone(ctx: RollContext, pod: string): Promise<void> {
  const deadline = Date.now() + ctx.podTimeoutMs
  while (await ctx.kubectl.getOptional('pod', pod, ctx.namespace)) {
    if (Date.now() >= deadline) throw new EnsembleStepError(`pod ${pod} was not removed within ${Math.round(ctx.podTimeoutMs / 1000)} s`, undefined)
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}
