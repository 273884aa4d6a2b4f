// How loading a values file scales with its number of keys: ours (one Set per mapping) against
// the yaml library's own duplicate-key check (uniqueKeys: true, which compares every key with
// every other one of its mapping), side by side, same files, same process. A benchmark, not a
// test: it prints numbers and asserts nothing about time.
//
// Run: npm run bench -- --testPathPattern bench/yaml-load
import { it } from '@jest/globals'
import { performance } from 'node:perf_hooks'
import { parseDocument } from 'yaml'
import { MAX_VALUES_BYTES, parseYamlSource } from '../workflows-lib/src/environment/yaml-source.js'

const RUNS = 5
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function time(fn: () => void): number {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    fn()
    times.push(performance.now() - t0)
  }
  return median(times)
}

it('values files of 5k, 10k, 20k and 40k keys', () => {
  const rows: string[] = []
  let previous: { ours: number; library: number } | undefined
  for (const keys of [5_000, 10_000, 20_000, 40_000]) {
    const text = `${Array.from({ length: keys }, (_, i) => `k${i}: ${i}`).join('\n')}\n`
    const ours = time(() => parseYamlSource(text, 'values.yaml', MAX_VALUES_BYTES))
    // The baseline runs once for 40k keys (it takes seconds); its median of 1 is still a median.
    const library =
      keys > 20_000 ? time1(() => parseDocument(text, { uniqueKeys: true }).toJS()) : time(() => parseDocument(text, { uniqueKeys: true }).toJS())
    const growth = previous ? ` | x${(ours / previous.ours).toFixed(2)} | x${(library / previous.library).toFixed(2)}` : ' | | '
    rows.push(`| ${keys} | ${text.length} | ${ours.toFixed(1)} | ${library.toFixed(1)} | ${(library / ours).toFixed(1)}${growth} |`)
    previous = { ours, library }
  }
  console.log(
    [
      'YAML loading, median ms (doubling the keys should double a linear time):',
      '| keys | bytes | ours ms | uniqueKeys ms | baseline/ours | ours growth | baseline growth |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...rows
    ].join('\n')
  )
})

function time1(fn: () => void): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}
