// Bounded parallelism for per-host work.

/**
 * Calls fn for every item, at most `limit` at a time, in order of the items. Every item runs
 * even when another one fails; the first failure is thrown once all have finished.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`parallelism must be a whole number >= 1, got ${limit}`)
  const failures: unknown[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      try {
        await fn(items[index], index)
      } catch (error) {
        failures.push(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failures.length > 0) throw failures[0]
}
