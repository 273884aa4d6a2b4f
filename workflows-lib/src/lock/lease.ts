// The in-cluster rollout lock: a Lease per release, so two rollouts of one environment never run
// at once, whichever repository, laptop or workflow run starts them (GitHub's concurrency groups
// only cover one repository). The protocol is client-go's leader election, by hand through kubectl:
// - absent: create it (AlreadyExists: someone else got there, read again);
// - released (no holder) or expired (its renewTime + its leaseDurationSeconds is past: a crashed
//   holder never blocks forever): take it over with a replace conditional on the resourceVersion
//   read (409 Conflict: another client won, read again);
// - held by this holder: join it (re-entrant; the owner releases it, a joiner never does);
// - held by another: wait, with progress, until waitTimeoutMs.
// While held, the holder renews every leaseDurationSeconds/3; a renewal that finds another holder
// means the lease was lost, which rejects `lost` and aborts `signal`.
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import type { Kubectl } from '../kube/kubectl.js'
import { formatDuration } from '../environment/duration.js'
import { setSafeInterval, sleep } from '../util/timer.js'
import { createLease, ensureNamespace, getLease, replaceLease } from './lease-api.js'
import { expiresAt, holderOf, isExpired, leaseWith, microTime, newLease, type Lease, type LeaseSpec } from './lease-object.js'

export const DEFAULT_LEASE_DURATION_SECONDS = 60
export const DEFAULT_LOCK_WAIT_MS = 10 * 60_000
const DEFAULT_POLL_MS = 2000
/** How often a waiter says it is still waiting. */
const PROGRESS_EVERY_MS = 15_000

export interface AcquireLeaseOptions {
  kubectl: Kubectl
  namespace: string
  name: string
  holder: string
  /** How long a claim lasts without renewal (default 60). */
  leaseDurationSeconds?: number
  /** How long to wait for another holder (default 10 min); 0 tries once. */
  waitTimeoutMs?: number
  /** How often a waiter reads the Lease again (default 2 s). */
  pollMs?: number
}

export class LockTimeoutError extends Error {
  constructor(
    message: string,
    readonly holder: string,
    readonly lease: Lease
  ) {
    super(message)
    this.name = 'LockTimeoutError'
  }
}

export class LockLostError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LockLostError'
  }
}

/** Where a lock lives, for messages. */
const where = (namespace: string, name: string): string => quoted(`${namespace}/${name}`)

