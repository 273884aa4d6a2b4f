// What a rollout of one environment would change against the live cluster, for the pull-request
// plan. READ-ONLY: the deployed release is read (helm get), the desired one rendered by a
// server-side dry run (which writes nothing), the StatefulSet and zk-rollout's Services are
// listed. "Unchanged" and "refused" are decided by the same functions deploy-chart uses.
import type { ChartRoots } from '../chart/chart-reference.js'
import type { Environment } from '../environment/types.js'
import { findStatefulSet, manifestObjects, type Helm } from '../kube/helm.js'
import type { Kubectl } from '../kube/kubectl.js'
import { controllerCaughtUp, type KubeObject, type Service, type StatefulSet } from '../kube/types.js'
import { oneLine, quoted } from '../output/printable.js'
import { managedLabels } from '../render/labels.js'
import { renderServerServices, SERVER_ROLE } from '../render/server-services.js'
import { scalingPlanFor } from '../ensemble/converge.js'
import { formatSizes, ScalingRefusal } from '../scaling/plan.js'
import { pendingReleaseError, releaseUnchanged, replicaMismatchError, upgradeRequest } from '../steps/deploy-chart.js'
import { selectorFor } from '../steps/expose-servers.js'

/** Differing paths shown per changed object; values are cut to MAX_VALUE characters. */
export const MAX_PATHS = 10
export const MAX_VALUE = 60

/** One differing leaf; `from` and `to` are already shown (quoted, cut), "(none)" when absent. */
export interface PathChange {
  path: string
  from: string
  to: string
}

export type ObjectChange =
  | { kind: string; name: string; change: 'added' | 'removed' }
  /** `more`: differing paths beyond the MAX_PATHS shown. */
  | { kind: string; name: string; change: 'changed'; paths: PathChange[]; more: number }

export interface LiveDiff {
  release: string
  namespace: string
  /** The deployed release; undefined when it does not exist yet (first install). */
  live?: { revision: number; status: string; chartVersion: string }
  /** The chart version the dry run rendered (undefined when no dry run was possible). */
  chartVersion?: string
  /** deploy-chart would make no new revision. */
  unchanged: boolean
  /** In manifest order: the desired release's, then the removed ones. */
  objects: ObjectChange[]
  /** The release's StatefulSet: live replicas (undefined when there is none) and desired. */
  statefulSet?: {
    name: string
    live?: number
    desired: number
    steps?: string
    refused?: boolean
    /** Container name to image: rendered from Git, in helm's stored release, in the live object (drift compares the last two). */
    images?: { desired: Record<string, string>; released?: Record<string, string>; live?: Record<string, string> }
    /** The live object's controller has seen its latest spec (its updateRevision is current). */
    observed?: boolean
  }
  /** Why deploy-chart would refuse this rollout (it would then change nothing). */
  refusals: string[]
  /** expose-servers' per-pod LoadBalancer Services, by name. */
  services: { create: string[]; remove: string[]; keep: string[] }
}

type PodTemplated = {
  spec: { template?: { spec?: { containers?: { name: string; image?: string }[]; initContainers?: { name: string; image?: string }[] } } }
}

/** Container name to image of a StatefulSet's pod template (init containers as "init:<name>"). */
export function containerImages(sts: StatefulSet): Record<string, string> {
  const pod = (sts as unknown as PodTemplated).spec.template?.spec
  return Object.fromEntries([
    ...(pod?.initContainers ?? []).map(c => [`init:${c.name}`, c.image ?? '']),
    ...(pod?.containers ?? []).map(c => [c.name, c.image ?? ''])
  ])
}

function releasedImages(manifest: string, release: string): { released?: Record<string, string> } {
  try {
    return { released: containerImages(findStatefulSet(manifest, release)) }
  } catch {
    return {} // the stored release has no StatefulSet of ours: nothing to compare with
  }
}

/** One environment against the cluster: the comparison, or why there is none (already shown: quoted, one line). */
export type LiveComparison = { status: 'compared'; diff: LiveDiff } | { status: 'unreachable'; error: string }

export interface LiveDiffOptions {
  env: Environment
  helm: Helm
  kubectl: Kubectl
  roots: ChartRoots
}

