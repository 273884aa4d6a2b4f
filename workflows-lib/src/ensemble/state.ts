// What the ensemble looks like right now, from the API (pods, revisions, readiness) and from each
// server itself (srvr, and mntr on the leader). The executor decides every next restart from a
// fresh reading, which is also what makes an interrupted run resumable: nothing is remembered.
import type { Kubectl } from '../kube/kubectl.js'
import { controllerCaughtUp, podSelector, type Pod, type StatefulSet } from '../kube/types.js'
import { mntrNumber, parseMntr } from '../zookeeper/mntr.js'
import { parseSrvr } from '../zookeeper/srvr.js'
import type { PodQuery } from './pod-query.js'

export interface ServerState {
  pod: string
  ordinal: number
  myid: number
  uid?: string
  revision?: string
  /** Runs the StatefulSet's updateRevision (the configuration the chart renders now). */
  current: boolean
  ready: boolean
  /** leader, follower, ...; undefined when the server does not serve (down, electing, syncing). */
  mode?: string
  zxid?: bigint
  /** Why there is no mode. */
  problem?: string
  /** On the leader: followers synced with it, voting (in its zoo.cfg) and not. */
  synced?: { voting: number; nonVoting: number }
}

export interface EnsembleState {
  statefulSet: string
  updateRevision?: string
  /** The StatefulSet controller has caught up with the latest spec: updateRevision is that spec's. */
  observed: boolean
  servers: ServerState[]
  leaders: string[]
}

export interface StatefulSetWithStrategy extends StatefulSet {
  spec: StatefulSet['spec'] & {
    updateStrategy?: { type?: string }
    template?: { metadata?: { annotations?: Record<string, string> } }
  }
}

/** The bundled chart's annotation: how many voters the pod template's zoo.cfg lists. */
export const VOTERS_ANNOTATION = 'zk-rollout.io/voters'

/** Voters the StatefulSet's current template lists, when its chart says (the bundled one does). */
export function templateVoters(sts: StatefulSetWithStrategy): number | undefined {
  const v = Number(sts.spec.template?.metadata?.annotations?.[VOTERS_ANNOTATION])
  return Number.isInteger(v) && v > 0 ? v : undefined
}

