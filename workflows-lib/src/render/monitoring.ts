// Observers live outside the cluster: a selector-less Service plus hand-written Endpoints make
// them a scrape target, and a ServiceMonitor tells the Prometheus operator to scrape it (the
// second source write-up, step 5).
import type { Environment, Monitoring, Observers } from '../environment/types.js'
import { managedLabels } from './labels.js'
import type { Manifest } from './server-services.js'

export const METRICS_ROLE = 'observer-metrics'
export const METRICS_PORT_NAME = 'metrics'

type MonitoringEnv = Pick<Environment, 'name' | 'kubernetes'> & { observers: Observers; monitoring: Monitoring }

export function renderMonitoring(env: MonitoringEnv): { service: Manifest; endpoints: Manifest; serviceMonitor?: Manifest } {
  const { monitoring: m, observers: o } = env
  const selectorLabels = managedLabels(env, METRICS_ROLE)
  const labels = { ...m.labels, ...selectorLabels }
  const metadata = { name: m.serviceName, namespace: m.namespace, labels }
  const port = { name: METRICS_PORT_NAME, port: o.metricsPort, protocol: 'TCP' }
  const service: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    // No selector: the endpoints controller leaves our Endpoints alone.
    spec: { ports: [{ ...port, targetPort: o.metricsPort }] }
  }
  const endpoints: Manifest = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata,
    subsets: [
      {
        addresses: o.hosts.map(h => ({ ip: h.metricsAddress ?? h.host })),
        // The port name must match the Service port and the ServiceMonitor's endpoints[].port.
        ports: [port]
      }
    ]
  }
  if (!m.serviceMonitor.enabled) return { service, endpoints }
  const serviceMonitor: Manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: m.serviceName, namespace: m.namespace, labels: { ...m.serviceMonitor.labels, ...selectorLabels } },
    spec: {
      selector: { matchLabels: selectorLabels },
      namespaceSelector: { matchNames: [m.namespace] },
      endpoints: [{ port: METRICS_PORT_NAME, path: '/metrics', interval: m.serviceMonitor.interval }]
    }
  }
  return { service, endpoints, serviceMonitor }
}
