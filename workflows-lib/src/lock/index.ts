export { holderIdentity, HOLDER_ENV } from './holder.js'
export {
  acquireLease,
  releaseLease,
  HeldLease,
  LockLostError,
  LockTimeoutError,
  DEFAULT_LEASE_DURATION_SECONDS,
  DEFAULT_LOCK_WAIT_MS,
  type AcquireLeaseOptions,
  type ReleaseLeaseOptions
} from './lease.js'
export { acquireEnvironmentLock, joinEnvironmentLockIfHeld, withEnvironmentLock, type EnvironmentLockOptions } from './environment-lock.js'
export { leaseName, microTime, type Lease, type LeaseSpec } from './lease-object.js'
