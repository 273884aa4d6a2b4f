// What every action that changes the cluster does around its work: load the environment, get
// the kube clients, and take (or, inside the root action, join) the environment's rollout lock.
import type { Environment } from '../environment/types.js'
import { withEnvironmentLock } from '../lock/environment-lock.js'
import { withKubeClients, type KubeClients, type KubeSettings } from './kube-clients.js'
import { loadActionEnvironment } from './paths.js'

export interface ClusterActionSettings {
  environment: string
  kube: KubeSettings
  /** Undefined: the lock's default wait. */
  lockTimeoutMs?: number
}

export async function withLockedCluster<T>(settings: ClusterActionSettings, fn: (ctx: KubeClients & { env: Environment }) => Promise<T>): Promise<T> {
  const env = await loadActionEnvironment(settings.environment)
  return withKubeClients(settings.kube, clients =>
    withEnvironmentLock(env, clients.kubectl, () => fn({ ...clients, env }), { waitTimeoutMs: settings.lockTimeoutMs })
  )
}