const ordinalOf = (sts: string, pod: string): number | undefined => {
  const m = new RegExp(`^${sts.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(pod)
  return m ? Number(m[1]) : undefined
}

export async function readEnsembleState(kubectl: Kubectl, query: PodQuery, namespace: string, statefulSet: string): Promise<EnsembleState> {
  const sts = await kubectl.getOptional<StatefulSetWithStrategy>('statefulset', statefulSet, namespace)
  if (!sts) throw new Error(`StatefulSet ${statefulSet} does not exist in namespace ${namespace}`)
  const pods = (await kubectl.list<Pod>('pods', namespace, podSelector(sts)))
    .map(pod => ({ pod, ordinal: ordinalOf(statefulSet, pod.metadata.name) }))
    .filter((p): p is { pod: Pod; ordinal: number } => p.ordinal !== undefined)
    .sort((a, b) => a.ordinal - b.ordinal)
  const updateRevision = sts.status?.updateRevision
  const servers = await Promise.all(pods.map(({ pod, ordinal }) => serverState(query, pod, ordinal, updateRevision)))
  return {
    statefulSet,
    updateRevision,
    observed: controllerCaughtUp(sts),
    servers,
    leaders: servers.filter(s => s.mode === 'leader').map(s => s.pod)
  }
}

async function serverState(query: PodQuery, pod: Pod, ordinal: number, updateRevision: string | undefined): Promise<ServerState> {
  const revision = pod.metadata.labels?.['controller-revision-hash']
  const state: ServerState = {
    pod: pod.metadata.name,
    ordinal,
    myid: ordinal + 1,
    uid: pod.metadata.uid,
    revision,
    current: revision !== undefined && revision === updateRevision,
    ready: !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')
  }
  if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') {
    state.problem = pod.metadata.deletionTimestamp ? 'being deleted' : `pod ${pod.status?.phase ?? 'Pending'}`
    return state
  }
  try {
    const srvr = parseSrvr(await query(state.pod, 'srvr'))
    state.mode = srvr.mode
    state.zxid = srvr.zxid
    if (srvr.mode === 'leader') {
      const mntr = parseMntr(await query(state.pod, 'mntr'))
      state.synced = { voting: mntrNumber(mntr, 'zk_synced_followers') ?? 0, nonVoting: mntrNumber(mntr, 'zk_synced_non_voting_followers') ?? 0 }
    }
  } catch (e) {
    state.problem = (e as Error).message.split('\n')[0]
  }
  return state
}

/** Why the servers 0..n-1 are not one healthy quorum (one leader, every other one synced with it), or undefined. */
export function quorumProblem(state: EnsembleState, n: number): string | undefined {
  const voters = state.servers.filter(s => s.ordinal < n)
  const missing = Array.from({ length: n }, (_, i) => i).filter(i => !voters.some(s => s.ordinal === i))
  if (missing.length) return `${missing.map(i => `${state.statefulSet}-${i}`).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`
  const down = voters.filter(s => s.mode !== 'leader' && s.mode !== 'follower')
  if (down.length) return down.map(s => `${s.pod} is not serving (${s.mode ? `Mode: ${s.mode}` : s.problem})`).join('; ')
  if (state.leaders.length !== 1) return `${state.leaders.length} servers say they lead: ${state.leaders.join(', ')}`
  const leader = state.servers.find(s => s.mode === 'leader')!
  const followers = state.servers.filter(s => s.mode === 'follower').length
  const synced = (leader.synced?.voting ?? 0) + (leader.synced?.nonVoting ?? 0)
  if (synced < followers) return `leader ${leader.pod} has ${synced} synced follower${synced === 1 ? '' : 's'} of ${followers}`
  return undefined
}

/** Whether a majority of 0..n-1 serve with one leader: the minimum to start changing anything. */
export function hasQuorum(state: EnsembleState, n: number): boolean {
  const serving = state.servers.filter(s => s.ordinal < n && (s.mode === 'leader' || s.mode === 'follower')).length
  return state.leaders.length === 1 && serving >= Math.floor(n / 2) + 1
}

/**
 * Which of the servers 0..n-1 still run an old revision, in the order to restart them: those
 * not serving first (restarting them cannot cost the quorum anything), then followers by
 * ordinal, the leader last, so the ensemble elects a new leader once, not once per restart.
 */
export function restartOrder(state: EnsembleState, n: number): ServerState[] {
  const rank = (s: ServerState): number => (s.mode === 'leader' ? 2 : s.mode === 'follower' ? 1 : 0)
  return state.servers.filter(s => s.ordinal < n && !s.current).sort((a, b) => rank(a) - rank(b) || a.ordinal - b.ordinal)
}

/** A few lines for a failure report or a log: who runs which revision, in which mode. */
export function formatEnsembleState(state: EnsembleState): string[] {
  const lines = state.servers.map(s => {
    const mode = s.mode ? `Mode: ${s.mode}` : `not serving: ${s.problem ?? 'unknown'}`
    const synced = s.synced ? `, synced followers ${s.synced.voting} voting + ${s.synced.nonVoting} non-voting` : ''
    return `${s.pod} (myid ${s.myid}): revision ${s.revision ?? 'none'} (${s.current ? 'new' : 'old'}), ${s.ready ? 'Ready' : 'not Ready'}, ${mode}${s.zxid !== undefined ? ` zxid 0x${s.zxid.toString(16)}` : ''}${synced}`
  })
  lines.push(state.leaders.length === 1 ? `leader: ${state.leaders[0]}` : `leaders: ${state.leaders.join(', ') || 'none'}`)
  return lines
}
