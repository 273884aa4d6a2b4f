// Drift across the cluster boundary: Git's rendered intent against the live release, the
// StatefulSet, the per-pod LoadBalancers and their current addresses, every observer VM's files
// and state, and the monitoring objects. READ-ONLY throughout: the release is compared by the
// plan's liveDiff (helm get and a server-side dry run), objects are listed, the VMs are read by
// the remote script's inspect, the leader is asked srvr. Each part that cannot be read is
// reported as unchecked and the others are still compared.
import type { ChartRoots } from '../chart/chart-reference.js'
import { serverPodQuery, type PodQuery } from '../ensemble/pod-query.js'
import { readEnsembleState, type EnsembleState } from '../ensemble/state.js'
import { serverServiceName } from '../environment/defaults.js'
import type { Environment, Observers } from '../environment/types.js'
import type { Helm } from '../kube/helm.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { KubeObject, Service } from '../kube/types.js'
import type { JumpHostOverride } from '../observers/connections.js'
import { oneLine } from '../output/printable.js'
import { getLease } from '../lock/lease-api.js'
import { holderOf, isExpired, leaseName } from '../lock/lease-object.js'
import { holderIdentity } from '../lock/holder.js'
import { liveDiff, type LiveDiff } from '../plan/live-diff.js'
import { managedLabels } from '../render/labels.js'
import { renderMonitoring } from '../render/monitoring.js'
import { OBSERVER_FILE_NAMES } from '../render/observer-files.js'
import { SERVER_ROLE } from '../render/server-services.js'
import type { SecretFiles } from '../runner/secret-file.js'
import type { SshCredentials } from '../ssh/client-config.js'
import { selectorFor } from '../steps/expose-servers.js'
import { inspectObservers, type ObserverInspection } from './observers.js'
import type { DriftItem, DriftReport, Unchecked } from './types.js'
import { differingLines, serverHosts } from './zoo-cfg.js'

/** Transactions an observer may be behind the leader before it counts as lagging. */
export const DEFAULT_MAX_LAG = 1000

export interface DetectDriftOptions {
  env: Environment
  helm: Helm
  kubectl: Kubectl
  roots: ChartRoots
  /** Without it, observers are reported unchecked (no credentials). */
  ssh?: { credentials: SshCredentials; secretFiles: SecretFiles; jumpHost?: JumpHostOverride }
  /** How the leader is asked srvr; default kubectl exec into the pod. */
  query?: PodQuery
  maxLag?: number
  /** Whose rollout lock does not count as a rollout in progress (a heal's own); default holderIdentity(). */
  holder?: string
}

export interface DriftDetection extends DriftReport {
  /** The servers' LoadBalancer addresses now, in ordinal order ('' where there is none). */
  addresses: string[]
  /** Another holder's rollout lock: nothing was compared, the live state is between versions. */
  inProgress?: string
}

const errorLine = (error: unknown): string => oneLine((error as Error).message.split('\n')[0])

export async function detectDrift(opts: DetectDriftOptions): Promise<DriftDetection> {
  const { env } = opts
  const report: DriftDetection = { environment: env.name, items: [], unchecked: [], checked: [], addresses: [] }
  const rollout = `re-run the rollout of environments/${env.name} (rollout.yml, or zk-rollout rollout environments/${env.name})`

  // Mid-rollout, pods on two revisions and observers being redeployed are not drift: say so and stop.
  const lock = leaseName(env.kubernetes.release)
  try {
    const lease = await getLease(opts.kubectl, env.kubernetes.namespace, lock)
    const holder = lease && !isExpired(lease) ? holderOf(lease) : undefined
    if (holder !== undefined && holder !== (opts.holder ?? holderIdentity())) {
      report.inProgress = holder
      report.unchecked.push({
        subject: `environment ${env.name}`,
        why: `a rollout is in progress (lock ${lock} held by ${oneLine(holder)}): check again after it`
      })
      return report
    }
  } catch (error) {
    report.unchecked.push({ subject: `rollout lock ${lock}`, why: errorLine(error) })
  }

  let diff: LiveDiff | undefined
  try {
    diff = await liveDiff({ env: opts.env, helm: opts.helm, kubectl: opts.kubectl, roots: opts.roots })
    report.checked.push(`release ${diff.release}`)
  } catch (error) {
    report.unchecked.push({ subject: `release ${env.kubernetes.release} in namespace ${env.kubernetes.namespace}`, why: errorLine(error) })
  }
  if (diff) report.items.push(...releaseDrift(diff, rollout, report.unchecked))
  // One reading of the servers (pods, revisions, srvr) serves the revision check and the leader's zxid.
  const ensemble = diff?.statefulSet?.live !== undefined ? await readServers(opts, report) : undefined
  if (diff?.statefulSet && ensemble) report.items.push(...revisionDrift(diff.statefulSet, ensemble, env.name, report.unchecked))

  const addresses = await serviceAddresses(opts, report, rollout)
  report.addresses = addresses
  if (env.observers && env.observers.hosts.length > 0) await observerDrift(opts, env.observers, addresses, ensemble, report)
  if (env.observers && env.monitoring) await monitoringDrift(opts, env.observers, report, rollout)
  return report
}

