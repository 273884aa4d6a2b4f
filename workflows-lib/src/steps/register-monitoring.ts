// Step 5: the observers as a scrape target: selector-less Service + Endpoints (named port) and,
// when the Prometheus operator's CRD exists, a ServiceMonitor. Observers that left the
// environment leave the Endpoints; objects of a removed monitoring config are deleted.
import * as log from '../output/log.js'
import type { Environment } from '../environment/types.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { KubeObject } from '../kube/types.js'
import { managedLabels } from '../render/labels.js'
import { METRICS_ROLE, renderMonitoring } from '../render/monitoring.js'
import { applyManaged, type ApplyOutcome } from './apply-managed.js'
import { selectorFor } from './expose-servers.js'

export interface RegisterMonitoringResult {
  outcome: ApplyOutcome
  serviceMonitor: 'applied' | 'disabled' | 'skipped: CRD not installed'
  targets: string[]
}

export async function registerMonitoring(kubectl: Kubectl, env: Environment): Promise<RegisterMonitoringResult> {
  const namespace = env.monitoring?.namespace ?? env.kubernetes.namespace
  const selector = selectorFor(managedLabels(env, METRICS_ROLE))
  const crd = await kubectl.serves('monitoring.coreos.com', 'servicemonitors')
  const resources = ['services', 'endpoints', ...(crd ? ['servicemonitors.monitoring.coreos.com'] : [])]
  const desired: KubeObject[] = []
  let serviceMonitor: RegisterMonitoringResult['serviceMonitor'] = 'disabled'
  if (env.observers && env.monitoring) {
    const m = renderMonitoring({ ...env, observers: env.observers, monitoring: env.monitoring })
    desired.push(m.service, m.endpoints)
    if (m.serviceMonitor && crd) {
      desired.push(m.serviceMonitor)
      serviceMonitor = 'applied'
    } else if (m.serviceMonitor) {
      serviceMonitor = 'skipped: CRD not installed'
      log.warning(
        `ServiceMonitor ${m.serviceMonitor.metadata.name} skipped: the cluster has no monitoring.coreos.com/v1 ServiceMonitor CRD ` +
          `(install the Prometheus operator, or set monitoring.serviceMonitor.enabled: false). The Service and Endpoints are in place.`
      )
    }
  }
  const outcome = await applyManaged(kubectl, namespace, resources, selector, desired)
  const targets = env.observers && env.monitoring ? env.observers.hosts.map(h => `${h.metricsAddress ?? h.host}:${env.observers!.metricsPort}`) : []
  log.info(
    `monitoring: ${outcome.changed.length} changed, ${outcome.unchanged.length} unchanged, ${outcome.deleted.length} removed; targets ${targets.join(', ') || 'none'}`
  )
  return { outcome, serviceMonitor, targets }
}
