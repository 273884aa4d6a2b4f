// Step 2: pods 0..N-1 of the StatefulSet Ready, in order, driven by one watch. Fails fast on a
// crash loop, an unschedulable pod or an image that cannot be pulled; otherwise at the
// per-pod or overall deadline. Every failure carries the pod's diagnostics.
import { diagnosePod, formatDiagnostics, podSummary, type PodDiagnostics } from '../kube/diagnostics.js'
import type { Environment } from '../environment/types.js'
import type { Kubectl } from '../kube/kubectl.js'
import { podSelector, type Pod, type StatefulSet } from '../kube/types.js'
import { listAndWatch } from '../kube/watch.js'
import * as log from '../output/log.js'
import { setSafeInterval, setSafeTimeout } from '../util/timer.js'

export interface WaitReadyOptions {
  kubectl: Kubectl
  namespace: string
  statefulSet: string
  podTimeoutMs: number
  overallTimeoutMs: number
  /** Restarts of a not-Ready pod that count as a crash loop even before CrashLoopBackOff. */
  crashLoopRestarts?: number
  progressIntervalMs?: number
}

/** A wait for one environment; undefined fields take the environment's own values. */
export interface WaitReadyRequest {
  kubectl: Kubectl
  env: Environment
  /** Default: the environment's StatefulSet (deploy-chart reads the real one from the release). */
  statefulSet?: string
  /** Default: timeouts.podReady. */
  podTimeoutMs?: number
  /** Default: the pod timeout times the number of servers. */
  overallTimeoutMs?: number
}

export function waitReadyOptions(req: WaitReadyRequest): WaitReadyOptions {
  const podTimeoutMs = req.podTimeoutMs ?? req.env.timeouts.podReadyMs
  return {
    kubectl: req.kubectl,
    namespace: req.env.kubernetes.namespace,
    statefulSet: req.statefulSet ?? req.env.kubernetes.statefulSet,
    podTimeoutMs,
    overallTimeoutMs: req.overallTimeoutMs ?? podTimeoutMs * req.env.ensemble.servers
  }
}

export interface PodReadyTime {
  pod: string
  ordinal: number
  /** From the moment this pod became the one being waited for. */
  waitedMs: number
}

export class WaitReadyError extends Error {
  constructor(
    message: string,
    readonly diagnostics: PodDiagnostics | undefined
  ) {
    super(diagnostics ? `${message}\n${formatDiagnostics(diagnostics)}` : message)
    this.name = 'WaitReadyError'
  }
}

/**
 * Why the wait for one pod stops: a fast failure or its per-pod timeout. The abort reason of the
 * pod watch, so the error names the pod that failed, which need not be the one waited for.
 */
export class PodFailure extends Error {
  constructor(
    readonly ordinal: number,
    readonly reason: string
  ) {
    super(reason)
    this.name = 'PodFailure'
  }
}

const fatalWaitingReasons = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError'
])