function releaseDrift(diff: LiveDiff, rollout: string, unchecked: DriftReport['unchecked']): DriftItem[] {
  const items: DriftItem[] = []
  if (!diff.live) {
    items.push({
      kind: 'release',
      subject: `release ${diff.release}`,
      difference: `not installed in namespace ${diff.namespace}`,
      meaning: 'there is no ensemble for this environment',
      fix: rollout
    })
    return items
  }
  // A refusal (a pending release helm will not touch, a size change a rollout would refuse) means
  // the comparison is not the whole story: say so rather than report "in sync".
  for (const refusal of diff.refusals) unchecked.push({ subject: `release ${diff.release}`, why: oneLine(refusal) })
  if (!diff.unchanged && diff.chartVersion !== undefined) {
    const details = diff.objects.flatMap(o =>
      o.change === 'changed'
        ? [
            ...o.paths.map(p => `${o.kind}/${o.name} ${p.path}: live ${p.from}, Git ${p.to}`),
            ...(o.more ? [`${o.kind}/${o.name}: ${o.more} more paths`] : [])
          ]
        : [`${o.kind}/${o.name}: ${o.change === 'added' ? 'in Git, not live' : 'live, not in Git'}`]
    )
    items.push({
      kind: 'release',
      subject: `release ${diff.release} (revision ${diff.live.revision})`,
      difference: details.length
        ? `the live release differs from Git in ${diff.objects.length} object(s)`
        : 'the live release values differ from Git',
      details,
      meaning: 'someone ran helm upgrade or changed values outside Git; the next rollout puts Git back (and restarts the servers it must)',
      fix: rollout
    })
  }
  const sts = diff.statefulSet
  if (sts && sts.live !== undefined && sts.live !== sts.desired) {
    items.push({
      kind: 'replicas',
      subject: `StatefulSet ${sts.name}`,
      difference: `${sts.live} replicas live, Git says ${sts.desired}`,
      meaning:
        sts.live > sts.desired
          ? 'servers beyond the voters in zoo.cfg do not vote: they add load, not fault tolerance'
          : 'fewer servers than the voters list: the ensemble tolerates fewer failures than planned',
      fix: `${rollout} to go back to ${sts.desired} (one voter per step), or change ensemble.servers in Git to keep ${sts.live}`
    })
  }
  // Against helm's stored release, not Git's render: a merged image change not rolled out yet is
  // release drift (above), not a hand edit.
  for (const [container, image] of Object.entries(sts?.images?.live ?? {})) {
    const released = sts!.images!.released?.[container]
    if (released === undefined || released === image) continue
    items.push({
      kind: 'image',
      subject: `StatefulSet ${sts!.name} container ${container}`,
      difference: `runs image ${image}, the release has ${released}`,
      meaning:
        "the image was set on the live object (kubectl set image or edit), outside the release: helm does not see it, and the next rollout puts Git's image back",
      fix: `${rollout}; to keep ${image}, set it in Git (the chart's image values)`
    })
  }
  for (const name of diff.services.create)
    items.push({
      kind: 'services',
      subject: `Service ${name}`,
      difference: 'missing',
      meaning: 'that server has no LoadBalancer: observers cannot reach it',
      fix: rollout
    })
  for (const name of diff.services.remove)
    items.push({
      kind: 'services',
      subject: `Service ${name}`,
      difference: 'live, but no server of this size has it',
      meaning: 'a LoadBalancer that costs money and serves no server',
      fix: rollout
    })
  return items
}

/** The servers' pods and what they answer; undefined (and unchecked) when they cannot be read. */
async function readServers(opts: DetectDriftOptions, report: DriftDetection): Promise<EnsembleState | undefined> {
  const { env } = opts
  try {
    return await readEnsembleState(
      opts.kubectl,
      opts.query ?? serverPodQuery(opts.kubectl, env),
      env.kubernetes.namespace,
      env.kubernetes.statefulSet
    )
  } catch (error) {
    report.unchecked.push({ subject: `the servers of StatefulSet ${env.kubernetes.statefulSet}`, why: errorLine(error) })
    return undefined
  }
}

