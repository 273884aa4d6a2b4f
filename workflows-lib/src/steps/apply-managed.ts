// Apply a set of objects zk-rollout owns and delete the ones of the same role that are no
// longer wanted; report which changed (an unchanged object keeps its resourceVersion).
import type { Kubectl } from '../kube/kubectl.js'
import type { KubeObject } from '../kube/types.js'

export interface ApplyOutcome {
  changed: string[]
  unchanged: string[]
  deleted: string[]
}

export async function applyManaged(
  kubectl: Kubectl,
  namespace: string,
  resources: string[],
  selector: string,
  desired: KubeObject[]
): Promise<ApplyOutcome> {
  const key = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`
  const existing = new Map<string, string | undefined>()
  for (const resource of resources)
    for (const o of await kubectl.list<KubeObject>(resource, namespace, selector))
      existing.set(key({ ...o, kind: o.kind ?? resource }), o.metadata.resourceVersion)
  const applied = await kubectl.apply<KubeObject>(desired)
  const outcome: ApplyOutcome = { changed: [], unchanged: [], deleted: [] }
  for (const o of applied) (existing.get(key(o)) === o.metadata.resourceVersion ? outcome.unchanged : outcome.changed).push(key(o))
  const wanted = new Set(desired.map(key))
  for (const stale of [...existing.keys()].filter(k => !wanted.has(k))) {
    const [kind, name] = stale.split('/')
    await kubectl.delete(kind, name, namespace)
    outcome.deleted.push(stale)
  }
  return outcome
}