export async function liveDiff({ env, helm, kubectl, roots }: LiveDiffOptions): Promise<LiveDiff> {
  const req = upgradeRequest(env, roots)
  const { namespace } = req
  const current = await helm.status(req.release, namespace)
  const diff: LiveDiff = {
    release: req.release,
    namespace,
    ...(current ? { live: { revision: current.revision, status: current.status, chartVersion: current.chartVersion } } : {}),
    unchanged: false,
    objects: [],
    refusals: [],
    services: { create: [], remove: [], keep: [] }
  }
  const pending = pendingReleaseError(current, req)
  let statefulSet: string | undefined
  if (pending) {
    // helm refuses even a dry run of a pending release: nothing to compare.
    diff.refusals.push(pending)
  } else {
    const desired = await helm.dryRun(req)
    diff.chartVersion = desired.chartVersion
    diff.unchanged = releaseUnchanged(current, desired)
    diff.objects = compareManifests(current ? manifestObjects(current.manifest) : [], manifestObjects(desired.manifest))
    try {
      const sts = findStatefulSet(desired.manifest, req.release)
      statefulSet = sts.metadata.name
      const replicas = sts.spec.replicas ?? 1
      const live = await kubectl.getOptional<StatefulSet>('statefulset', sts.metadata.name, namespace)
      diff.statefulSet = {
        name: sts.metadata.name,
        ...(live ? { live: live.spec.replicas ?? 1, observed: controllerCaughtUp(live) } : {}),
        desired: replicas,
        images: {
          desired: containerImages(sts),
          ...(current ? releasedImages(current.manifest, req.release) : {}),
          ...(live ? { live: containerImages(live) } : {})
        }
      }
      const mismatch = replicaMismatchError(env, sts.metadata.name, replicas)
      if (mismatch) diff.refusals.push(mismatch)
      try {
        const plan = scalingPlanFor(env, sts.metadata.name, live?.spec.replicas)
        if (plan) diff.statefulSet.steps = formatSizes(plan)
      } catch (error) {
        if (!(error instanceof ScalingRefusal)) throw error
        diff.statefulSet.refused = true
        diff.refusals.push(error.message)
      }
    } catch (error) {
      diff.refusals.push((error as Error).message)
    }
  }

  const wanted = renderServerServices(env, statefulSet).map(s => s.metadata.name)
  const existing = (await kubectl.list<Service>('services', namespace, selectorFor(managedLabels(env, SERVER_ROLE)))).map(s => s.metadata.name)
  diff.services = {
    create: wanted.filter(n => !existing.includes(n)),
    remove: existing.filter(n => !wanted.includes(n)),
    keep: wanted.filter(n => existing.includes(n))
  }
  return diff
}

// --- comparing objects ------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every(k => k in b && deepEqual(a[k], b[k]))
  }
  return false
}

const objectKey = (o: KubeObject): string => `${o.kind ?? ''}/${o.metadata.name}`

/** added, removed and changed objects (by kind/name) between the live and the desired manifest. */
export function compareManifests(live: KubeObject[], desired: KubeObject[]): ObjectChange[] {
  const before = new Map(live.map(o => [objectKey(o), o]))
  const after = new Set(desired.map(objectKey))
  const out: ObjectChange[] = []
  for (const o of desired) {
    const kind = o.kind ?? ''
    const old = before.get(objectKey(o))
    if (!old) out.push({ kind, name: o.metadata.name, change: 'added' })
    else if (!deepEqual(old, o)) {
      const paths = differingPaths(old, o, kind === 'Secret')
      out.push({ kind, name: o.metadata.name, change: 'changed', paths: paths.slice(0, MAX_PATHS), more: Math.max(0, paths.length - MAX_PATHS) })
    }
  }
  for (const o of live) if (!after.has(objectKey(o))) out.push({ kind: o.kind ?? '', name: o.metadata.name, change: 'removed' })
  return out
}

const segment = (key: string): string => (/^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)

/** A value as shown: strings quoted, everything else as JSON, cut to MAX_VALUE characters. */
export function shownValue(value: unknown): string {
  if (value === undefined) return '(none)'
  if (typeof value === 'string') return quoted(value, MAX_VALUE)
  const text = JSON.stringify(value)
  return oneLine(text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text)
}

/** Arrays of uniquely named items (containers, ports, env) are compared by name, not position. */
function namedItems(items: unknown[]): Map<string, unknown> | undefined {
  const names = items.map(i => (isRecord(i) && typeof i.name === 'string' ? i.name : undefined))
  if (names.some(n => n === undefined) || new Set(names).size !== names.length) return undefined
  return new Map(items.map((item, i) => [names[i]!, item]))
}

