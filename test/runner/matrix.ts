// strategy: and strategy.matrix, as GitHub's workflow parser builds them
// (actions/runner src/Sdk/WorkflowParser/Conversion/WorkflowTemplateConverter.cs ConvertToStrategy
// and MatrixBuilder.cs): the cross product of the vectors (the first key varies slowest), minus
// the exclude filters, plus the include entries (an entry that matches a combination on every key
// of the original vectors adds its other keys to it; one that matches none is a combination of
// its own). GitHub's errors, which fail the job:
//   - a vector with no values: "Matrix vector 'x' does not contain any values";
//   - no vector and an empty (or no) include list, e.g. `matrix: ${{ fromJSON('{"include":[]}') }}`:
//     "Matrix must define at least one vector";
//   - an empty include entry / exclude filter, an exclude key that is no vector.
// So a matrix computed by an earlier job must be guarded by the job's `if:` (evaluated first).
// A matrix whose combinations are all excluded runs the job once, without a matrix.
import { EvaluationError, expressionEquals, toData } from './expressions.js'

export interface MatrixConfig {
  matrix: Record<string, unknown> | undefined
  /** The values that name the job: "build (a, 1)". */
  segments: string[]
}

export interface Strategy {
  failFast: boolean
  maxParallel?: number
  configs: MatrixConfig[]
}

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function leaves(value: unknown, p: (string | number)[] = [], out: [(string | number)[], unknown][] = []): [(string | number)[], unknown][] {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, [...p, i], out))
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) leaves(v, [...p, k], out)
  else out.push([p, value])
  return out
}

function lookup(value: unknown, p: (string | number)[]): unknown {
  let cur = value
  for (const k of p) {
    if (Array.isArray(cur) && typeof k === 'number') cur = cur[k]
    else if (isObj(cur) && typeof k === 'string') {
      const key = Object.keys(cur).find(x => x.toLowerCase() === k.toLowerCase())
      cur = key === undefined ? undefined : cur[key]
    } else return undefined
  }
  return cur
}

/** Whether every leaf of `filter` equals (GitHub `==`) the matrix value at the same path. */
function filterMatches(filter: Obj, matrix: Obj): boolean {
  return leaves(filter).every(([p, literal]) => expressionEquals(toData(lookup(matrix, p)), toData(literal)))
}

function segmentsOf(matrix: Obj): string[] {
  const out: string[] = []
  for (const [, v] of leaves(matrix)) {
    if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') {
      const s = toData(v).coerceString()
      if (s) out.push(s)
    }
  }
  return out
}

/** Builds the strategy from its evaluated value. `prefix` locates errors ("file (Line: l, Col: c): "). */
export function buildStrategy(value: unknown, prefix: string): Strategy {
  const fail = (m: string): never => {
    throw new EvaluationError(`${prefix}${m}`)
  }
  if (value === undefined || value === null) return { failFast: true, configs: [{ matrix: undefined, segments: [] }] }
  if (!isObj(value)) fail('Unexpected value for strategy: a mapping was expected')
  const strategy = value as Obj
  let failFast = true
  let maxParallel: number | undefined
  let matrixValue: unknown = undefined
  for (const [key, v] of Object.entries(strategy)) {
    if (key === 'fail-fast') {
      if (typeof v !== 'boolean') fail(`Unexpected value for strategy fail-fast: ${JSON.stringify(v)}`)
      failFast = v as boolean
    } else if (key === 'max-parallel') {
      const n = typeof v === 'number' ? v : Number(v)
      if (!Number.isFinite(n)) fail(`Unexpected value for strategy max-parallel: ${JSON.stringify(v)}`)
      maxParallel = Math.trunc(n)
    } else if (key === 'matrix') {
      matrixValue = v
    } else {
      fail(`Unexpected strategy key '${key}'`)
    }
  }
  if (matrixValue === undefined) return { failFast, maxParallel, configs: [{ matrix: undefined, segments: [] }] }
  if (!isObj(matrixValue)) fail(`Unexpected value for matrix: a mapping was expected, got ${JSON.stringify(matrixValue)}`)
  const matrix = matrixValue as Obj
  const vectors: [string, unknown[]][] = []
  let include: unknown[] = []
  let exclude: unknown[] = []
  let hasVector = false
  for (const [key, v] of Object.entries(matrix)) {
    if (key === 'include') {
      if (!Array.isArray(v)) fail('Unexpected value for matrix include: a sequence was expected')
      include = v as unknown[]
    } else if (key === 'exclude') {
      if (!Array.isArray(v)) fail('Unexpected value for matrix exclude: a sequence was expected')
      exclude = v as unknown[]
    } else {
      hasVector = true
      if (!Array.isArray(v)) fail(`Unexpected value for matrix vector '${key}': a sequence was expected`)
      if ((v as unknown[]).length === 0) fail(`Matrix vector '${key}' does not contain any values`)
      vectors.push([key, v as unknown[]])
    }
  }
  if (!hasVector && include.length === 0) fail('Matrix must define at least one vector')
  const vectorKeys = new Set(vectors.map(([k]) => k.toLowerCase()))

  const includes = include.map(item => {
    if (!isObj(item)) fail('Unexpected value for matrix include item: a mapping was expected')
    const filter: Obj = {}
    const extra: Obj = {}
    for (const [k, v] of Object.entries(item as Obj)) (vectorKeys.has(k.toLowerCase()) ? filter : extra)[k] = v
    if (Object.keys(filter).length === 0 && Object.keys(extra).length === 0) fail('Matrix include mapping does not contain any values')
    return { filter, extra, matched: false }
  })
  const excludes = exclude.map(item => {
    if (!isObj(item)) fail('Unexpected value for matrix exclude item: a mapping was expected')
    if (Object.keys(item as Obj).length === 0) fail('Matrix exclude filter must not be empty')
    for (const k of Object.keys(item as Obj))
      if (!vectorKeys.has(k.toLowerCase())) fail(`Matrix exclude key '${k}' does not match any key within the matrix`)
    return item as Obj
  })

  const configs: MatrixConfig[] = []
  const size = vectors.length > 0 ? vectors.reduce((n, [, v]) => n * v.length, 1) : 0
  for (let index = 0; index < size; index++) {
    const combination: Obj = {}
    let block = size
    for (const [key, vector] of vectors) {
      block = block / vector.length
      combination[key] = vector[Math.floor(index / block) % vector.length]
    }
    if (excludes.some(f => filterMatches(f, combination))) continue
    let extra: Obj | undefined
    for (const inc of includes) {
      if (filterMatches(inc.filter, combination)) {
        inc.matched = true
        extra = { ...(extra ?? {}), ...inc.extra }
      }
    }
    configs.push({ matrix: { ...combination, ...(extra ?? {}) }, segments: segmentsOf(combination) })
  }
  for (const inc of includes) {
    if (inc.matched) continue
    const combination = { ...inc.filter, ...inc.extra }
    configs.push({ matrix: combination, segments: segmentsOf(combination) })
  }
  // Everything excluded: GitHub runs the job once, with no matrix (WorkflowTemplateEvaluator.EvaluateStrategy).
  if (configs.length === 0) return { failFast, maxParallel: 1, configs: [{ matrix: undefined, segments: [] }] }
  return { failFast, maxParallel, configs }
}
