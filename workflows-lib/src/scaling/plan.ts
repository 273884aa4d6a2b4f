// The scaling planner: from the live size to the environment's, the sequence of static voting
// configurations that changes one voter per step. ZooKeeper without dynamic reconfiguration
// learns its voters from zoo.cfg, so while a step rolls out some servers run the old list and
// some the new one; only if every majority of the old list meets every majority of the new one
// can the two halves never elect two leaders. Removing or adding one voter keeps that true;
// two at once (3 -> 5: {1,2} and {3,4,5}) does not. Pure: no cluster, no I/O.

export interface VotingStep {
  /** Size before and after this step. */
  from: number
  to: number
  /** The one server (myid = ordinal + 1) added or removed. */
  change: { kind: 'add' | 'remove'; myid: number; ordinal: number }
  /** myids voting after the step: 1..to. */
  voters: number[]
}

export interface ScalingPlan {
  from: number
  to: number
  /** Every size from `from` to `to`: [3, 4, 5]. */
  sizes: number[]
  steps: VotingStep[]
  /** Set when the target is even or below 3 and allowUnsafeSize let it through: why it is unsafe. */
  unsafeSize?: string
}

export interface ScalingRequest {
  /** Servers now (the live StatefulSet's replicas, or the base revision's ensemble.servers). */
  from: number
  /** Servers wanted (ensemble.servers). */
  to: number
  allowUnsafeSize?: boolean
  /** Observer ids: each must stay above every participant id of every configuration on the way. */
  observerIds?: number[]
}

export class ScalingRefusal extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ScalingRefusal'
  }
}

const majority = (n: number): number => Math.floor(n / 2) + 1

/** Why a size is unsafe (no better fault tolerance than a smaller odd one), or undefined. */
export function unsafeSizeReason(n: number): string | undefined {
  if (n % 2 === 1 && n >= 3) return undefined
  const tolerated = Math.floor((n - 1) / 2)
  return (
    `${n} server${n === 1 ? '' : 's'} tolerate${n === 1 ? 's' : ''} ${tolerated} failure${tolerated === 1 ? '' : 's'} (a quorum is ${majority(n)} of ${n})` +
    (n % 2 === 0 ? `, no more than ${n - 1} would, and every write waits for one server more` : '')
  )
}

export function planScaling(req: ScalingRequest): ScalingPlan {
  const { from, to } = req
  for (const [name, n] of [
    ['current size', from],
    ['target size', to]
  ] as const)
    if (!Number.isInteger(n) || n < 1 || n > 99) throw new ScalingRefusal(`${name} ${n} is not a server count (1..99)`)
  if (from === to) throw new ScalingRefusal(`the ensemble already has ${to} server${to === 1 ? '' : 's'}: nothing to scale`)
  const unsafe = unsafeSizeReason(to)
  if (unsafe && !req.allowUnsafeSize)
    throw new ScalingRefusal(`target ${to} refused: ${unsafe}. Choose an odd size of 3 or more, or set ensemble.allowUnsafeSize: true`)
  // Scaling down, servers up to `from` still vote until the last step: ids there collide too.
  const highest = Math.max(from, to)
  const colliding = (req.observerIds ?? []).filter(id => id <= highest).sort((a, b) => a - b)
  if (colliding.length > 0)
    throw new ScalingRefusal(
      `observer id${colliding.length === 1 ? '' : 's'} ${colliding.join(', ')} would collide with participant id${colliding.length === 1 ? '' : 's'} ` +
        `${colliding.join(', ')} of the ${highest}-server configuration: observer ids must stay above every participant; renumber them (101 and up)`
    )
  const dir = Math.sign(to - from)
  const sizes = Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => from + i * dir)
  const steps = sizes.slice(1).map((size, i): VotingStep => {
    const prev = sizes[i]
    const ordinal = Math.max(prev, size) - 1
    return {
      from: prev,
      to: size,
      change: { kind: size > prev ? 'add' : 'remove', myid: ordinal + 1, ordinal },
      voters: Array.from({ length: size }, (_, v) => v + 1)
    }
  })
  return { from, to, sizes, steps, ...(unsafe ? { unsafeSize: unsafe } : {}) }
}

/** `3 -> 4 -> 5` */
export function formatSizes(plan: Pick<ScalingPlan, 'sizes'>): string {
  return plan.sizes.join(' -> ')
}

/**
 * What one step restarts, in order, as a plan can know it before the cluster is asked who leads:
 * the new server first (scale-up), then every other server, followers first and the leader last.
 */
export function stepRestarts(step: VotingStep, statefulSet: string): string[] {
  const pod = (ordinal: number): string => `${statefulSet}-${ordinal}`
  const staying = Array.from({ length: Math.min(step.from, step.to) }, (_, i) => pod(i))
  return step.change.kind === 'add'
    ? [`start ${pod(step.change.ordinal)} (new, myid ${step.change.myid})`, `restart ${staying.join(', ')}: followers first, the leader last`]
    : [
        `restart ${staying.join(', ')} without server.${step.change.myid}: followers first, the leader last`,
        `then remove ${pod(step.change.ordinal)} (its PersistentVolumeClaim is kept)`
      ]
}
