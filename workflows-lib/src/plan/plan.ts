// What a rollout of one environment would do and every file it would write. Used by
// `zk-rollout plan` and by the pull-request plan comment.
import * as path from 'node:path'
import { chartReference, type ChartRoots } from '../chart/chart-reference.js'
import { formatDuration } from '../environment/duration.js'
import { oneLine, quoted } from '../output/printable.js'
import { serverServiceName } from '../environment/defaults.js'
import type { Environment } from '../environment/types.js'
import { renderMonitoring } from '../render/monitoring.js'
import { OBSERVER_FILE_NAMES, renderObserverFiles } from '../render/observer-files.js'
import { renderServerServices } from '../render/server-services.js'
import { toYamlDocuments } from '../render/yaml-text.js'
import { scalingStep, type CurrentSize } from './scaling-step.js'

export interface PlanStep {
  action: 'scale-ensemble' | 'deploy-chart' | 'wait-ready' | 'expose-servers' | 'deploy-observers' | 'register-monitoring'
  summary: string
  details: string[]
}

export interface PlannedFile {
  /** Where the file goes: `kubernetes/<name>.yaml` or `observers/<id>@<host>/<file>`. */
  path: string
  content: string
}

export interface Plan {
  environment: { name: string; file: string }
  /** Server addresses used in the observers' files; placeholders when not known yet. */
  servers: string[]
  placeholders: boolean
  steps: PlanStep[]
  files: PlannedFile[]
  /** Why a rollout of this would be refused before changing anything (a size change the planner refuses). */
  refusals: string[]
}

export interface PlanOptions {
  /** Known LoadBalancer addresses, in ordinal order. */
  servers?: string[]
  roots: ChartRoots
  /** The size now (live, or at the base revision): a different one adds the scaling steps. */
  current?: CurrentSize
}

