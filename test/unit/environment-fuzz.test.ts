// Fuzzing what users write: valid environment files mutated (types, unknown and duplicate keys,
// unicode, control characters, huge values, deep nesting, anchors and alias bombs, injection
// strings, option-like values) must load into a valid model or fail with a located ConfigError,
// quickly, never with another exception. Action inputs likewise: a value or an InputError naming
// the input. The seed is printed; FUZZ_SEED=<n> replays a run.
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { parse, stringify } from 'yaml'
import { ConfigError, loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import { renderObserverFiles } from '../../workflows-lib/src/render/index.js'
import { durationInput, InputError, integerInput, stringListInput } from '../../workflows-lib/src/runner/inputs.js'
import { repoRoot, writeEnvironment } from '../support/environments.js'

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
const numRuns = Number(process.env.FUZZ_RUNS ?? 150)
// Printed once, so a failure can be replayed with FUZZ_SEED.
console.log(`environment fuzzing: seed ${seed}, ${numRuns} runs per property (replay: FUZZ_SEED=${seed})`)

const example = parse(readFileSync(path.join(repoRoot, 'environments', 'example', 'environment.yaml'), 'utf8')) as Record<string, unknown>

const hostile = fc.constantFrom(
  'x\nskipACL=yes',
  '::error::pwned',
  '$(id)',
  '`id`',
  '; rm -rf /',
  '--help',
  '-oProxyCommand=id',
  '../../etc/passwd',
  '\u0000',
  '\u001b[31m',
  '\u202e',
  '\ud83d\ude00',
  'zk\r\nserver.9=evil:2888:3888',
  '{{ .Values.x }}',
  '%0A::warning::x',
  ' ',
  ''
)
const leafValue = fc.oneof(
  hostile,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant('a'.repeat(70_000)),
  fc.constant([]),
  fc.constant({}),
  fc.constant(Array.from({ length: 200 }, (_, i) => ({ id: 101 + i, host: `10.0.${i >> 8}.${i & 255}` })))
)

type Path = (string | number)[]

/** Every path to a value in the document, objects and arrays included. */
function paths(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at]
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])))
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]))
  return out
}

// An earlier mutation may have replaced a container: setting goes through a fresh one, removing
// from what is no longer a container leaves it as it is.
const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null

function setAt(doc: unknown, at: Path, value: unknown): unknown {
  if (at.length === 0) return value
  if (!isContainer(doc)) doc = {}
  const copy = (Array.isArray(doc) ? [...doc] : { ...(doc as object) }) as Record<string | number, unknown>
  const [head, ...rest] = at
  copy[head] = setAt(copy[head], rest, value)
  return copy
}

function removeAt(doc: unknown, at: Path): unknown {
  if (at.length === 0 || !isContainer(doc)) return doc
  if (at.length === 1) {
    if (Array.isArray(doc)) return doc.filter((_, i) => i !== at[0])
    const { [at[0]]: _, ...rest } = doc as Record<string, unknown>
    return rest
  }
  const copy = (Array.isArray(doc) ? [...doc] : { ...(doc as object) }) as Record<string | number, unknown>
  copy[at[0]] = removeAt(copy[at[0]], at.slice(1))
  return copy
}

const allPaths = paths(example).filter(p => p.length > 0)

/** One structural mutation of the parsed document. */
const structural = fc.oneof(
  fc.tuple(fc.constantFrom(...allPaths), leafValue).map(
    ([at, v]) =>
      (doc: unknown) =>
        setAt(doc, at, v)
  ),
  fc.constantFrom(...allPaths).map(at => (doc: unknown) => removeAt(doc, at)),
  fc.tuple(fc.constantFrom(...allPaths.filter(p => p.length < 3)), fc.oneof(hostile, fc.string({ maxLength: 12 })), leafValue).map(
    ([at, key, v]) =>
      (doc: unknown) =>
        setAt(doc, [...at, key], v)
  ),
  fc.constantFrom(...allPaths).map(at => (doc: unknown) => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 300; i++) deep = { d: deep }
    return setAt(doc, at, deep)
  })
)

/** Mutations only the text can express: duplicate keys, anchors and alias bombs, broken YAML. */
const textual = fc.oneof(
  fc.constant((t: string) => `${t}\nensemble:\n  servers: 5\n`),
  fc.constant((t: string) => t.replace('kubernetes:', 'kubernetes: &k').concat('\nextra: *k\n')),
  fc.constant(
    (t: string) =>
      `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n${t}`
  ),
  fc.constant((t: string) => t.replace('servers: 3', 'servers: !!binary aGVsbG8=')),
  fc.constant((t: string) => t.replace('release: zk', 'release: [zk')),
  fc.constant((t: string) => `${'['.repeat(2000)}${t}`),
  fc.constant((t: string) => t.replace(/\n/g, '\r\n')),
  fc.constant((t: string) => `\ufeff${t}`),
  fc.integer({ min: 0, max: 2000 }).map(cut => (t: string) => t.slice(0, cut))
)

