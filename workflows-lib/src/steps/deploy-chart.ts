// Step 1: helm upgrade --install of the environment's chart, only when it would change
// something (a server-side dry run is compared with the deployed release), and never a jump
// of more than one server at a time.
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
}

export function upgradeRequest(env: Environment, roots: ChartRoots): UpgradeRequest {
  const { chart, flags } = chartReference(env, roots)
  return {
    release: env.kubernetes.release,
    namespace: env.kubernetes.namespace,
    chart,
    chartFlags: flags,
    valuesFile: env.chart.valuesFile,
    // The bundled chart takes its size from ensemble.servers; other charts from their values.
    set: env.chart.source.kind === 'bundled' ? { replicas: String(env.ensemble.servers) } : {}
  }
}

const normalize = (manifest: string): string => manifest.replace(/\s+$/gm, '').trim()

export async function deployChart({ env, helm, kubectl, roots }: DeployChartOptions): Promise<DeployChartResult> {
  const req = upgradeRequest(env, roots)
  const major = await helm.majorVersion()
  log.info(`helm ${major}: release ${req.release} in namespace ${req.namespace}, chart ${req.chart}`)
  const current = await helm.status(req.release, req.namespace)
  if (current && current.status.startsWith('pending-'))
    throw new Error(
      `release ${req.release} is ${current.status}: another helm operation is running or was interrupted. ` +
        `If none is running, roll back with: helm rollback ${req.release} ${current.revision - 1 || 1} -n ${req.namespace}`
    )

  const desired = await helm.dryRun(req)
  const sts = findStatefulSet(desired.manifest, req.release)
  const replicas = sts.spec.replicas ?? 1
  if (replicas !== env.ensemble.servers)
    throw new Error(
      `the chart renders StatefulSet ${sts.metadata.name} with ${replicas} replicas but ensemble.servers is ${env.ensemble.servers}: ` +
        `set the chart's replica count in ${env.chart.valuesFile} to match`
    )
  await refuseUnsafeScaling(kubectl, env, sts.metadata.name, replicas)

  const unchanged =
    current?.status === 'deployed' && current.chartVersion === desired.chartVersion && normalize(current.manifest) === normalize(desired.manifest)
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

/**
 * With a static configuration, old and new majorities must intersect: grow or shrink one
 * server at a time (3 -> 4 -> 5). Two at once can elect two leaders.
 */
async function refuseUnsafeScaling(kubectl: Kubectl, env: Environment, name: string, replicas: number): Promise<void> {
  const live = await kubectl.getOptional<StatefulSet>('statefulset', name, env.kubernetes.namespace)
  const from = live?.spec.replicas
  if (from !== undefined && Math.abs(from - replicas) > 1)
    throw new Error(
      `StatefulSet ${name} has ${from} servers and the environment asks for ${replicas}: changing more than one server at a time ` +
        `can split the quorum (any majority of the old and the new configuration must intersect). ` +
        `Scale one server at a time (e.g. ${from} -> ${from + Math.sign(replicas - from)}), or use the scale workflow.`
    )
}

export async function rollbackChart(helm: Helm, env: Environment, revision: number): Promise<void> {
  log.info(`rolling release ${env.kubernetes.release} back to revision ${revision}`)
  await helm.rollback(env.kubernetes.release, env.kubernetes.namespace, revision)
}
