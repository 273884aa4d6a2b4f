// Step 1: helm upgrade --install of the environment's chart, only when it would change
// something (a server-side dry run is compared with the deployed release). Called alone it
// refuses a jump of more than one server; the executor (ensemble/converge.ts) calls it once per
// size step of a scale.
import * as log from '../output/log.js'
import { chartReference, type ChartRoots } from '../chart/chart-reference.js'
import type { Environment } from '../environment/types.js'
import { findStatefulSet, type Helm, type HelmRelease, type UpgradeRequest } from '../kube/helm.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { StatefulSet } from '../kube/types.js'

export interface DeployChartResult {
  release: string
  namespace: string
  revision: number
  /** The revision before this run; undefined on first install. */
  previousRevision?: number
  chartVersion: string
  statefulSet: string
  replicas: number
  changed: boolean
}

export interface DeployChartOptions {
  env: Environment
  helm: Helm
  kubectl: Kubectl
  roots: ChartRoots
  /** One step of a scale (bundled chart only): render this many pods, listing `servers` voters. */
  size?: ChartSize
}

export interface ChartSize {
  replicas: number
  servers: number
}

export function upgradeRequest(env: Environment, roots: ChartRoots, size?: ChartSize): UpgradeRequest {
  const { chart, flags } = chartReference(env, roots)
  const replicas = size?.replicas ?? env.ensemble.servers
  // Always set, so a `servers:` in the values file cannot leave a pod unlisted; it differs from
  // replicas only while a scale-down step keeps the last pod running.
  const servers = String(size?.servers ?? replicas)
  return {
    release: env.kubernetes.release,
    namespace: env.kubernetes.namespace,
    chart,
    chartFlags: flags,
    valuesFile: env.chart.valuesFile,
    // The bundled chart takes its size from ensemble.servers; other charts from their values.
    set: env.chart.source.kind === 'bundled' ? { replicas: String(replicas), servers } : {}
  }
}

const normalize = (manifest: string): string => manifest.replace(/\s+$/gm, '').trim()

/**
 * Whether an upgrade to `desired` (a server-side dry run) would change nothing: the deployed
 * release renders the same manifest from the same chart version. Then no new revision is made.
 */
export function releaseUnchanged(current: HelmRelease | undefined, desired: HelmRelease): boolean {
  return (
    current?.status === 'deployed' && current.chartVersion === desired.chartVersion && normalize(current.manifest) === normalize(desired.manifest)
  )
}

/** Why a release in this state cannot be upgraded now (another helm operation), or undefined. */
export function pendingReleaseError(current: HelmRelease | undefined, req: Pick<UpgradeRequest, 'release' | 'namespace'>): string | undefined {
  if (!current?.status.startsWith('pending-')) return undefined
  return (
    `release ${req.release} is ${current.status}: another helm operation is running or was interrupted. ` +
    `If none is running, roll back with: helm rollback ${req.release} ${current.revision - 1 || 1} -n ${req.namespace}`
  )
}

/**
 * With a static configuration, old and new majorities must intersect: grow or shrink one
 * server at a time (3 -> 4 -> 5). Two at once can elect two leaders. Why going from `from`
 * (the live StatefulSet's replicas; undefined when there is none) to `to` is refused, or undefined.
 */
export function unsafeScalingError(name: string, from: number | undefined, to: number): string | undefined {
  if (from === undefined || Math.abs(from - to) <= 1) return undefined
  return (
    `StatefulSet ${name} has ${from} servers and the environment asks for ${to}: changing more than one server at a time ` +
    `can split the quorum (any majority of the old and the new configuration must intersect). ` +
    `Change it one server per rollout (e.g. ${from} -> ${from + Math.sign(to - from)}); with the bundled chart, zk-rollout rollout and the root action take such steps themselves.`
  )
}

/** Why a chart that renders `replicas` servers is refused for this environment, or undefined. */
export function replicaMismatchError(env: Environment, name: string, replicas: number, expected = env.ensemble.servers): string | undefined {
  if (replicas === expected) return undefined
  return (
    `the chart renders StatefulSet ${name} with ${replicas} replicas but ensemble.servers is ${env.ensemble.servers}: ` +
    `set the chart's replica count in ${env.chart.valuesFile} to match`
  )
}

export async function deployChart({ env, helm, kubectl, roots, size }: DeployChartOptions): Promise<DeployChartResult> {
  const req = upgradeRequest(env, roots, size)
  const major = await helm.majorVersion()
  log.info(`helm ${major}: release ${req.release} in namespace ${req.namespace}, chart ${req.chart}`)
  const current = await helm.status(req.release, req.namespace)
  const pending = pendingReleaseError(current, req)
  if (pending) throw new Error(pending)

  const desired = await helm.dryRun(req)
  const sts = findStatefulSet(desired.manifest, req.release)
  const replicas = sts.spec.replicas ?? 1
  const mismatch = replicaMismatchError(env, sts.metadata.name, replicas, size?.replicas)
  if (mismatch) throw new Error(mismatch)
  // A sized step comes from the scaling planner, which already changes one voter at a time.
  if (!size) await refuseUnsafeScaling(kubectl, env, sts.metadata.name, replicas)

  const unchanged = releaseUnchanged(current, desired)
  let release: HelmRelease
  if (unchanged && current) {
    log.info(`release ${req.release} revision ${current.revision} already matches: no upgrade, no new revision`)
    release = current
  } else {
    release = await helm.upgrade(req)
    log.info(`release ${req.release}: revision ${release.revision} (${release.status})`)
  }
  return {
    release: req.release,
    namespace: req.namespace,
    revision: release.revision,
    ...(current ? { previousRevision: current.revision } : {}),
    chartVersion: release.chartVersion,
    statefulSet: sts.metadata.name,
    replicas,
    changed: !unchanged
  }
}

async function refuseUnsafeScaling(kubectl: Kubectl, env: Environment, name: string, replicas: number): Promise<void> {
  const live = await kubectl.getOptional<StatefulSet>('statefulset', name, env.kubernetes.namespace)
  const refused = unsafeScalingError(name, live?.spec.replicas, replicas)
  if (refused) throw new Error(refused)
}

export async function rollbackChart(helm: Helm, env: Environment, revision: number): Promise<void> {
  log.info(`rolling release ${env.kubernetes.release} back to revision ${revision}`)
  await helm.rollback(env.kubernetes.release, env.kubernetes.namespace, revision)
}
