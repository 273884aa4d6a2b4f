// The root composite action's steps context (toJSON(steps)) read back into a summary: each
// step's outputs as its action declares them, and the first failed step with its `error` output.
import type { ObserverResult } from '../observers/results.js'
import type { RolloutSummaryInput } from './rollout-summary.js'

export interface StepContext {
  outcome?: string
  conclusion?: string
  outputs?: Record<string, string>
}
export type StepsContext = Record<string, StepContext>

/** The composite's step ids, in order, with what a reader calls them. */
export const ROLLOUT_STEPS: [id: string, action: string][] = [
  ['lock', 'lock'],
  ['chart', 'deploy-chart'],
  ['ready', 'wait-ready'],
  ['expose', 'expose-servers'],
  ['observers', 'deploy-observers'],
  ['monitoring', 'register-monitoring']
]

function json<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

export function summaryInputFromSteps(environment: string, steps: StepsContext, namespace?: string): RolloutSummaryInput {
  const out = (id: string): Record<string, string> => steps[id]?.outputs ?? {}
  const failedId = ROLLOUT_STEPS.find(([id]) => steps[id]?.outcome === 'failure')
  const input: RolloutSummaryInput = { environment, ...(namespace ? { namespace } : {}) }
  if (failedId) input.failed = { step: failedId[1], reason: out(failedId[0]).error || 'see the step log' }
  const chart = out('chart')
  if (chart.revision)
    input.chart = {
      release: chart.release ?? '',
      revision: chart.revision,
      ...(chart['previous-revision'] ? { previousRevision: chart['previous-revision'] } : {}),
      changed: chart.changed === 'true',
      ...(chart['chart-version'] ? { chartVersion: chart['chart-version'] } : {})
    }
  const times = json<Record<string, number>>(out('ready').times, {})
  if (Object.keys(times).length > 0) input.podTimes = times
  const services = json<string[]>(out('expose').services, [])
  const addresses = json<string[]>(out('expose').addresses, [])
  if (services.length > 0) input.servers = services.map((service, i) => ({ service, address: addresses[i] ?? '' }))
  const observers = json<ObserverResult[]>(out('observers').results, [])
  if (observers.length > 0) input.observers = observers
  const monitoring = out('monitoring')
  if (monitoring.targets !== undefined)
    input.monitoring = { targets: json<string[]>(monitoring.targets, []), serviceMonitor: monitoring['service-monitor'] ?? '' }
  return input
}