/** Pods still on an older revision of the StatefulSet: with OnDelete, a restart nobody has done. */
function revisionDrift(sts: NonNullable<LiveDiff['statefulSet']>, ensemble: EnsembleState, environment: string, unchecked: Unchecked[]): DriftItem[] {
  // observed and updateRevision from the same read of the StatefulSet as the pods' revisions.
  if (!ensemble.observed) {
    unchecked.push({ subject: `revisions of StatefulSet ${sts.name}`, why: 'its controller has not caught up with the latest spec yet' })
    return []
  }
  const behind = ensemble.servers.filter(s => s.revision !== undefined && !s.current)
  if (behind.length === 0) return []
  return [
    {
      kind: 'revision',
      subject: `StatefulSet ${sts.name}`,
      difference: `${behind.map(s => s.pod).join(', ')} on revision ${[...new Set(behind.map(s => s.revision))].join(', ')}, the spec is at ${ensemble.updateRevision ?? 'unknown'}`,
      details: behind.map(s => `${s.pod}: ${s.revision}`),
      meaning:
        'the pod template changed but these servers were not restarted (updateStrategy OnDelete waits for that): they run the old configuration, and any restart (a node drain, a crash) switches one without a quorum check',
      fix: `re-run the rollout of environments/${environment}: it restarts them one at a time, followers first, the leader last`
    }
  ]
}

async function serviceAddresses(opts: DetectDriftOptions, report: DriftDetection, rollout: string): Promise<string[]> {
  const { env } = opts
  const names = Array.from({ length: env.ensemble.servers }, (_, i) => serverServiceName(env, i))
  let services: Service[]
  try {
    services = await opts.kubectl.list<Service>('services', env.kubernetes.namespace, selectorFor(managedLabels(env, SERVER_ROLE)))
  } catch (error) {
    report.unchecked.push({ subject: 'LoadBalancer Services', why: errorLine(error) })
    return names.map(() => '')
  }
  return names.map(name => {
    const svc = services.find(s => s.metadata.name === name)
    const ingress = svc?.status?.loadBalancer?.ingress?.[0]
    const address = (env.expose.addressKind === 'ip' ? ingress?.ip : ingress?.hostname) ?? ''
    if (svc && !address)
      report.items.push({
        kind: 'services',
        subject: `Service ${name}`,
        difference: 'no LoadBalancer address',
        meaning: 'observers cannot reach that server',
        fix: `check the cloud's load-balancer controller, then ${rollout}`
      })
    return address
  })
}

async function observerDrift(
  opts: DetectDriftOptions,
  observers: Observers,
  addresses: string[],
  ensemble: EnsembleState | undefined,
  report: DriftDetection
): Promise<void> {
  const heal = `re-run deploy-observers with the current addresses (rollout.yml for environments/${opts.env.name}, or drift.yml with heal: observers)`
  if (!opts.ssh) {
    for (const h of observers.hosts)
      report.unchecked.push({ subject: `observer ${h.id} (${h.host})`, why: 'no SSH credentials (pass the key and known_hosts)' })
    return
  }
  if (addresses.some(a => a === '')) {
    for (const h of observers.hosts)
      report.unchecked.push({ subject: `observer ${h.id} (${h.host})`, why: 'not every server has a LoadBalancer address to compare with' })
    return
  }
  const inspections = await inspectObservers({ env: opts.env, observers, servers: addresses, ...opts.ssh })
  const leader = leaderZxid(ensemble, report)
  for (const i of inspections) {
    const subject = `observer ${i.host.id} (${i.host.host})`
    if (i.error !== undefined) {
      report.unchecked.push({ subject, why: oneLine(i.error) })
      continue
    }
    report.checked.push(subject)
    report.items.push(...fileDrift(i, addresses, subject, heal, opts.env.name))
    if (!i.srvr || i.srvr.mode !== 'observer') {
      report.items.push({
        kind: 'observer-serving',
        subject,
        difference: i.srvr ? `Mode: ${i.srvr.mode}, not observer` : `not serving: ${i.srvrProblem ?? 'no answer'}`,
        meaning: 'clients of this observer get no answers',
        fix: `${heal} (it starts an observer whose files are unchanged), or docker compose up -d in ${observers.directory} on the VM`
      })
    } else if (leader !== undefined) {
      const lag = zxidLag(leader, i.srvr.zxid)
      if (lag === 'epoch' || lag > (opts.maxLag ?? DEFAULT_MAX_LAG))
        report.items.push({
          kind: 'observer-lag',
          subject,
          difference:
            lag === 'epoch'
              ? `zxid 0x${i.srvr.zxid.toString(16)} is from an older epoch than the leader's 0x${leader.toString(16)}`
              : `${lag} transactions behind the leader (zxid 0x${i.srvr.zxid.toString(16)}, leader 0x${leader.toString(16)})`,
          meaning: 'its clients read stale data',
          fix: 'check the link from the VM to the servers (ports 2888/3888 through the LoadBalancers), then restart the observer'
        })
    }
  }
}

