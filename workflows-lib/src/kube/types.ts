// The few Kubernetes object fields zk-rollout reads. Everything else passes through untouched.
export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
}

export interface KubeList<T> {
  metadata: { resourceVersion: string }
  items: T[]
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastTransitionTime?: string
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string }
  running?: { startedAt?: string }
  terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string }
}

export interface ContainerStatus {
  name: string
  ready: boolean
  restartCount: number
  state?: ContainerState
  lastState?: ContainerState
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string }
  status?: {
    phase?: string
    reason?: string
    message?: string
    podIP?: string
    conditions?: Condition[]
    containerStatuses?: ContainerStatus[]
    initContainerStatuses?: ContainerStatus[]
  }
}

export interface StatefulSet extends KubeObject {
  spec: { replicas?: number; serviceName?: string; podManagementPolicy?: string }
  status?: {
    replicas?: number
    readyReplicas?: number
    currentRevision?: string
    updateRevision?: string
    updatedReplicas?: number
    observedGeneration?: number
  }
}

/** Its controller has seen the latest spec: before that, status (updateRevision) describes the previous one. */
export function controllerCaughtUp(sts: StatefulSet): boolean {
  const generation = (sts.metadata as { generation?: number }).generation ?? 0
  return (sts.status?.observedGeneration ?? 0) >= generation
}

/** The label selector (`a=b,c=d`) of a StatefulSet's pods; undefined when it has none. */
export function podSelector(sts: StatefulSet): string | undefined {
  const labels = (sts.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {}
  return (
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || undefined
  )
}

export interface Service extends KubeObject {
  spec?: { type?: string; selector?: Record<string, string> }
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } }
}

export interface KubeEvent extends KubeObject {
  type?: string
  reason?: string
  message?: string
  count?: number
  lastTimestamp?: string
  eventTime?: string
  firstTimestamp?: string
  involvedObject?: { kind?: string; name?: string }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: T
}