/** Every differing leaf of two objects, in document order; a Secret's data is never shown. */
export function differingPaths(from: unknown, to: unknown, secret = false): PathChange[] {
  const out: PathChange[] = []
  const leaf = (path: string, a: unknown, b: unknown): void => {
    const name = path.replace(/^\./, '')
    if (secret && /^\.(data|stringData)\b/.test(path))
      out.push({ path: name, from: a === undefined ? '(none)' : '(hidden)', to: b === undefined ? '(none)' : '(hidden)' })
    else if (typeof a === 'string' && typeof b === 'string' && (a.includes('\n') || b.includes('\n'))) {
      // A file in a ConfigMap: where it starts to differ, how many lines go and come, the first of each.
      const [x, y] = [a.split('\n'), b.split('\n')]
      let start = 0
      while (start < x.length && start < y.length && x[start] === y[start]) start++
      let end = 0
      while (end < x.length - start && end < y.length - start && x[x.length - 1 - end] === y[y.length - 1 - end]) end++
      const [removed, added] = [x.slice(start, x.length - end), y.slice(start, y.length - end)]
      out.push({
        path: `${name} line ${start + 1} (-${removed.length} +${added.length} lines)`,
        from: shownValue(removed[0]),
        to: shownValue(added[0])
      })
    } else out.push({ path: name, from: shownValue(a), to: shownValue(b) })
  }
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (deepEqual(a, b)) return
    if (isRecord(a) && isRecord(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])]) walk(`${path}${segment(key)}`, a[key], b[key])
      return
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const [x, y] = [namedItems(a), namedItems(b)]
      if (x && y) {
        for (const key of [...new Set([...x.keys(), ...y.keys()])]) walk(`${path}[${key}]`, x.get(key), y.get(key))
        return
      }
      if (a.length === b.length) {
        a.forEach((item, i) => walk(`${path}[${i}]`, item, b[i]))
        return
      }
    }
    leaf(path, a, b)
  }
  walk('', from, to)
  return out
}

// --- text ---------------------------------------------------------------------------------

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
const names = (list: string[]): string => (list.length ? list.map(oneLine).join(', ') : 'none')

/** The comparison as one summary line and detail lines, every one a single line. */
export function describeLiveDiff(diff: LiveDiff): { summary: string; details: string[] } {
  const release = `release ${oneLine(diff.release)} in namespace ${oneLine(diff.namespace)}`
  const chart = diff.chartVersion ? `chart ${oneLine(diff.chartVersion)}` : ''
  const counts = (['changed', 'added', 'removed'] as const).map(c => `${diff.objects.filter(o => o.change === c).length} ${c}`).join(', ')
  const refused = diff.refusals.length > 0 ? '; deploy-chart would refuse it (below) and change nothing' : ''
  let summary: string
  if (!diff.live)
    summary = `first install: ${release} does not exist yet; helm would create ${plural(diff.objects.length, 'object')}${chart ? ` (${chart})` : ''}${refused}`
  else {
    const now = `${release} is at revision ${diff.live.revision} (${oneLine(diff.live.status)}, chart ${oneLine(diff.live.chartVersion)})`
    if (diff.unchanged) summary = `no change: ${now} and already matches; no new revision${refused}`
    else if (!diff.chartVersion) summary = `${now}${refused}`
    else
      summary =
        `${now}: a new revision ${diff.live.revision + 1}${diff.chartVersion !== diff.live.chartVersion ? ` (${chart})` : ''}, objects ${counts}` +
        `${diff.objects.length === 0 ? ` (the manifest differs only in layout${diff.live.status !== 'deployed' ? ' or the release is not deployed' : ''})` : ''}${refused}`
  }

  const details: string[] = diff.refusals.map(r => `refused: ${oneLine(r)}`)
  const s = diff.statefulSet
  if (s) {
    const scaling = s.refused ? ' (refused, see above)' : s.steps ? ` (one server per step: ${s.steps})` : ''
    details.push(
      s.live === undefined
        ? `StatefulSet ${oneLine(s.name)} replicas: (none) -> ${s.desired}`
        : s.live === s.desired
          ? `StatefulSet ${oneLine(s.name)} replicas: ${s.live} (unchanged)`
          : `StatefulSet ${oneLine(s.name)} replicas: ${s.live} -> ${s.desired}${scaling}`
    )
  }
  for (const o of diff.objects) {
    const id = `${oneLine(o.kind)}/${oneLine(o.name)}`
    if (o.change !== 'changed') details.push(`${o.change} ${id}`)
    else {
      for (const p of o.paths) details.push(`changed ${id}: ${oneLine(p.path)} ${p.from} -> ${p.to}`)
      if (o.more > 0) details.push(`changed ${id}: and ${plural(o.more, 'more path')}`)
    }
  }
  const { create, remove, keep } = diff.services
  details.push(
    create.length === 0 && remove.length === 0
      ? `LoadBalancer Services: ${names(keep)} already exist (none created or removed)`
      : `LoadBalancer Services: create ${names(create)}; remove ${names(remove)}${keep.length ? `; keep ${names(keep)}` : ''}`
  )
  return { summary, details }
}

/**
 * A failure to compare, for a comment anyone who can read the pull request sees: one line,
 * quoted, the API server's address left out (the job log, which masks secrets, has it whole).
 */
export function liveDiffError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  // A pull request's comment is public: no URL and no host:port of the cluster in it.
  const hidden = message
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '<url>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b|\[[0-9a-f:]+\](:\d{1,5})?/gi, '<address>')
  return quoted(hidden.replace(/\s*\n\s*/g, ' / '), 300)
}
