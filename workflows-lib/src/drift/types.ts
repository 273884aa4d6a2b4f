// What drift detection reports: each difference between Git's rendered intent and the live
// state, what it means, and what fixes it; and what could not be checked, and why.

export type DriftKind =
  'release' | 'replicas' | 'image' | 'revision' | 'services' | 'addresses' | 'observer-files' | 'observer-serving' | 'observer-lag' | 'monitoring'

export interface DriftItem {
  kind: DriftKind
  /** What differs, e.g. "observer 102 (10.0.1.5)" or "StatefulSet zk-zookeeper". */
  subject: string
  /** The difference in one line ("server.2: 10.0.0.7, the LB now has 10.0.0.9"). */
  difference: string
  /** Lines that differ, for files ("- expected" / "+ found"). */
  details?: string[]
  /** What it means for the ensemble. */
  meaning: string
  /** The command or workflow that fixes it. */
  fix: string
}

export interface Unchecked {
  subject: string
  why: string
}

export interface DriftReport {
  environment: string
  items: DriftItem[]
  unchecked: Unchecked[]
  /** What was compared (for "in sync" to mean something): e.g. "release zk", "2 observers". */
  checked: string[]
}

export type DriftStatus = 'in-sync' | 'drift' | 'unchecked'

/**
 * Drift found anywhere wins (exit 2) even when some part could not be checked, because what was
 * found needs fixing either way; otherwise anything unchecked is a failure to check (exit 1).
 */
export function driftStatus(report: DriftReport): DriftStatus {
  if (report.items.length > 0) return 'drift'
  return report.unchecked.length > 0 ? 'unchecked' : 'in-sync'
}

export const EXIT_CODES: Record<DriftStatus, number> = { 'in-sync': 0, drift: 2, unchecked: 1 }