interface Outcome {
  ok: boolean
  ms: number
}

async function loadAndCheck(text: string): Promise<Outcome> {
  const dir = writeEnvironment(text, { name: 'fuzz', values: '{}\n' })
  const started = Date.now()
  try {
    const env = await loadEnvironment(dir, { repository: path.resolve(dir, '..', '..') })
    const ms = Date.now() - started
    // A model that loaded renders files in which no value could start a line of its own.
    for (const host of env.observers?.hosts ?? []) {
      const files = renderObserverFiles({
        environment: env,
        observers: env.observers!,
        host,
        servers: Array.from({ length: env.ensemble.servers }, (_, i) => `10.9.0.${i + 1}`),
        placeholders: false
      })
      for (const line of files['zoo.cfg'].split('\n')) expect(line).toMatch(/^($|#|[A-Za-z0-9_.]+=[^\r\n]*$)/)
      expect(files.myid.trim()).toBe(String(host.id))
    }
    return { ok: true, ms }
  } catch (error) {
    const ms = Date.now() - started
    // Only a ConfigError, and every problem located in a file, on one line each.
    if (!(error instanceof ConfigError)) throw error
    expect(error.problems.length).toBeGreaterThan(0)
    for (const p of error.problems) {
      expect(p.file).toMatch(/environment\.ya?ml$|values\.ya?ml$|fuzz$/)
      expect(p.line).toBeGreaterThanOrEqual(1)
      expect(p.column).toBeGreaterThanOrEqual(1)
      expect(p.message).not.toMatch(/[\r\n]/)
      expect(p.message).not.toMatch(/^\s*at /m)
    }
    return { ok: false, ms }
  }
}

// A guard against hangs and blow-ups (alias bombs, deep nesting), not a speed target: loads take
// about 150 ms at most here.
const TIME_BOUND_MS = 2000

describe('fuzzing environment files', () => {
  it('structural mutations of the example load, or fail with located problems, within the time bound', async () => {
    let accepted = 0
    let slowest = 0
    await fc.assert(
      fc.asyncProperty(fc.array(structural, { minLength: 1, maxLength: 4 }), async mutations => {
        const doc = mutations.reduce<unknown>((d, m) => m(d), example)
        const outcome = await loadAndCheck(stringify(doc, { aliasDuplicateObjects: false }))
        slowest = Math.max(slowest, outcome.ms)
        if (outcome.ok) accepted++
        expect(outcome.ms).toBeLessThan(TIME_BOUND_MS)
      }),
      { seed, numRuns }
    )
    console.log(`structural: ${accepted} of ${numRuns} mutated files still valid, slowest load ${slowest} ms`)
  })

  it('textual mutations (duplicate keys, anchors, alias bombs, broken YAML) fail cleanly', async () => {
    const text = readFileSync(path.join(repoRoot, 'environments', 'example', 'environment.yaml'), 'utf8')
    await fc.assert(
      fc.asyncProperty(fc.array(textual, { minLength: 1, maxLength: 3 }), async mutations => {
        const outcome = await loadAndCheck(mutations.reduce((t, m) => m(t), text))
        expect(outcome.ms).toBeLessThan(TIME_BOUND_MS)
      }),
      { seed, numRuns: Math.min(numRuns, 80) }
    )
  })
})

describe('fuzzing action inputs', () => {
  const withInput = (name: string, value: string, read: () => unknown): unknown => {
    const key = `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
    process.env[key] = value
    try {
      return read()
    } finally {
      delete process.env[key]
    }
  }
  const inputValue = fc.oneof(hostile, fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.integer().map(String))

  it('integer, duration and list inputs give a value in range or an InputError naming the input', () => {
    fc.assert(
      fc.property(inputValue, value => {
        const reads: [string, () => unknown, (v: unknown) => boolean][] = [
          [
            'max-unavailable',
            () => integerInput('max-unavailable', { min: 1, max: 1000 }),
            (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000)
          ],
          ['join-timeout', () => durationInput('join-timeout'), (v: unknown) => v === undefined || (typeof v === 'number' && v > 0)],
          [
            'servers',
            () => stringListInput('servers'),
            (v: unknown) => v === undefined || (Array.isArray(v) && v.every(s => typeof s === 'string' && !/[\r\n]/.test(s)))
          ]
        ]
        for (const [name, read, check] of reads) {
          try {
            expect(check(withInput(name, value, read))).toBe(true)
          } catch (error) {
            if (!(error instanceof InputError)) throw error
            expect(error.message).toContain(name)
          }
        }
      }),
      { seed, numRuns: numRuns * 4 }
    )
  })
})
