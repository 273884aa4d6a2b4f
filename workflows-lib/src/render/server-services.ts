// One LoadBalancer Service per server pod, so observers in another network can reach each
// server's quorum and election ports (the second source write-up, step 2).
import { serverServiceName } from '../environment/defaults.js'
import type { Environment } from '../environment/types.js'
import { managedLabels } from './labels.js'
import { ELECTION_PORT, QUORUM_PORT } from './observer-files.js'

export const SERVER_ROLE = 'server-lb'
export const ORDINAL_LABEL = 'zk-rollout/ordinal'

export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  [key: string]: unknown
}

type ServiceEnv = Pick<Environment, 'name' | 'kubernetes' | 'expose'>

export function renderServerService(env: ServiceEnv, ordinal: number, statefulSet = env.kubernetes.statefulSet): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serverServiceName(env, ordinal),
      namespace: env.kubernetes.namespace,
      labels: { ...managedLabels(env, SERVER_ROLE), [ORDINAL_LABEL]: String(ordinal) },
      ...(Object.keys(env.expose.annotations).length > 0 ? { annotations: { ...env.expose.annotations } } : {})
    },
    spec: {
      type: 'LoadBalancer',
      // The StatefulSet controller labels every pod with its own name: one pod per Service.
      selector: { 'statefulset.kubernetes.io/pod-name': `${statefulSet}-${ordinal}` },
      // protocol is explicit: server-side apply on older API servers rejects ports without it.
      ports: [
        { name: 'quorum', port: QUORUM_PORT, targetPort: QUORUM_PORT, protocol: 'TCP' },
        { name: 'election', port: ELECTION_PORT, targetPort: ELECTION_PORT, protocol: 'TCP' }
      ]
    }
  }
}

export function renderServerServices(env: ServiceEnv & Pick<Environment, 'ensemble'>, statefulSet?: string): Manifest[] {
  return Array.from({ length: env.ensemble.servers }, (_, i) => renderServerService(env, i, statefulSet))
}
