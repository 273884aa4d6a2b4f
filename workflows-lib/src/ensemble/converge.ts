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
import { findStatefulSet } from '../kube/helm.js'
import { deployChart, rollbackChart, unsafeScalingError, type DeployChartResult } from '../steps/deploy-chart.js'
import { serverPodQuery, type PodQuery } from './pod-query.js'
import { EnsembleStepError, restartServer, rollOutdated, settledStatefulSet, waitForQuorum, waitPodReplaced, type RollContext } from './roll.js'
import { formatEnsembleState, hasQuorum, readEnsembleState, templateVoters, type StatefulSetWithStrategy } from './state.js'

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
  const live = await kubectl.getOptional<StatefulSetWithStrategy>('statefulset', name, namespace)
  const ctx = rollContext(env, kubectl, opts.query, opts.onRestart)
  // Every helm upgrade is followed by the controller's reading of it: before that, its
  // updateRevision is the previous one and a roll would restart nothing.
  const deploy = async (size?: { replicas: number; servers: number }): Promise<{ chart: DeployChartResult; sts: StatefulSetWithStrategy }> => {
    const chart = await deployChart({ env, helm: opts.helm, kubectl, roots: opts.roots, ...(size ? { size } : {}) })
    return { chart, sts: await settledStatefulSet(ctx) }
  }
  // First install: pods start 0..N-1, each with the full server list; nothing to restart.
  if (!live) return { chart: (await deploy()).chart, restarted: [] }

  const from = live.spec.replicas ?? 1
  // Voters the live template lists: fewer than replicas while a scale-down step is halfway.
  let voters = templateVoters(live) ?? from
  const to = env.ensemble.servers
  const restarted: string[] = []

  const plan = scalingPlanFor(env, name, from)
  if (plan && plan.steps.length > 1 && !opts.afterStep)
    throw new ScalingRefusal(
      `StatefulSet ${name} has ${from} servers and the environment asks for ${to}: that is ${plan.steps.length} steps (${formatSizes(plan)}), ` +
        `each followed by the LoadBalancers and the observers' new server list: give deploy-chart the observers' ssh-private-key and known-hosts ` +
        `(the root action passes them), or run zk-rollout rollout`
    )

  // Resume: a step interrupted halfway left servers on two lists; finish it first among the
  // servers the live template lists, all of them before any leader restart, so the next step
  // again differs by one voter only. It waits for the quorum itself (a server of a failed step
  // may still be coming back). A scale-down stopped after the others dropped the last server
  // while that server leads: they could not follow it, so every list gets it back first.
  if (voters < from) {
    const leaving = `${name}-${from - 1}`
    if ((await readEnsembleState(kubectl, ctx.query, namespace, name)).leaders.includes(leaving)) {
      await deploy({ replicas: from, servers: from })
      restarted.push(...(await rollOutdated(ctx, from)))
      restarted.push(...(await moveLeadershipOff(ctx, from, from - 1)))
      await deploy({ replicas: from, servers: voters })
    }
  }
  restarted.push(...(await rollOutdated(ctx, Math.min(from, voters))))
  if (plan) {
    const state = await readEnsembleState(kubectl, ctx.query, namespace, name)
    if (!hasQuorum(state, Math.min(from, voters)))
      throw new EnsembleStepError(
        `scale ${formatSizes(plan)} refused: the ensemble has no quorum now; fix that first (a scale restarts servers)`,
        state
      )
    log.info(`scaling StatefulSet ${name}: ${formatSizes(plan)}, one voter per step`)
    if (plan.unsafeSize) log.warning(`target size ${to}: ${plan.unsafeSize} (allowed by ensemble.allowUnsafeSize)`)
  }

  let chart: DeployChartResult | undefined
  for (const step of plan?.steps ?? []) {
    const leaving = `${name}-${step.change.ordinal}`
    log.info(`== scale step ${step.from} -> ${step.to}: ${step.change.kind} server.${step.change.myid} (${leaving})`)
    if (step.change.kind === 'add') {
      const deployed = await deploy({ replicas: step.to, servers: step.to })
      chart = deployed.chart
      await waitPodReplaced(ctx, leaving, undefined, deployed.sts.status?.updateRevision)
      restarted.push(...(await rollOutdated(ctx, step.to)))
    } else {
      // A server that no longer lists the leader cannot follow it: leadership moves first, while
      // every server still lists the one leaving (if a run stopped after the others had dropped
      // it, they get it back first: one voter apart again).
      const state = await waitForQuorum(ctx, Math.min(step.from, voters), `before removing ${leaving}`)
      if (state.leaders.includes(leaving)) restarted.push(...(await moveLeadershipOff(ctx, step.from, step.change.ordinal)))
      // The others stop listing the last server while it still runs; only then is it removed.
      await deploy({ replicas: step.from, servers: step.to })
      restarted.push(...(await rollOutdated(ctx, step.to)))
      chart = (await deploy({ replicas: step.to, servers: step.to })).chart
      await waitPodGone(ctx, leaving)
      log.info(await removedPodClaims(kubectl, live, leaving))
    }
    voters = step.to
    if (step.to !== to) await opts.afterStep?.(step)
  }
  if (!chart) {
    chart = (await deploy()).chart
    restarted.push(...(await rollOutdated(ctx, to)))
  }
  if (restarted.length) {
    const state = await readEnsembleState(kubectl, ctx.query, namespace, name)
    for (const line of formatEnsembleState(state)) log.info(`  ${line}`)
  }
  return { chart, ...(plan ? { scaling: plan } : {}), restarted }
}

