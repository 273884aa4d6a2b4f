// Product clients pointed at a sandbox, and the environment files the Kubernetes tests use.
import { mkdtempSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Helm } from '../../workflows-lib/src/kube/helm.js'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { Sandbox } from '../sandbox/index.js'
import { repoRoot } from './environments.js'

export function productClients(sandbox: Sandbox, helmBinary: string): { kubectl: Kubectl; helm: Helm } {
  return { kubectl: new Kubectl(sandbox.kubectl, sandbox.kubeconfig), helm: new Helm(helmBinary, sandbox.kubeconfig) }
}

/** helm and kubectl caches inside the sandbox, never the user's home. */
export function useSandboxToolEnv(sandbox: Sandbox): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(sandbox.env)) if (v !== undefined && (k.startsWith('HELM_') || k === 'KUBECACHEDIR')) env[k] = v
  Object.assign(process.env, env)
  return env
}

export const roots = { bundled: repoRoot, repository: mkdtempSync(path.join(os.tmpdir(), 'zk-repo-')) }

export function kubeEnvironmentYaml(opts: { namespace: string; release: string; servers?: number; extra?: string }): string {
  return `kubernetes: { namespace: ${opts.namespace}, release: ${opts.release} }
ensemble: { servers: ${opts.servers ?? 3} }
expose: { serviceName: "{release}-lb-{ordinal}" }
timeouts: { podReady: 90s, loadBalancer: 60s }
${opts.extra ?? ''}`
}

/** Small resources and no PVCs: the sandbox node has no storage provisioner. */
export const sandboxValues = `persistence:
  enabled: false
zookeeper:
  heap: 64m
resources:
  requests: { cpu: 10m, memory: 64Mi }
`

/** The Prometheus operator's ServiceMonitor CRD, schema-less: enough for the API to serve it. */
export const serviceMonitorCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor', listKind: 'ServiceMonitorList' },
    versions: [
      { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }
    ]
  }
}
