// Durations such as 30s, 5m or 1h. Every one has a documented range (README: Environments), so
// no value can overflow a timer or mean "no time at all".
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** The shape; at most 9 digits, so the number is always exact. */
export const DURATION_PATTERN = '^([0-9]{1,9})(ms|s|m|h)$'

export interface DurationRange {
  minMs: number
  maxMs: number
}

/** Timeouts of one step and the ServiceMonitor's scrape interval: 1 s to 1 h. */
export const STEP_DURATION: DurationRange = { minMs: 1000, maxMs: 3_600_000 }
/** A timeout over a whole step of many servers (wait-ready's `timeout` input): 1 s to 24 h. */
export const OVERALL_DURATION: DurationRange = { minMs: 1000, maxMs: 24 * 3_600_000 }
/** How long to wait for another rollout's lock (the actions' `lock-timeout` input): 1 s to 6 h. */
export const LOCK_WAIT_DURATION: DurationRange = { minMs: 1000, maxMs: 6 * 3_600_000 }

/** "5m" -> 300000; throws a message that says the allowed range. */
export function parseDuration(text: string, range: DurationRange = STEP_DURATION): number {
  const match = new RegExp(DURATION_PATTERN).exec(text)
  if (!match) throw new Error(`${JSON.stringify(text.slice(0, 40))} is not a duration: use a number with ms, s, m or h (e.g. 5m)`)
  return checkDurationRange(Number(match[1]) * units[match[2]], range, text)
}

export function checkDurationRange(ms: number, range: DurationRange, shown = formatDuration(ms)): number {
  if (ms < range.minMs || ms > range.maxMs)
    throw new Error(`${shown} is out of range: use ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}`)
  return ms
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}