function rollContext(env: Environment, kubectl: Kubectl, query: PodQuery | undefined, onRestart: RollContext['onRestart'] | undefined): RollContext {
  const { namespace, statefulSet } = env.kubernetes
  return {
    kubectl,
    query: query ?? serverPodQuery(kubectl, env),
    namespace,
    statefulSet,
    podTimeoutMs: env.timeouts.podReadyMs,
    quorumTimeoutMs: env.timeouts.podReadyMs,
    ...(onRestart ? { onRestart } : {})
  }
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
async function removedPodClaims(kubectl: Kubectl, sts: StatefulSetWithStrategy, pod: string): Promise<string> {
  // The controller names them <template>-<pod>: exactly those, not a look-alike of another release.
  const templates = ((sts.spec as { volumeClaimTemplates?: KubeObject[] }).volumeClaimTemplates ?? []).map(t => `${t.metadata.name}-${pod}`)
  if (templates.length === 0) return `${pod} removed; it had no PersistentVolumeClaims`
  const kept = await Promise.all(templates.map(c => kubectl.getOptional('persistentvolumeclaim', c, sts.metadata.namespace))).then(
    found => templates.filter((_, i) => found[i]),
    () => templates
  )
  if (kept.length === 0) return `${pod} removed; its PersistentVolumeClaims were already gone`
  return `${pod} removed; its PersistentVolumeClaims are kept. To delete them by hand: kubectl delete pvc -n ${sts.metadata.namespace} ${kept.join(' ')}`
}

async function waitPodGone(ctx: RollContext, pod: string): Promise<void> {
  const deadline = Date.now() + ctx.podTimeoutMs
  while (await ctx.kubectl.getOptional('pod', pod, ctx.namespace)) {
    if (Date.now() >= deadline) throw new EnsembleStepError(`pod ${pod} was not removed within ${Math.round(ctx.podTimeoutMs / 1000)} s`, undefined)
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

export interface RollBackOptions {
  env: Environment
  helm: Helm
  kubectl: Kubectl
  revision: number
  query?: PodQuery
  onRestart?: RollContext['onRestart']
}

/**
 * helm rollback, then the servers restarted onto the old revision in ZooKeeper order (under
 * OnDelete nothing else would restart them). A revision of another size is refused: helm would
 * change the voters at once; rolling out the old ensemble.servers takes the safe steps instead.
 */
export async function rollBack(opts: RollBackOptions): Promise<string[]> {
  const { env, helm, kubectl, revision } = opts
  const { release, namespace, statefulSet } = env.kubernetes
  const live = await kubectl.getOptional<StatefulSetWithStrategy>('statefulset', statefulSet, namespace)
  const old = findStatefulSet(await helm.manifestAt(release, namespace, revision), release)
  const oldReplicas = old.spec.replicas ?? 1
  const liveReplicas = live?.spec.replicas
  if (liveReplicas !== undefined && (oldReplicas !== liveReplicas || templateVoters(old as StatefulSetWithStrategy) !== templateVoters(live!)))
    throw new ScalingRefusal(
      `revision ${revision} of ${release} has ${oldReplicas} servers and the live ensemble ${liveReplicas} (or lists other voters): ` +
        `a rollback would change them at once. Roll out ensemble.servers: ${oldReplicas} instead, which goes one voter per step`
    )
  await rollbackChart(helm, env, revision)
  if (!live) return []
  const ctx = rollContext(env, kubectl, opts.query, opts.onRestart)
  await settledStatefulSet(ctx)
  return rollOutdated(ctx, liveReplicas!)
}
