// One readable job summary per environment: what failed first (if anything), the servers (pod,
// LoadBalancer address, time to Ready), the observers (changed files, restart, Mode, zxid), the
// monitoring targets, and a Mermaid topology diagram that GitHub renders.
import type { ObserverResult } from '../observers/results.js'
import { markdownTable } from './summary.js'

export interface RolloutSummaryInput {
  environment: string
  namespace?: string
  /** The first step that failed, and why. */
  failed?: { step: string; reason: string }
  chart?: { release: string; revision: string; previousRevision?: string; changed: boolean; chartVersion?: string }
  /** Seconds each pod took to become Ready, by pod name (wait-ready's `times`). */
  podTimes?: Record<string, number>
  /** The per-pod LoadBalancer Services in ordinal order, with their addresses (expose-servers). */
  servers?: { service: string; address: string }[]
  observers?: ObserverResult[]
  /** Scrape targets (address:port) and the ServiceMonitor's state (register-monitoring). */
  monitoring?: { targets: string[]; serviceMonitor: string }
}

// Mermaid labels go in "..." and may hold entities: quotes and angle brackets become entities,
// anything that could end the line or the label becomes a space.
// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/g
const label = (text: string): string => text.replace(LINE_BREAKING, ' ').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')

/** The diagram: pods -> their LoadBalancers -> observers (they dial in) -> Prometheus. */
export function topologyMermaid(input: RolloutSummaryInput): string {
  const lines = ['flowchart LR']
  const pods = Object.keys(input.podTimes ?? {})
  const servers = input.servers ?? []
  const count = Math.max(pods.length, servers.length)
  lines.push(`  subgraph cluster["Kubernetes${input.namespace ? `: namespace ${label(input.namespace)}` : ''}"]`)
  for (let i = 0; i < count; i++) {
    lines.push(`    pod${i}["${label(pods[i] ?? `server ${i}`)}"]`)
    if (servers[i]) lines.push(`    lb${i}["${label(`${servers[i].service} ${servers[i].address}`)}"]`, `    pod${i} --- lb${i}`)
  }
  lines.push('  end')
  const observers = input.observers ?? []
  if (observers.length > 0) {
    lines.push('  subgraph vms["Observer VMs"]')
    for (const o of observers) lines.push(`    obs${o.id}["${label(`observer ${o.id} ${o.host}${o.mode ? ` (${o.mode})` : ''}`)}"]`)
    lines.push('  end')
    // Observers have the higher ids, so they dial in: every observer to every server's LB.
    for (const o of observers) for (let i = 0; i < servers.length; i++) lines.push(`  lb${i} -- "2888/3888" --> obs${o.id}`)
  }
  if (input.monitoring && observers.length > 0) {
    lines.push('  prom["Prometheus"]')
    for (const o of observers) lines.push(`  obs${o.id} -. "metrics" .-> prom`)
  }
  return lines.join('\n')
}

const observerFiles = (o: ObserverResult): string => (!o.compared ? 'not compared' : o.changed ? o.changedFiles.join(', ') : 'unchanged')

export function rolloutSummaryMarkdown(input: RolloutSummaryInput): string {
  const out: string[] = [`## zk-rollout: ${input.environment}`, '']
  if (input.failed) out.push(`> [!CAUTION]`, `> **${input.failed.step} failed**: ${input.failed.reason.replace(/\s*\r?\n\s*/g, ' ')}`, '')
  else out.push('Rolled out: every step succeeded.', '')
  if (input.chart) {
    const c = input.chart
    const revision = c.changed && c.previousRevision ? `${c.previousRevision} → ${c.revision}` : c.revision
    out.push(
      `Release **${c.release}** revision ${revision}${c.chartVersion ? `, chart ${c.chartVersion}` : ''} (${c.changed ? 'upgraded' : 'unchanged'}).`,
      ''
    )
  }
  const pods = Object.entries(input.podTimes ?? {})
  const servers = input.servers ?? []
  if (pods.length > 0 || servers.length > 0) {
    const rows = Array.from({ length: Math.max(pods.length, servers.length) }, (_, i) => [
      i + 1,
      pods[i]?.[0] ?? '—',
      servers[i]?.service ?? '—',
      servers[i]?.address ?? '—',
      pods[i] ? `${pods[i][1].toFixed(1)} s` : '—'
    ])
    out.push('### Servers', '', markdownTable(['server', 'pod', 'LoadBalancer', 'address', 'Ready after'], rows, { right: [0, 4] }), '')
  }
  const observers = input.observers ?? []
  if (observers.length > 0) {
    const rows = observers.map(o => [o.id, o.host, o.status, observerFiles(o), o.restarted ? 'yes' : 'no', o.mode ?? '—', o.zxid ?? '—'])
    out.push('### Observers', '', markdownTable(['id', 'host', 'status', 'changed files', 'restarted', 'Mode', 'zxid'], rows, { right: [0] }), '')
  }
  if (input.monitoring)
    out.push(
      '### Monitoring',
      '',
      `Targets: ${input.monitoring.targets.map(t => `\`${t}\``).join(', ') || 'none'}; ServiceMonitor: ${input.monitoring.serviceMonitor}.`,
      ''
    )
  if (servers.length > 0 || observers.length > 0) out.push('### Topology', '', '```mermaid', topologyMermaid(input), '```', '')
  return out.join('\n')
}
