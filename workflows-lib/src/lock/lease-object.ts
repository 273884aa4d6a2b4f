// The coordination.k8s.io/v1 Lease that is the rollout lock, and the times in it. A Lease is
// served by every supported Kubernetes (1.14+), and its resourceVersion gives the optimistic
// concurrency that makes take-overs atomic.
import type { KubeObject } from '../kube/types.js'

export interface LeaseSpec {
  /** Empty or absent: released. */
  holderIdentity?: string
  leaseDurationSeconds?: number
  /** MicroTime: RFC 3339 with microseconds. */
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec
}

export const LEASE_RESOURCE = 'leases.coordination.k8s.io'

/** The lock of one release: one Lease per release in its namespace. */
export function leaseName(release: string): string {
  return `zk-rollout-${release}`
}

/** A MicroTime: the API server parses exactly six fractional digits. */
export function microTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export function holderOf(lease: Lease): string | undefined {
  return lease.spec?.holderIdentity || undefined
}

/** When the current holder's claim runs out: last renewal plus its own lease duration. */
export function expiresAt(lease: Lease): number {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '')
  // A lease that says neither when it was renewed nor for how long cannot be waited out: expired.
  if (Number.isNaN(renewed)) return 0
  return renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000
}

export function isExpired(lease: Lease, now: number = Date.now()): boolean {
  return expiresAt(lease) <= now
}

/**
 * The object to write: the one read (its labels, annotations and resourceVersion, which makes
 * the write conditional) with a new spec. Server-managed fields are left out.
 */
export function leaseWith(lease: Lease, spec: LeaseSpec): Lease {
  const { name, namespace, resourceVersion, labels, annotations } = lease.metadata
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, resourceVersion, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec
  }
}

export function newLease(namespace: string, name: string, spec: LeaseSpec): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'zk-rollout' } },
    spec
  }
}
