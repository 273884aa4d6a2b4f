// The environment model after validation and defaults: every field is present and typed, so
// renderers and actions never re-derive a default.

export type ChartSource =
  | { kind: 'bundled' }
  | { kind: 'repo'; url: string; name: string; version: string }
  | { kind: 'oci'; url: string; version: string }
  | { kind: 'path'; path: string }

export type Cloud = 'none' | 'tke' | 'aws' | 'gke' | 'azure'
export type AddressKind = 'ip' | 'hostname'
export type MetricsMode = 'native' | 'exporter'

export interface SshEndpoint {
  host: string
  user: string
  port: number
}

export interface ObserverHost {
  id: number
  host: string
  /** Address for the monitoring Endpoints (an IP); undefined when monitoring is off. */
  metricsAddress?: string
}

export interface Observers {
  image: string
  metrics: MetricsMode
  metricsPort: number
  clientPort: number
  directory: string
  ssh: { user: string; port: number; jumpHost?: SshEndpoint }
  tuning: { tickTime: number; initLimit: number; syncLimit: number; maxClientCnxns: number }
  hosts: ObserverHost[]
}

export interface Monitoring {
  serviceName: string
  namespace: string
  labels: Record<string, string>
  serviceMonitor: { enabled: boolean; labels: Record<string, string>; interval: string }
}

export interface Environment {
  /** Directory name under environments/. */
  name: string
  /** Absolute path of the environment directory. */
  directory: string
  /** Absolute path of environment.yaml. */
  file: string
  kubernetes: { namespace: string; release: string; statefulSet: string; headlessService: string; clusterDomain: string }
  chart: { source: ChartSource; valuesFile: string }
  ensemble: { servers: number; allowUnsafeSize: boolean }
  expose: {
    serviceName: string
    cloud: Cloud
    subnet?: string
    addressKind: AddressKind
    annotations: Record<string, string>
  }
  observers?: Observers
  monitoring?: Monitoring
  timeouts: { podReadyMs: number; loadBalancerMs: number; observerJoinMs: number }
}
