// Why a pod is not Ready, in the words a person needs: phase, conditions, container states,
// restarts, recent events and the last log lines.
import type { Kubectl } from './kubectl.js'
import type { ContainerState, KubeEvent, KubeList, Pod } from './types.js'

export interface PodDiagnostics {
  pod: string
  phase: string
  conditions: string[]
  containers: string[]
  restarts: number
  events: string[]
  logs: string
}

export function describeState(state: ContainerState | undefined): string {
  if (state?.waiting) return `waiting (${state.waiting.reason ?? 'unknown'}${state.waiting.message ? `: ${state.waiting.message}` : ''})`
  if (state?.terminated)
    return `terminated (${state.terminated.reason ?? 'exit'} ${state.terminated.exitCode ?? ''}${state.terminated.message ? `: ${state.terminated.message}` : ''})`.replace(
      ' )',
      ')'
    )
  if (state?.running) return `running since ${state.running.startedAt ?? '?'}`
  return 'no state yet'
}

export function podRestarts(pod: Pod | undefined): number {
  return (pod?.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0)
}

/** A short status line for progress logs. */
export function podSummary(pod: Pod | undefined): string {
  if (!pod) return 'not created yet'
  const conditions = (pod.status?.conditions ?? []).map(c => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`)
  const restarts = podRestarts(pod)
  return [pod.status?.phase ?? 'Pending', ...conditions, ...(restarts ? [`restarts=${restarts}`] : [])].join(', ')
}

export async function diagnosePod(kubectl: Kubectl, namespace: string, name: string, pod: Pod | undefined): Promise<PodDiagnostics> {
  const containers = pod?.status?.containerStatuses ?? []
  const diag: PodDiagnostics = {
    pod: name,
    phase: pod ? (pod.status?.phase ?? 'Pending') : 'not created',
    conditions: (pod?.status?.conditions ?? []).map(
      c => `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`
    ),
    containers: containers.map(
      c =>
        `${c.name}: ${describeState(c.state)}, ready=${c.ready}, restarts=${c.restartCount}${c.lastState?.terminated ? `, last: ${describeState(c.lastState)}` : ''}`
    ),
    restarts: podRestarts(pod),
    events: [],
    logs: ''
  }
  try {
    const events = await kubectl.raw<KubeList<KubeEvent>>(
      `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`
    )
    const when = (e: KubeEvent): string => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? ''
    diag.events = events.items
      .sort((a, b) => when(a).localeCompare(when(b)))
      .slice(-10)
      .map(e => `${when(e)} ${e.type ?? ''} ${e.reason ?? ''}${e.count && e.count > 1 ? ` (x${e.count})` : ''}: ${e.message ?? ''}`.trim())
  } catch (error) {
    diag.events = [`(events unavailable: ${(error as Error).message.split('\n')[0]})`]
  }
  if (pod) {
    const previous = diag.restarts > 0 ? ['--previous'] : []
    try {
      diag.logs = (await kubectl.run(['logs', name, '-n', namespace, '--all-containers', '--tail=20', ...previous])).stdout.trimEnd()
    } catch (error) {
      diag.logs = `(logs unavailable: ${(error as Error).message.split('\n').slice(-1)[0]})`
    }
  }
  return diag
}

export function formatDiagnostics(d: PodDiagnostics): string {
  return [
    `pod ${d.pod}: phase ${d.phase}, restarts ${d.restarts}`,
    ...(d.conditions.length ? ['  conditions:', ...d.conditions.map(c => `    ${c}`)] : []),
    ...(d.containers.length ? ['  containers:', ...d.containers.map(c => `    ${c}`)] : []),
    '  recent events:',
    ...(d.events.length ? d.events.map(e => `    ${e}`) : ['    (none)']),
    ...(d.logs ? ['  last log lines:', ...d.logs.split('\n').map(l => `    ${l}`)] : [])
  ].join('\n')
}
