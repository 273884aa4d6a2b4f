// Step 2: pods 0..N-1 of the StatefulSet Ready, in order, driven by one watch. Fails fast on a
// crash loop, an unschedulable pod or an image that cannot be pulled; otherwise at the
// per-pod or overall deadline. Every failure carries the pod's diagnostics.
import * as core from '@actions/core'
import { diagnosePod, formatDiagnostics, podSummary, type PodDiagnostics } from '../kube/diagnostics.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { Pod, StatefulSet } from '../kube/types.js'
import { listAndWatch } from '../kube/watch.js'

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
  const rolling = Boolean(updateRevision && sts.status?.currentRevision && sts.status.currentRevision !== updateRevision)
  // New pods come up 0..N-1; a rolling update replaces them N-1..0. Wait in the controller's order.
  const order = Array.from({ length: replicas }, (_, i) => (rolling ? replicas - 1 - i : i))
  const podName = (ordinal: number): string => `${opts.statefulSet}-${ordinal}`
  const selector = Object.entries((sts.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  core.info(
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

  // Per-pod deadline and progress lines: both need a clock, not just events.
  const ticker = setInterval(() => {
    if (index >= order.length) return
    const name = podName(order[index])
    const waited = Date.now() - currentSince
    if (waited >= opts.podTimeoutMs) abort.abort(new Error(`not Ready after ${Math.round(waited / 1000)} s (per-pod timeout)`))
    else core.info(`  ${name}: waiting ${Math.round(waited / 1000)} s: ${podSummary(pods.get(name))}`)
  }, opts.progressIntervalMs ?? 10_000)
  const deadlineTimer = setInterval(
    () => {
      if (index < order.length && Date.now() - currentSince >= opts.podTimeoutMs)
        abort.abort(new Error(`not Ready after ${Math.round((Date.now() - currentSince) / 1000)} s (per-pod timeout)`))
    },
    Math.min(1000, opts.podTimeoutMs)
  )

  try {
    await listAndWatch<Pod>(opts.kubectl, {
      path: `/api/v1/namespaces/${opts.namespace}/pods`,
      labelSelector: selector || undefined,
      what: `pods of ${opts.statefulSet}`,
      signal: abort.signal,
      timeoutMs: Math.max(1, deadline - Date.now()),
      timeoutError: () => new Error(`not Ready within the overall timeout of ${Math.round(opts.overallTimeoutMs / 1000)} s`),
      onChange: objects => {
        pods = objects
        while (index < order.length && isPodReady(objects.get(podName(order[index])), updateRevision)) {
          const now = Date.now()
          ready.push({ pod: podName(order[index]), ordinal: order[index], waitedMs: now - currentSince })
          core.info(`${podName(order[index])} Ready after ${((now - currentSince) / 1000).toFixed(1)} s`)
          index++
          currentSince = now
        }
        if (index >= order.length) return true
        for (const ordinal of order.slice(index)) {
          const why = fastFailure(objects.get(podName(ordinal)), crashLoopRestarts)
          if (why) {
            abort.abort(new Error(why, { cause: ordinal }))
            return false
          }
        }
        return false
      }
    })
  } catch (error) {
    if (error instanceof WaitReadyError) throw error
    const failing = (error as Error).cause
    await failWith(typeof failing === 'number' ? failing : order[index], (error as Error).message)
  } finally {
    clearInterval(ticker)
    clearInterval(deadlineTimer)
  }
  core.info(`all ${replicas} pods Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return ready
}
