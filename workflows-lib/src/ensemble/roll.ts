// ZooKeeper-aware restarts of a StatefulSet with updateStrategy OnDelete: one server at a time,
// followers first and the leader last. A serving server is restarted only while the ensemble is
// a healthy quorum; one that does not serve may be restarted while a majority still serves (that
// costs nothing, and is how a broken server gets fixed). Each restart is waited until the server
// serves again. Every choice comes from a fresh reading of the live state.
import type { Kubectl } from '../kube/kubectl.js'
import { controllerCaughtUp, podSelector, type Pod } from '../kube/types.js'
import { listAndWatch } from '../kube/watch.js'
import * as log from '../output/log.js'
import { fastFailure, isPodReady } from '../steps/wait-ready.js'
import type { PodQuery } from './pod-query.js'
import {
  formatEnsembleState,
  hasQuorum,
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

/**
 * The StatefulSet once its controller has seen the latest spec: before that, its updateRevision
 * is the previous one, and a roll would restart nothing (or wait for the wrong revision).
 */
export async function settledStatefulSet(ctx: RollContext): Promise<StatefulSetWithStrategy> {
  const deadline = Date.now() + ctx.podTimeoutMs
  for (;;) {
    const sts = await ctx.kubectl.getOptional<StatefulSetWithStrategy>('statefulset', ctx.statefulSet, ctx.namespace)
    if (!sts) throw new EnsembleStepError(`StatefulSet ${ctx.statefulSet} does not exist in namespace ${ctx.namespace}`, undefined)
    if (controllerCaughtUp(sts)) return sts
    if (Date.now() >= deadline)
      throw new EnsembleStepError(
        `StatefulSet ${ctx.statefulSet} was not observed by its controller within ${Math.round(ctx.podTimeoutMs / 1000)} s: is kube-controller-manager running?`,
        undefined
      )
    await sleep(ctx.pollMs ?? 200)
  }
}

/** Until `ok(state)` says nothing is wrong; the last state, or EnsembleStepError with the problem at the deadline. */
async function waitUntil(ctx: RollContext, why: string, problem: (s: EnsembleState) => string | undefined): Promise<EnsembleState> {
  const deadline = Date.now() + ctx.quorumTimeoutMs
  for (;;) {
    const state = await readEnsembleState(ctx.kubectl, ctx.query, ctx.namespace, ctx.statefulSet)
    const wrong = problem(state)
    if (!wrong) return state
    if (Date.now() >= deadline) throw new EnsembleStepError(`${why}: not within ${Math.round(ctx.quorumTimeoutMs / 1000)} s: ${wrong}`, state)
    await sleep(ctx.pollMs ?? 500)
  }
}

/** Until servers 0..n-1 form one healthy quorum (one leader, every other one a synced follower). */
export function waitForQuorum(ctx: RollContext, n: number, why: string): Promise<EnsembleState> {
  return waitUntil(ctx, `${why}: servers 0..${n - 1} were not one quorum`, s => quorumProblem(s, n))
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
  // Once: a retried deletion could hit the successor the controller already made.
  await ctx.kubectl.run(['delete', 'pod', server.pod, '-n', ctx.namespace, '--ignore-not-found', '--wait=false'], { once: true })
  try {
    await waitPodReplaced(ctx, server.pod, server.uid, state.updateRevision)
  } catch (e) {
    const now = await readEnsembleState(ctx.kubectl, ctx.query, ctx.namespace, ctx.statefulSet).catch(() => undefined)
    throw new EnsembleStepError((e as Error).message.split('\nState of the ensemble:')[0], now)
  }
}

async function needsRestarts(ctx: RollContext, n: number): Promise<boolean> {
  const sts = await settledStatefulSet(ctx)
  if (sts.spec.updateStrategy?.type !== 'OnDelete') return false
  const revision = sts.status?.updateRevision
  // One list, not a get per pod; a missing pod counts as not at the revision.
  const pods = new Map((await ctx.kubectl.list<Pod>('pods', ctx.namespace, podSelector(sts))).map(p => [p.metadata.name, p]))
  return Array.from({ length: n }, (_, i) => pods.get(`${ctx.statefulSet}-${i}`)).some(
    p => p?.metadata.labels?.['controller-revision-hash'] !== revision
  )
}

/** What stops the next restart now: a serving server needs a healthy quorum, a broken one a serving majority. */
function restartBlocker(state: EnsembleState, n: number): string | undefined {
  const next = restartOrder(state, n)[0]
  if (!next) return quorumProblem(state, n)
  if (next.mode === 'leader' || next.mode === 'follower') return quorumProblem(state, n)
  return hasQuorum(state, n) ? undefined : `no majority of servers 0..${n - 1} serves with one leader (${quorumProblem(state, n)})`
}

/**
 * Restarts every server of 0..n-1 that runs an old revision, in ZooKeeper order, and returns the
 * pods restarted. A StatefulSet that is not OnDelete is the controller's to roll: nothing is done.
 */
export async function rollOutdated(ctx: RollContext, n: number): Promise<string[]> {
  const restarted: string[] = []
  // From the API alone first: a release with nothing to restart costs no exec into any pod.
  if (!(await needsRestarts(ctx, n))) return restarted
  for (;;) {
    const why = restarted.length ? `after restarting ${restarted.at(-1)}` : 'before restarting any server'
    const state = await waitUntil(ctx, `${why}: servers 0..${n - 1} were not ready for the next restart`, s => restartBlocker(s, n))
    const [next, ...rest] = restartOrder(state, n)
    if (!next) return restarted
    log.info(
      `restarting ${next.pod} (${next.mode ?? 'not serving'}) for revision ${state.updateRevision}; ${rest.length ? `then ${rest.map(s => s.pod).join(', ')}` : 'the last one'}`
    )
    await restartServer(ctx, next, state)
    restarted.push(next.pod)
  }
}
