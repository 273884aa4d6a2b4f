// ZooKeeper-aware restarts of a StatefulSet with updateStrategy OnDelete: one server at a time,
// followers first and the leader last, each deleted only when the ensemble is a healthy quorum
// and waited until it is one again. Every choice comes from a fresh reading of the live state.
import type { Kubectl } from '../kube/kubectl.js'
import type { Pod } from '../kube/types.js'
import { listAndWatch } from '../kube/watch.js'
import * as log from '../output/log.js'
import { fastFailure, isPodReady } from '../steps/wait-ready.js'
import type { PodQuery } from './pod-query.js'
import {
  formatEnsembleState,
  quorumProblem,
  readEnsembleState,
  restartOrder,
  type EnsembleState,
  type ServerState,
  type StatefulSetWithStrategy
} from './state.js'

export interface RollContext {
  kubectl: Kubectl
  query: PodQuery
  namespace: string
  statefulSet: string
  /** Per pod: Ready again, then back in the quorum. */
  podTimeoutMs: number
  quorumTimeoutMs: number
  pollMs?: number
  /** Called before each restart with the state that chose it (tests record the order). */
  onRestart?: (pod: string, state: EnsembleState) => void
}

/** A check failed: nothing more was restarted. `state` is the last reading, for the report. */
export class EnsembleStepError extends Error {
  constructor(
    message: string,
    readonly state: EnsembleState | undefined
  ) {
    super(
      state
        ? `${message}\nState of the ensemble:\n${formatEnsembleState(state)
            .map(l => `  ${l}`)
            .join('\n')}`
        : message
    )
    this.name = 'EnsembleStepError'
  }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function needsRestarts(ctx: RollContext, n: number): Promise<boolean> {
  const sts = await ctx.kubectl.getOptional<StatefulSetWithStrategy>('statefulset', ctx.statefulSet, ctx.namespace)
  if (sts?.spec.updateStrategy?.type !== 'OnDelete') return false
  const revision = sts.status?.updateRevision
  const pods = await Promise.all(Array.from({ length: n }, (_, i) => ctx.kubectl.getOptional<Pod>('pod', `${ctx.statefulSet}-${i}`, ctx.namespace)))
  return pods.some(p => p?.metadata.labels?.['controller-revision-hash'] !== revision)
}

/** Until servers 0..n-1 form one healthy quorum; the last state, or EnsembleStepError at the deadline. */
export async function waitForQuorum(ctx: RollContext, n: number, why: string): Promise<EnsembleState> {
  const deadline = Date.now() + ctx.quorumTimeoutMs
  for (;;) {
    const state = await readEnsembleState(ctx.kubectl, ctx.query, ctx.namespace, ctx.statefulSet)
    const problem = quorumProblem(state, n)
    if (!problem) return state
    if (Date.now() >= deadline)
      throw new EnsembleStepError(
        `${why}: servers 0..${n - 1} were not one quorum within ${Math.round(ctx.quorumTimeoutMs / 1000)} s: ${problem}`,
        state
      )
    await sleep(ctx.pollMs ?? 500)
  }
}

/** Until the pod named `name` is a new incarnation (not `oldUid`) at `revision` and Ready. */
export async function waitPodReplaced(ctx: RollContext, name: string, oldUid: string | undefined, revision: string | undefined): Promise<void> {
  let last: Pod | undefined
  await listAndWatch<Pod>(ctx.kubectl, {
    path: `/api/v1/namespaces/${ctx.namespace}/pods`,
    fieldSelector: `metadata.name=${name}`,
    what: `pod ${name}`,
    timeoutMs: ctx.podTimeoutMs,
    timeoutError: () => new EnsembleStepError(`pod ${name} was not Ready again within ${Math.round(ctx.podTimeoutMs / 1000)} s`, undefined),
    onChange: objects => {
      last = objects.get(name)
      if (!last || last.metadata.uid === oldUid) return false
      const failed = fastFailure(last, 3)
      if (failed) throw new EnsembleStepError(`pod ${name} ${failed}`, undefined)
      return isPodReady(last, revision)
    }
  })
}

/** Deletes one server's pod and waits for its successor to be Ready at the StatefulSet's revision. */
export async function restartServer(ctx: RollContext, server: ServerState, state: EnsembleState): Promise<void> {
  ctx.onRestart?.(server.pod, state)
  await ctx.kubectl.run(['delete', 'pod', server.pod, '-n', ctx.namespace, '--wait=false'])
  try {
    await waitPodReplaced(ctx, server.pod, server.uid, state.updateRevision)
  } catch (e) {
    const now = await readEnsembleState(ctx.kubectl, ctx.query, ctx.namespace, ctx.statefulSet).catch(() => undefined)
    throw new EnsembleStepError((e as Error).message.split('\nState of the ensemble:')[0], now)
  }
}

/**
 * Restarts every server of 0..n-1 that runs an old revision, in ZooKeeper order. Returns the
 * pods restarted. A StatefulSet that is not OnDelete is the controller's to roll: nothing is done.
 */
export async function rollOutdated(ctx: RollContext, n: number): Promise<string[]> {
  const restarted: string[] = []
  // From the API alone first: a release with nothing to restart costs no exec into any pod.
  if (!(await needsRestarts(ctx, n))) return restarted
  for (;;) {
    const state = await waitForQuorum(ctx, n, restarted.length ? `after restarting ${restarted.at(-1)}` : 'before restarting any server')
    const [next, ...rest] = restartOrder(state, n)
    if (!next) return restarted
    log.info(
      `restarting ${next.pod} (${next.mode ?? 'not serving'}) for revision ${state.updateRevision}; ${rest.length ? `then ${rest.map(s => s.pod).join(', ')}` : 'the last one'}`
    )
    await restartServer(ctx, next, state)
    restarted.push(next.pod)
  }
}