export async function acquireLease(opts: AcquireLeaseOptions): Promise<HeldLease> {
  const { kubectl, namespace, name, holder } = opts
  const durationSeconds = opts.leaseDurationSeconds ?? DEFAULT_LEASE_DURATION_SECONDS
  if (!Number.isInteger(durationSeconds) || durationSeconds < 1)
    throw new RangeError(`leaseDurationSeconds ${durationSeconds}: use a whole number >= 1`)
  const waitTimeoutMs = opts.waitTimeoutMs ?? DEFAULT_LOCK_WAIT_MS
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS
  const started = Date.now()
  const deadline = started + waitTimeoutMs
  // What this call last tried to write: a write whose answer was lost and retried comes back as
  // Conflict or AlreadyExists, and the Lease then carries our own acquireTime.
  let attempted: string | undefined
  let lastProgress: { holder: string; at: number } | undefined

  const held = (lease: Lease, owned: boolean): HeldLease => {
    const waited = Date.now() - started
    log.info(
      owned
        ? `rollout lock ${where(namespace, name)} acquired by ${quoted(holder)}${waited >= 1000 ? ` after waiting ${Math.round(waited / 1000)} s` : ''}`
        : `rollout lock ${where(namespace, name)} is already held by this holder ${quoted(holder)}: joined (its owner releases it)`
    )
    return new HeldLease(kubectl, lease, holder, durationSeconds, owned)
  }

  while (true) {
    const now = Date.now()
    const lease = await getLease(kubectl, namespace, name)
    const spec = (acquireTime: string): LeaseSpec => ({
      holderIdentity: holder,
      leaseDurationSeconds: durationSeconds,
      acquireTime,
      renewTime: acquireTime,
      leaseTransitions: lease ? (lease.spec?.leaseTransitions ?? 0) + (holderOf(lease) === holder ? 0 : 1) : 0
    })

    if (!lease) {
      attempted = microTime(now)
      let r = await createLease(kubectl, newLease(namespace, name, spec(attempted)))
      if (r.outcome === 'no-namespace') {
        await ensureNamespace(kubectl, namespace)
        r = await createLease(kubectl, newLease(namespace, name, spec(attempted)))
      }
      if (r.outcome === 'written') return held(r.lease, true)
      continue
    }

    const current = holderOf(lease)
    if (current === holder && attempted !== undefined && lease.spec?.acquireTime === attempted) return held(lease, true)
    if (current === holder && !isExpired(lease, now)) {
      const r = await replaceLease(kubectl, leaseWith(lease, { ...lease.spec, leaseDurationSeconds: durationSeconds, renewTime: microTime() }))
      if (r.outcome === 'written') return held(r.lease, false)
      continue
    }
    if (current === undefined || isExpired(lease, now)) {
      if (current !== undefined)
        log.info(
          `rollout lock ${where(namespace, name)}: the lease of ${quoted(current)} expired at ${new Date(expiresAt(lease)).toISOString()} (last renewed ${lease.spec?.renewTime ?? 'never'}); taking it over`
        )
      attempted = microTime(now)
      const r = await replaceLease(kubectl, leaseWith(lease, spec(attempted)))
      if (r.outcome === 'written') return held(r.lease, true)
      continue
    }

    // Held by someone else, and alive.
    const expiresInS = Math.max(0, Math.ceil((expiresAt(lease) - now) / 1000))
    if (now >= deadline) throw timeoutError(namespace, name, current, lease, waitTimeoutMs, expiresInS)
    if (!lastProgress || lastProgress.holder !== current || now - lastProgress.at >= PROGRESS_EVERY_MS) {
      log.info(
        `waiting for the rollout lock ${where(namespace, name)} held by ${quoted(current)} since ${lease.spec?.acquireTime ?? 'unknown'}, expires in ${expiresInS} s unless renewed (waited ${Math.round((now - started) / 1000)} s of ${shownWait(waitTimeoutMs)})`
      )
      lastProgress = { holder: current, at: now }
    }
    await sleep(Math.max(0, Math.min(pollMs, deadline - now)), 'rollout lock: wait')
  }
}

/** formatDuration would show no wait at all as 0h. */
const shownWait = (ms: number): string => (ms === 0 ? '0s' : formatDuration(ms))

function timeoutError(namespace: string, name: string, holder: string, lease: Lease, waitedMs: number, expiresInS: number): LockTimeoutError {
  const duration = lease.spec?.leaseDurationSeconds ?? 0
  return new LockTimeoutError(
    `the rollout lock ${where(namespace, name)} is still held by ${quoted(holder)} after waiting ${shownWait(waitedMs)} ` +
      `(acquired ${lease.spec?.acquireTime ?? 'at an unknown time'}, last renewed ${lease.spec?.renewTime ?? 'never'}). ` +
      `Another rollout of this environment is running: wait for it to finish and run again (or raise lock-timeout). ` +
      `If that run is dead, its lease expires ${duration} s after its last renewal (in ${expiresInS} s) and the next rollout takes it over; ` +
      `or, once sure nothing is rolling out, delete it by hand: kubectl delete lease ${quoted(name)} --namespace ${quoted(namespace)}`,
    holder,
    lease
  )
}

/** A lock this process holds (owned) or has joined, renewed until release() or stopRenewing(). */
export class HeldLease {
  /** Aborted, with the LockLostError as reason, when the lease is lost. */
  readonly signal: AbortSignal
  /** Rejects with a LockLostError when the lease is lost; never resolves. */
  readonly lost: Promise<never>
  private readonly abort = new AbortController()
  private rejectLost!: (error: LockLostError) => void
  private lease: Lease
  private renewedAt = Date.now()
  private timer?: NodeJS.Timeout
  private inFlight?: Promise<void>
  private done = false

  constructor(
    private readonly kubectl: Kubectl,
    lease: Lease,
    readonly holder: string,
    readonly leaseDurationSeconds: number,
    /** False when joined: the owner (another step of the same holder) releases it. */
    readonly owned: boolean
  ) {
    this.lease = lease
    this.signal = this.abort.signal
    this.lost = new Promise<never>((_, reject) => (this.rejectLost = reject))
    // Handled here, so a lock nobody races against cannot crash the process as an unhandled rejection.
    this.lost.catch(() => undefined)
    const every = Math.max(1, Math.floor((leaseDurationSeconds * 1000) / 3))
    this.timer = setSafeInterval(() => this.tick(), every, 'rollout lock: renew')
    // A lock forgotten by a failing caller must not keep the process alive; the lease expires.
    this.timer.unref()
  }

