// How loading a values file scales with its number of keys: ours (one Set per mapping) against
// the yaml library's own duplicate-key check (uniqueKeys: true, which compares every key with
// every other one of its mapping), side by side, same files, same process. A benchmark, not a
// test: it records numbers (bench/results.json) and asserts nothing about time.
//
// Run: npm run bench -- --testPathPattern bench/yaml-load
import { it } from '@jest/globals'
import { performance } from 'node:perf_hooks'
import { parseDocument } from 'yaml'
import { MAX_VALUES_BYTES, parseYamlSource } from '../workflows-lib/src/environment/yaml-source.js'
import { compare, saveSection, summarize, type ResultRow, type Target } from './results.js'

const RUNS = 5

it('values files of 5k, 10k, 20k and 40k keys', () => {
  const rows: ResultRow[] = []
  const targets: Target[] = []
  let previous: number | undefined
  // Warm-up (the JIT), not counted: otherwise the first size pays it and the growth looks flat.
  const warm = `${Array.from({ length: 5_000 }, (_, i) => `w${i}: ${i}`).join('\n')}\n`
  times(() => parseYamlSource(warm, 'values.yaml', MAX_VALUES_BYTES), RUNS)
  times(() => parseDocument(warm, { uniqueKeys: true }).toJS(), 1)
  for (const keys of [5_000, 10_000, 20_000, 40_000]) {
    const text = `${Array.from({ length: keys }, (_, i) => `k${i}: ${i}`).join('\n')}\n`
    const ours = times(() => parseYamlSource(text, 'values.yaml', MAX_VALUES_BYTES), RUNS)
    // The baseline runs once for 40k keys (it takes seconds); its median of 1 is still a median.
    const library = times(() => parseDocument(text, { uniqueKeys: true }).toJS(), keys > 20_000 ? 1 : RUNS)
    rows.push(
      ...compare(`${keys} keys`, 'ms', { tool: 'ours (one Set per mapping)', samples: ours }, [{ tool: 'yaml uniqueKeys: true', samples: library }])
    )
    const median = summarize(ours).median
    if (previous !== undefined) {
      const growth = median / previous
      targets.push({
        case: `${keys / 2} -> ${keys} keys`,
        target: 'linear: doubling the keys at most ~2.5x the time',
        measured: `${growth.toFixed(2)}x`,
        met: growth <= 2.5
      })
    }
    previous = median
  }
  saveSection('yaml-load', {
    title: 'Loading a values file: duplicate-key check',
    method: `Values files of k<i>: <i> lines, ${RUNS} runs each (the library baseline once at 40k keys: it takes seconds), same process.`,
    rows,
    targets
  })
})

function times(fn: () => void, runs: number): number[] {
  const out: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    out.push(performance.now() - t0)
  }
  return out
}
