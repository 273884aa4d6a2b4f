// Every default of the environment model, in one place. Input here has passed validation.
import * as path from 'node:path'
import type { ChartSource, Cloud, Environment, Observers } from './types.js'
import { parseDuration } from './duration.js'

/** The ZooKeeper version of the bundled chart; observers default to the same image. */
export const ZOOKEEPER_IMAGE = 'zookeeper:3.9.4'
export const EXPORTER_IMAGE = 'josdotso/zookeeper-exporter:v1.1.2'
export const NATIVE_METRICS_PORT = 7000
export const EXPORTER_METRICS_PORT = 9141

/** Internal-LoadBalancer annotations per cloud (DESIGN.md section 3). */
export function cloudAnnotations(cloud: Cloud, subnet: string | undefined): Record<string, string> {
  switch (cloud) {
    case 'tke':
      return subnet ? { 'service.kubernetes.io/qcloud-loadbalancer-internal-subnetid': subnet } : {}
    case 'aws':
      return {
        'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal'
      }
    case 'gke':
      return { 'networking.gke.io/load-balancer-type': 'Internal' }
    case 'azure':
      return {
        'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
        ...(subnet ? { 'service.beta.kubernetes.io/azure-load-balancer-internal-subnet': subnet } : {})
      }
    case 'none':
      return {}
  }
}

/** The bundled chart's fullname rule (Helm's usual one), so the StatefulSet name is known before deploy. */
export function bundledFullname(release: string): string {
  return release.includes('zookeeper') ? release : `${release}-zookeeper`.slice(0, 63).replace(/-+$/, '')
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Raw = Record<string, any>

function chartSource(chart: Raw | undefined): ChartSource {
  if (chart?.repo) return { kind: 'repo', ...chart.repo }
  if (chart?.oci) return { kind: 'oci', ...chart.oci }
  if (chart?.path) return { kind: 'path', path: chart.path }
  return { kind: 'bundled' }
}

function observers(raw: Raw | undefined, monitoringOn: boolean): Observers | undefined {
  if (!raw) return undefined
  const metrics = raw.metrics ?? 'native'
  return {
    image: raw.image ?? ZOOKEEPER_IMAGE,
    metrics,
    metricsPort: raw.metricsPort ?? (metrics === 'native' ? NATIVE_METRICS_PORT : EXPORTER_METRICS_PORT),
    clientPort: raw.clientPort ?? 2181,
    directory: raw.directory ?? '/data/zookeeper',
    ssh: {
      user: raw.ssh?.user ?? 'deploy',
      port: raw.ssh?.port ?? 22,
      ...(raw.ssh?.jumpHost
        ? { jumpHost: { host: raw.ssh.jumpHost.host, user: raw.ssh.jumpHost.user ?? raw.ssh?.user ?? 'deploy', port: raw.ssh.jumpHost.port ?? 22 } }
        : {})
    },
    tuning: {
      tickTime: raw.tuning?.tickTime ?? 2000,
      initLimit: raw.tuning?.initLimit ?? 10,
      syncLimit: raw.tuning?.syncLimit ?? 5,
      maxClientCnxns: raw.tuning?.maxClientCnxns ?? 60
    },
    hosts: (raw.hosts as Raw[]).map(h => ({
      id: h.id,
      host: h.host,
      ...(monitoringOn ? { metricsAddress: h.metricsAddress ?? h.host } : {})
    }))
  }
}

export function applyDefaults(raw: Raw, file: string): Environment {
  const directory = path.dirname(file)
  const release: string = raw.kubernetes.release
  const statefulSet: string = raw.kubernetes.statefulSet ?? bundledFullname(release)
  const cloud: Cloud = raw.expose?.cloud ?? 'none'
  const subnet: string | undefined = raw.expose?.subnet
  const monitoringOn = Boolean(raw.observers) && raw.monitoring?.enabled !== false
  const namespace: string = raw.kubernetes.namespace
  return {
    name: path.basename(directory),
    directory,
    file,
    kubernetes: {
      namespace,
      release,
      statefulSet,
      headlessService: `${statefulSet}-headless`,
      clusterDomain: raw.kubernetes.clusterDomain ?? 'cluster.local'
    },
    chart: {
      source: chartSource(raw.chart),
      valuesFile: path.resolve(directory, raw.chart?.values ?? 'values.yaml')
    },
    ensemble: { servers: raw.ensemble.servers, allowUnsafeSize: raw.ensemble.allowUnsafeSize ?? false },
    expose: {
      serviceName: raw.expose?.serviceName ?? '{release}-lb-{ordinal}',
      cloud,
      ...(subnet ? { subnet } : {}),
      addressKind: raw.expose?.addressKind ?? (cloud === 'aws' ? 'hostname' : 'ip'),
      // Explicit annotations win over the cloud preset.
      annotations: { ...cloudAnnotations(cloud, subnet), ...(raw.expose?.annotations ?? {}) }
    },
    observers: observers(raw.observers, monitoringOn),
    monitoring: monitoringOn
      ? {
          serviceName: raw.monitoring?.serviceName ?? `${release}-observers-metrics`,
          namespace: raw.monitoring?.namespace ?? namespace,
          labels: raw.monitoring?.labels ?? {},
          serviceMonitor: {
            enabled: raw.monitoring?.serviceMonitor?.enabled ?? true,
            labels: raw.monitoring?.serviceMonitor?.labels ?? {},
            interval: raw.monitoring?.serviceMonitor?.interval ?? '30s'
          }
        }
      : undefined,
    timeouts: {
      podReadyMs: parseDuration(raw.timeouts?.podReady ?? '5m'),
      loadBalancerMs: parseDuration(raw.timeouts?.loadBalancer ?? '10m'),
      observerJoinMs: parseDuration(raw.timeouts?.observerJoin ?? '2m')
    }
  }
}

/** Service name of the LoadBalancer in front of server pod `ordinal`. */
export function serverServiceName(env: Pick<Environment, 'expose' | 'kubernetes'>, ordinal: number): string {
  return env.expose.serviceName.replaceAll('{ordinal}', String(ordinal)).replaceAll('{release}', env.kubernetes.release)
}