export function buildPlan(env: Environment, opts: PlanOptions): Plan {
  const n = env.ensemble.servers
  if (opts.servers && opts.servers.length !== n)
    throw new Error(`--servers gives ${opts.servers.length} address(es) but ensemble.servers is ${n}: give one per server, in ordinal order`)
  const placeholders = !opts.servers
  const serviceNames = Array.from({ length: n }, (_, i) => serverServiceName(env, i))
  const servers = opts.servers ?? serviceNames.map(name => `<${name}>`)
  const rel = (p: string): string => path.relative(opts.roots.repository, p) || '.'
  const { chart, flags } = chartReference(env, opts.roots)
  const pods = Array.from({ length: n }, (_, i) => `${env.kubernetes.statefulSet}-${i}`)
  const steps: PlanStep[] = []
  const files: PlannedFile[] = []
  const scaling = opts.current ? scalingStep(env, opts.current) : undefined
  if (scaling) steps.push({ action: 'scale-ensemble', summary: scaling.summary, details: scaling.details })

  steps.push({
    action: 'deploy-chart',
    summary: `helm upgrade --install ${env.kubernetes.release} ${env.chart.source.kind === 'bundled' || env.chart.source.kind === 'path' ? rel(chart) : chart} into namespace ${env.kubernetes.namespace}`,
    details: [
      `chart: ${describeChart(env, rel(chart))}${flags.length ? ` (${flags.join(' ')})` : ''}`,
      `values: ${rel(env.chart.valuesFile)}`,
      `servers: ${n} (StatefulSet ${env.kubernetes.statefulSet})`
    ]
  })
  steps.push({
    action: 'wait-ready',
    summary: `wait for ${pods[0]}${n > 1 ? ` .. ${pods[n - 1]}` : ''} to be Ready, in order`,
    details: [`timeout: ${formatDuration(env.timeouts.podReadyMs)} per pod`]
  })
  const annotations = Object.entries(env.expose.annotations)
  steps.push({
    action: 'expose-servers',
    summary: `one internal LoadBalancer Service per server pod: ${serviceNames.join(', ')}`,
    details: [
      `wait for each ${env.expose.addressKind === 'ip' ? 'IP address' : 'hostname'} (timeout ${formatDuration(env.timeouts.loadBalancerMs)})`,
      annotations.length
        ? `annotations: ${annotations.map(([k, v]) => `${k}=${v}`).join(', ')}`
        : 'annotations: none (the cloud default, often a public LoadBalancer)',
      placeholders ? 'addresses are not known yet: the files below show <service> placeholders' : `addresses: ${servers.join(', ')}`
    ]
  })
  files.push({ path: 'kubernetes/server-services.yaml', content: toYamlDocuments(renderServerServices(env)) })

  const o = env.observers
  if (o) {
    const jump = o.ssh.jumpHost ? ` via ${o.ssh.jumpHost.user}@${o.ssh.jumpHost.host}:${o.ssh.jumpHost.port}` : ''
    steps.push({
      action: 'deploy-observers',
      summary: `${o.hosts.length} observer${o.hosts.length === 1 ? '' : 's'} over SSH (${o.ssh.user}@<host>:${o.ssh.port}${jump}) into ${o.directory}`,
      details: [
        ...o.hosts.map(
          h => `observer ${h.id} on ${h.host}: ${OBSERVER_FILE_NAMES.join(', ')}, then docker compose up -d and wait for Mode: observer`
        ),
        `image: ${o.image}, metrics: ${o.metrics} on port ${o.metricsPort}, join timeout ${formatDuration(env.timeouts.observerJoinMs)}`
      ]
    })
    for (const host of o.hosts) {
      const rendered = renderObserverFiles({ environment: env, observers: o, host, servers, placeholders })
      for (const name of OBSERVER_FILE_NAMES) files.push({ path: `observers/${host.id}@${host.host}/${name}`, content: rendered[name] })
    }
    if (env.monitoring) {
      const m = renderMonitoring({ ...env, observers: o, monitoring: env.monitoring })
      const sm = env.monitoring.serviceMonitor
      steps.push({
        action: 'register-monitoring',
        summary: `Service + Endpoints ${env.monitoring.serviceName} in ${env.monitoring.namespace} for the observers' metrics port ${o.metricsPort}${sm.enabled ? ', and a ServiceMonitor' : ''}`,
        details: sm.enabled
          ? [
              `ServiceMonitor labels: ${
                Object.entries(sm.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || 'none'
              } (kube-prometheus-stack selects release: <its release>)`
            ]
          : ['ServiceMonitor: disabled']
      })
      files.push({
        path: 'kubernetes/observer-monitoring.yaml',
        content: toYamlDocuments([m.service, m.endpoints, ...(m.serviceMonitor ? [m.serviceMonitor] : [])])
      })
    }
  }
  const refusals = scaling?.refusal ? [scaling.refusal] : []
  return { environment: { name: env.name, file: rel(env.file) }, servers, placeholders, steps, files, refusals }
}

function describeChart(env: Environment, chartPath: string): string {
  const s = env.chart.source
  switch (s.kind) {
    case 'bundled':
      return `bundled ${chartPath}`
    case 'path':
      return `local ${chartPath}`
    case 'repo':
      return `${s.name} ${s.version} from ${s.url}`
    case 'oci':
      return `${s.url} ${s.version}`
  }
}

export function formatPlanText(plan: Plan): string {
  const out: string[] = [`Plan for environment ${quoted(plan.environment.name)} (${oneLine(plan.environment.file)})`, '']
  // Summaries and details are one line each by construction; oneLine keeps them so.
  plan.steps.forEach((step, i) => {
    out.push(`${i + 1}. ${step.action}: ${oneLine(step.summary)}`)
    for (const d of step.details) out.push(`     ${oneLine(d)}`)
  })
  out.push('', `Files (${plan.files.length}):`)
  for (const f of plan.files) {
    out.push('', `--- ${oneLine(f.path)}`, f.content.trimEnd())
  }
  return `${out.join('\n')}\n`
}