  get namespace(): string {
    return this.lease.metadata.namespace ?? ''
  }

  get name(): string {
    return this.lease.metadata.name
  }

  /** The Lease as last read or written. */
  get current(): Lease {
    return this.lease
  }

  /** Stops renewing and leaves the lease held (the lock action's acquire: a later step renews or releases it). */
  async stopRenewing(): Promise<void> {
    this.done = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.inFlight
  }

  /** Stops renewing and, if this process acquired it, releases it. Never touches another holder's lease. */
  async release(): Promise<void> {
    const wasDone = this.done
    await this.stopRenewing()
    if (wasDone || this.signal.aborted) return
    if (!this.owned) {
      log.debug(`rollout lock ${where(this.namespace, this.name)}: joined, so left to its owner to release`)
      return
    }
    await releaseLease({ kubectl: this.kubectl, namespace: this.namespace, name: this.name, holder: this.holder })
  }

  private tick(): void {
    if (this.inFlight || this.done) return
    this.inFlight = this.renew()
      .catch(error => {
        const silentMs = Date.now() - this.renewedAt
        if (silentMs >= this.leaseDurationSeconds * 1000)
          this.lose(`could not renew it for ${Math.round(silentMs / 1000)} s, so another rollout may have taken it over: ${(error as Error).message}`)
        else log.warning(`rollout lock ${where(this.namespace, this.name)}: renewal failed, retrying: ${(error as Error).message}`)
      })
      .finally(() => (this.inFlight = undefined))
  }

  private async renew(): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      if (this.done) return
      const r = await replaceLease(
        this.kubectl,
        leaseWith(this.lease, {
          ...this.lease.spec,
          holderIdentity: this.holder,
          leaseDurationSeconds: this.leaseDurationSeconds,
          renewTime: microTime()
        })
      )
      if (r.outcome === 'written') {
        this.lease = r.lease
        this.renewedAt = Date.now()
        return
      }
      if (r.outcome !== 'conflict') return this.lose('the Lease was deleted')
      // Someone wrote it since: a joiner of this holder renewing too, or another holder.
      const now = await getLease(this.kubectl, this.namespace, this.name)
      if (!now) return this.lose('the Lease was deleted')
      const holder = holderOf(now)
      if (holder !== this.holder) return this.lose(holder ? `it is now held by ${quoted(holder)}` : 'it was released by someone else')
      this.lease = now
    }
    throw new Error('five renewals in a row met a conflict')
  }

  private lose(why: string): void {
    if (this.done) return
    this.done = true
    if (this.timer) clearInterval(this.timer)
    const error = new LockLostError(
      `lost the rollout lock ${where(this.namespace, this.name)} held by ${quoted(this.holder)}: ${why}. ` +
        'Another rollout of this environment may be changing the cluster now: stop, and check it before running again.'
    )
    log.warning(error.message)
    this.abort.abort(error)
    this.rejectLost(error)
  }
}

export interface ReleaseLeaseOptions {
  kubectl: Kubectl
  namespace: string
  name: string
  holder: string
}

/**
 * Clears the holder if it is `holder` (conditional on the resourceVersion read); a lease held by
 * anyone else is left alone. True when this call released it.
 */
export async function releaseLease(opts: ReleaseLeaseOptions): Promise<boolean> {
  const { kubectl, namespace, name, holder } = opts
  for (let attempt = 1; attempt <= 5; attempt++) {
    const lease = await getLease(kubectl, namespace, name)
    const current = lease && holderOf(lease)
    if (!lease || current !== holder) {
      log.info(
        `rollout lock ${where(namespace, name)}: ${current ? `held by ${quoted(current)}, not by ${quoted(holder)}: left alone` : 'not held: nothing to release'}`
      )
      return false
    }
    const { holderIdentity: _, ...rest } = lease.spec ?? {}
    const r = await replaceLease(kubectl, leaseWith(lease, { ...rest, renewTime: microTime() }))
    if (r.outcome === 'written') {
      log.info(`rollout lock ${where(namespace, name)} released by ${quoted(holder)}`)
      return true
    }
    if (r.outcome !== 'conflict') return false
  }
  throw new Error(`could not release the rollout lock ${where(namespace, name)}: five conflicting writes in a row`)
}
