// The rollout lock of one environment: Lease zk-rollout-<release> in its namespace, held around
// everything that changes the cluster. Nested holders of one identity join instead of waiting,
// so the root composite's steps (one process each) share the lock its first step took.
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import type { Environment } from '../environment/types.js'
import type { Kubectl } from '../kube/kubectl.js'
import { holderIdentity } from './holder.js'
import { acquireLease, type HeldLease } from './lease.js'
import { getLease } from './lease-api.js'
import { holderOf, isExpired, leaseName } from './lease-object.js'

export interface EnvironmentLockOptions {
  /** Default holderIdentity(): this run and job in Actions, user@host pid N elsewhere. */
  holder?: string
  leaseDurationSeconds?: number
  /** How long to wait for another holder; default 10 min. */
  waitTimeoutMs?: number
  pollMs?: number
}

export function acquireEnvironmentLock(env: Environment, kubectl: Kubectl, opts: EnvironmentLockOptions = {}): Promise<HeldLease> {
  return acquireLease({
    kubectl,
    namespace: env.kubernetes.namespace,
    name: leaseName(env.kubernetes.release),
    holder: opts.holder ?? holderIdentity(),
    leaseDurationSeconds: opts.leaseDurationSeconds,
    waitTimeoutMs: opts.waitTimeoutMs,
    pollMs: opts.pollMs
  })
}

/**
 * Acquires (or joins) the lock, runs fn, and releases it if acquired here, even when fn throws.
 * Losing the lease rejects at once with a LockLostError (fn can watch lock.signal to stop early).
 */
export async function withEnvironmentLock<T>(
  env: Environment,
  kubectl: Kubectl,
  fn: (lock: HeldLease) => Promise<T>,
  opts: EnvironmentLockOptions = {}
): Promise<T> {
  const lock = await acquireEnvironmentLock(env, kubectl, opts)
  try {
    const work = fn(lock)
    // If the lease is lost first, that is the error reported; fn's later end is not unhandled.
    work.catch(() => undefined)
    return await Promise.race([work, lock.lost])
  } finally {
    await lock.release().catch((error: unknown) =>
      // Not fatal: the lease runs out on its own leaseDurationSeconds after its last renewal.
      log.warning(
        `could not release the rollout lock ${quoted(`${lock.namespace}/${lock.name}`)}: ${(error as Error).message}; it expires ${lock.leaseDurationSeconds} s after its last renewal`
      )
    )
  }
}

/**
 * For steps that change nothing in the cluster but can take long (wait-ready, deploy-observers):
 * when this holder already holds the lock (the root action took it), join it, so it stays
 * renewed while they run; otherwise run fn without taking a lock.
 */
export async function joinEnvironmentLockIfHeld<T>(
  env: Environment,
  kubectl: Kubectl,
  fn: () => Promise<T>,
  opts: EnvironmentLockOptions = {}
): Promise<T> {
  const holder = opts.holder ?? holderIdentity()
  const lease = await getLease(kubectl, env.kubernetes.namespace, leaseName(env.kubernetes.release))
  if (!lease || holderOf(lease) !== holder || isExpired(lease)) return fn()
  return withEnvironmentLock(env, kubectl, () => fn(), { ...opts, holder })
}
