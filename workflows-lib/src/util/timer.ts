// Every timer of the library goes through here. Node's setTimeout takes a signed 32-bit delay:
// anything longer (or Infinity, NaN, a negative number) fires after 1 ms with only a warning,
// which would turn a 300 h deadline into "time is up now". Such a delay is refused instead.

/** The longest delay setTimeout holds: 2^31 - 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export function checkDelay(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIMER_MS)
    throw new RangeError(`${what}: ${ms} ms is not a delay a timer can hold (0 to ${MAX_TIMER_MS} ms, about 24 days)`)
  return ms
}

export function setSafeTimeout(fn: () => void, ms: number, what: string): NodeJS.Timeout {
  return setTimeout(fn, checkDelay(ms, what))
}

export function setSafeInterval(fn: () => void, ms: number, what: string): NodeJS.Timeout {
  return setInterval(fn, Math.max(1, checkDelay(ms, what)))
}

export function sleep(ms: number, what = 'sleep'): Promise<void> {
  return new Promise(resolve => setSafeTimeout(resolve, ms, what))
}