/** The leader's zxid; undefined (and unchecked) when there is none to compare with. */
function leaderZxid(ensemble: EnsembleState | undefined, report: DriftDetection): bigint | undefined {
  const leader = ensemble?.servers.find(s => s.mode === 'leader')
  if (leader?.zxid !== undefined) return leader.zxid
  report.unchecked.push({
    subject: 'observer lag behind the leader',
    why: ensemble ? 'no server answers as leader' : 'the servers could not be read'
  })
  return undefined
}

/** Transactions the observer is behind the leader, or "epoch" when its zxid is from an older leader. */
export function zxidLag(leader: bigint, observer: bigint): number | 'epoch' {
  if (observer >> 32n < leader >> 32n) return 'epoch'
  // A newer epoch than the leader read: a new leader was elected in between; not behind.
  if (observer >> 32n > leader >> 32n) return 0
  const lag = Number((leader & 0xffffffffn) - (observer & 0xffffffffn))
  return Math.max(0, lag)
}

function fileDrift(i: ObserverInspection, addresses: string[], subject: string, heal: string, environment: string): DriftItem[] {
  const items: DriftItem[] = []
  for (const name of OBSERVER_FILE_NAMES) {
    const state = i.files[name]
    if (state === 'same' || state === undefined) continue
    if (state === 'new') {
      items.push({ kind: 'observer-files', subject, difference: `${name} is missing`, meaning: 'the observer cannot start as Git says', fix: heal })
      continue
    }
    const live = i.contents[name] ?? ''
    let lines = differingLines(i.expected[name], live)
    if (name === 'zoo.cfg') {
      // Server addresses that moved are their own item: the dangerous case.
      const listed = serverHosts(live)
      const moved = addresses.flatMap((address, ordinal) => {
        const has = listed.get(ordinal + 1)
        return has !== undefined && has !== address ? [{ server: ordinal + 1, has, address }] : []
      })
      for (const m of moved)
        items.push({
          kind: 'addresses',
          subject,
          difference: `lists ${m.has} for server.${m.server}, the LB now has ${m.address}`,
          meaning: `it will lose sync when server.${m.server}'s connection drops, and cannot rejoin through it`,
          fix: heal
        })
      const movedLine = (l: string): boolean => moved.some(m => new RegExp(`^[-+] server\\.${m.server}=`).test(l))
      lines = lines.filter(l => !movedLine(l))
    }
    if (lines.length > 0)
      items.push({
        kind: 'observer-files',
        subject,
        difference: `${name} differs from Git in ${lines.length} line(s)`,
        details: lines.map(oneLine),
        meaning: 'edited on the VM by hand (or by another tool): the next deploy replaces it and restarts the observer',
        fix: `${heal}; to keep the change, make it in environments/${environment}/environment.yaml first`
      })
  }
  return items
}

async function monitoringDrift(opts: DetectDriftOptions, observers: Observers, report: DriftDetection, rollout: string): Promise<void> {
  const { env } = opts
  const monitoring = env.monitoring!
  const desired = renderMonitoring({ ...env, observers, monitoring })
  try {
    const namespace = monitoring.namespace
    const get = (resource: string, name: string): Promise<KubeObject | undefined> => opts.kubectl.getOptional<KubeObject>(resource, name, namespace)
    const [service, endpoints] = await Promise.all([get('services', monitoring.serviceName), get('endpoints', monitoring.serviceName)])
    const missing: string[] = []
    if (!service) missing.push(`Service ${monitoring.serviceName}`)
    if (!endpoints) missing.push(`Endpoints ${monitoring.serviceName}`)
    if (desired.serviceMonitor && (await opts.kubectl.serves('monitoring.coreos.com', 'servicemonitors'))) {
      if (!(await get('servicemonitors.monitoring.coreos.com', monitoring.serviceName))) missing.push(`ServiceMonitor ${monitoring.serviceName}`)
    }
    for (const m of missing)
      report.items.push({ kind: 'monitoring', subject: m, difference: 'missing', meaning: 'Prometheus does not scrape the observers', fix: rollout })
    if (endpoints) {
      const live = ((endpoints as { subsets?: { addresses?: { ip: string }[] }[] }).subsets ?? [])
        .flatMap(s => (s.addresses ?? []).map(a => a.ip))
        .sort()
      const want = observers.hosts.map(h => h.metricsAddress ?? h.host).sort()
      if (live.join(',') !== want.join(','))
        report.items.push({
          kind: 'monitoring',
          subject: `Endpoints ${monitoring.serviceName}`,
          difference: `scrape targets ${live.join(', ') || 'none'}, Git says ${want.join(', ')}`,
          meaning: 'Prometheus scrapes the wrong observers',
          fix: rollout
        })
    }
    report.checked.push('monitoring objects')
  } catch (error) {
    report.unchecked.push({ subject: 'monitoring objects', why: errorLine(error) })
  }
}