export function isPodReady(pod: Pod | undefined, updateRevision: string | undefined): boolean {
  if (!pod || pod.metadata.deletionTimestamp) return false
  if (updateRevision && pod.metadata.labels?.['controller-revision-hash'] !== updateRevision) return false
  return (pod.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')
}

/** A reason to stop waiting now, or undefined while the pod may still become Ready. */
export function fastFailure(pod: Pod | undefined, crashLoopRestarts: number): string | undefined {
  if (!pod) return undefined
  const scheduled = pod.status?.conditions?.find(c => c.type === 'PodScheduled')
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') return `cannot be scheduled: ${scheduled.message ?? 'no node fits'}`
  for (const c of pod.status?.containerStatuses ?? []) {
    const reason = c.state?.waiting?.reason
    if (reason && fatalWaitingReasons.has(reason))
      return `container ${c.name} is ${reason} (restarts: ${c.restartCount})${c.state?.waiting?.message ? `: ${c.state.waiting.message}` : ''}`
    if (!c.ready && c.restartCount >= crashLoopRestarts) return `container ${c.name} keeps restarting (restarts: ${c.restartCount})`
  }
  return undefined
}

async function settledStatefulSet(opts: WaitReadyOptions, deadline: number): Promise<StatefulSet> {
  let found: StatefulSet | undefined
  // The controller must have seen the latest spec before its updateRevision means anything.
  await listAndWatch<StatefulSet>(opts.kubectl, {
    path: `/apis/apps/v1/namespaces/${opts.namespace}/statefulsets`,
    fieldSelector: `metadata.name=${opts.statefulSet}`,
    what: `statefulset ${opts.statefulSet}`,
    timeoutMs: Math.max(1, deadline - Date.now()),
    timeoutError: () =>
      new WaitReadyError(
        found
          ? `StatefulSet ${opts.statefulSet} was not observed by its controller in time (generation ${(found.metadata as { generation?: number }).generation}, observed ${found.status?.observedGeneration ?? 'none'}): is kube-controller-manager running?`
          : `StatefulSet ${opts.statefulSet} does not exist in namespace ${opts.namespace}: did deploy-chart run?`,
        undefined
      ),
    onChange: objects => {
      found = objects.get(opts.statefulSet)
      const generation = (found?.metadata as { generation?: number } | undefined)?.generation ?? 0
      return found !== undefined && (found.status?.observedGeneration ?? 0) >= generation
    }
  })
  return found!
}

export async function waitReady(opts: WaitReadyOptions): Promise<PodReadyTime[]> {
  const started = Date.now()
  const deadline = started + opts.overallTimeoutMs
  const sts = await settledStatefulSet(opts, deadline)
  const replicas = sts.spec.replicas ?? 1
  const updateRevision = sts.status?.updateRevision
  // Under OnDelete the controller replaces nothing itself (and never advances currentRevision):
  // zk-rollout restarted the pods already, so they are waited for in ordinal order.
  const onDelete = (sts.spec as { updateStrategy?: { type?: string } }).updateStrategy?.type === 'OnDelete'
  const rolling = !onDelete && Boolean(updateRevision && sts.status?.currentRevision && sts.status.currentRevision !== updateRevision)
  // New pods come up 0..N-1; a rolling update replaces them N-1..0. Wait in the controller's order.
  const order = Array.from({ length: replicas }, (_, i) => (rolling ? replicas - 1 - i : i))
  const podName = (ordinal: number): string => `${opts.statefulSet}-${ordinal}`
  const selector = podSelector(sts)
  log.info(
    `waiting for ${replicas} pod(s) of StatefulSet ${opts.statefulSet} in order ${order.map(podName).join(', ')}${rolling ? ' (rolling update)' : ''}`
  )

  const ready: PodReadyTime[] = []
  let index = 0
  let currentSince = Date.now()
  let pods: ReadonlyMap<string, Pod> = new Map()
  const abort = new AbortController()
  const crashLoopRestarts = opts.crashLoopRestarts ?? 3

  const failWith = async (ordinal: number, why: string): Promise<never> => {
    const name = podName(ordinal)
    throw new WaitReadyError(`pod ${name} ${why}`, await diagnosePod(opts.kubectl, opts.namespace, name, pods.get(name)))
  }

  // The overall deadline is the pod watch's own timeout. The per-pod deadline is one timer,
  // re-armed whenever the next pod becomes the one waited for; the ticker only prints progress.
  let podDeadline: NodeJS.Timeout | undefined
  const armPodDeadline = (): void => {
    clearTimeout(podDeadline)
    if (index >= order.length) return
    const ordinal = order[index]
    podDeadline = setSafeTimeout(
      () => abort.abort(new PodFailure(ordinal, `not Ready after ${Math.round((Date.now() - currentSince) / 1000)} s (per-pod timeout)`)),
      opts.podTimeoutMs,
      'per-pod timeout'
    )
  }
  const ticker = setSafeInterval(
    () => {
      if (index >= order.length) return
      const name = podName(order[index])
      log.info(`  ${name}: waiting ${Math.round((Date.now() - currentSince) / 1000)} s: ${podSummary(pods.get(name))}`)
    },
    opts.progressIntervalMs ?? 10_000,
    'progress'
  )
  armPodDeadline()

  try {
    await listAndWatch<Pod>(opts.kubectl, {
      path: `/api/v1/namespaces/${opts.namespace}/pods`,
      labelSelector: selector,
      what: `pods of ${opts.statefulSet}`,
      signal: abort.signal,
      timeoutMs: Math.max(1, deadline - Date.now()),
      timeoutError: () => new Error(`not Ready within the overall timeout of ${Math.round(opts.overallTimeoutMs / 1000)} s`),
      onChange: objects => {
        pods = objects
        while (index < order.length && isPodReady(objects.get(podName(order[index])), updateRevision)) {
          const now = Date.now()
          ready.push({ pod: podName(order[index]), ordinal: order[index], waitedMs: now - currentSince })
          log.info(`${podName(order[index])} Ready after ${((now - currentSince) / 1000).toFixed(1)} s`)
          index++
          currentSince = now
          armPodDeadline()
        }
        if (index >= order.length) return true
        for (const ordinal of order.slice(index)) {
          const why = fastFailure(objects.get(podName(ordinal)), crashLoopRestarts)
          if (why) {
            abort.abort(new PodFailure(ordinal, why))
            return false
          }
        }
        return false
      }
    })
  } catch (error) {
    if (error instanceof WaitReadyError) throw error
    if (error instanceof PodFailure) await failWith(error.ordinal, error.reason)
    // The overall timeout, or kubectl failing: about the pod being waited for.
    await failWith(order[index], (error as Error).message)
  } finally {
    clearInterval(ticker)
    clearTimeout(podDeadline)
  }
  log.info(`all ${replicas} pods Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return ready
}
