// Output is an attack surface: no value from a user may start a printed line (a workflow
// command) or bring a line of its own into a rendered file. Three layers are tested: the escape
// functions, every renderer over every string field of the model, and (property-based) the
// whole path from a hostile environment.yaml through the CLI.
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { stringify } from 'yaml'
import { run } from '../../workflows-lib/src/cli/main.js'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import { inert, oneLine, propertyValue, quoted } from '../../workflows-lib/src/output/printable.js'
import { buildPlan, formatPlanText } from '../../workflows-lib/src/plan/plan.js'
import { renderMonitoring, renderObserverFiles, renderServerServices, toYamlDocuments } from '../../workflows-lib/src/render/index.js'
import { exampleDir, repoRoot } from '../support/environments.js'

/** A line the runner would take as a workflow command (v2 "::", after trimming; legacy "##["). */
const isCommand = (line: string): boolean => line.trimStart().startsWith('::') || line.includes('##[')
// Line breaks as the runner (\r, \n) and YAML 1.1 (also U+0085, U+2028, U+2029) see them.
const lines = (text: string): string[] => text.split(/\r\n|\r|\n|\u0085|\u2028|\u2029/)

describe('the escapes', () => {
  it('inert breaks every workflow command and keeps other text as it is', () => {
    const text = 'ok line\n::warning title=x::forged\n   ::error::indented\r::set-output name=a::b\nsee ##[error]legacy\nhttp://a::b'
    const out = inert(text)
    expect(lines(out).filter(isCommand)).toEqual([])
    expect(lines(out)).toEqual([
      'ok line',
      ': :warning title=x::forged',
      '   : :error::indented',
      ': :set-output name=a::b',
      'see # #[error]legacy',
      'http://a::b'
    ])
    expect(inert(out)).toBe(out)
  })

  it('quoted and oneLine leave no line break, and quoted cuts long values', () => {
    expect(quoted('a\nb\r\u2028c')).toBe('"a\\nb\\r\\u2028c"')
    expect(quoted('x'.repeat(500))).toMatch(/^"x{120}…" \(500 characters\)$/)
    expect(oneLine('a\nb\u0000\u2029')).toBe('a\\u000ab\\u0000\\u2029')
  })

  it('propertyValue escapes what java.util.Properties would read as a new line or a continuation', () => {
    expect(propertyValue('a\\')).toBe('a\\\\')
    expect(propertyValue('a\nskipACL=yes')).toBe('a\\u000askipACL=yes')
  })
})

/** Every string leaf of an object, by path. */
function stringPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [at]
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...at, i]))
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...at, k]))
  return []
}

function withValue<T>(value: T, at: (string | number)[], replacement: string): T {
  const copy = structuredClone(value) as Record<string | number, unknown>
  let node = copy
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  node[at[at.length - 1]] = replacement
  return copy as T
}

describe('every renderer, over every string field of the model', () => {
  const hostile = 'v\nskipACL=yes\n::warning::forged\r\nserver.200=attacker.example:2888:3888\\\n#'
  const injected = (text: string): boolean => lines(text).some(l => l === 'skipACL=yes' || isCommand(l) || l.startsWith('server.200'))

  it('renders no line from a value, or refuses the value', async () => {
    const base = await loadEnvironment(exampleDir)
    const paths = stringPaths(base).filter(p => !['directory', 'file'].includes(String(p[0])))
    expect(paths.length).toBeGreaterThan(20)
    for (const at of paths) {
      const env = withValue<Environment>(base, at, hostile)
      const renders: (() => string)[] = [
        ...env.observers!.hosts.map(
          host => () =>
            Object.values(
              renderObserverFiles({ environment: env, observers: env.observers!, host, servers: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] })
            ).join('\n')
        ),
        () => toYamlDocuments(renderServerServices(env)),
        () =>
          Object.values(renderMonitoring({ ...env, observers: env.observers!, monitoring: env.monitoring! }))
            .map(m => toYamlDocuments([m]))
            .join('\n'),
        () => formatPlanText(buildPlan(env, { roots: { bundled: repoRoot, repository: repoRoot } }))
      ]
      for (const render of renders) {
        let text: string
        try {
          text = render()
        } catch (error) {
          // A refusal is fine; its message must not carry the value's lines either.
          expect({ at, message: injected((error as Error).message) }).toEqual({ at, message: false })
          continue
        }
        expect({ at, injected: injected(text) ? text : false }).toEqual({ at, injected: false })
      }
    }
  })
})

// environment.yaml fields that hold strings, with a valid value each; a generated hostile string
// replaces one at a time.
const template = {
  kubernetes: { namespace: 'zk', release: 'zk', clusterDomain: 'cluster.local' },
  chart: { values: 'values.yaml' },
  ensemble: { servers: 3 },
  expose: { serviceName: 'zk{ordinal}', cloud: 'tke', subnet: 'subnet-1', annotations: { 'example.com/a': 'b' } },
  observers: {
    image: 'zookeeper:3.9.4',
    metrics: 'native',
    directory: '/data/zookeeper',
    ssh: { user: 'deploy', jumpHost: { host: 'bastion.example', user: 'jump' } },
    hosts: [{ id: 101, host: '10.0.0.1' }]
  },
  monitoring: { serviceName: 'zk-obs', labels: { team: 'zk' }, serviceMonitor: { labels: { release: 'prometheus' }, interval: '30s' } },
  timeouts: { podReady: '5m', loadBalancer: '10m', observerJoin: '2m' }
}

// Strings built to break out: line breaks of every kind, workflow commands, zoo.cfg keys,
// quotes, backslashes, shell and YAML syntax, around arbitrary unicode.
const hostileString = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '\n',
        '\r',
        '\r\n',
        '\u2028',
        '\u0085',
        '::',
        '::warning::x',
        '##[error]',
        'skipACL=yes',
        '"',
        "'",
        '\\',
        '$(id)',
        '`id`',
        '#',
        ': ',
        '- ',
        '{',
        '%0A',
        '\u0000'
      ),
      fc.string({ unit: 'grapheme', maxLength: 6 })
    ),
    { minLength: 1, maxLength: 8 }
  )
  .map(parts => parts.join(''))

async function cli(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await run(args, { out: t => (out += t), err: t => (err += t), cwd, packageRoot: repoRoot, which: async t => t })
  return { code, out, err }
}

describe('property: a hostile environment.yaml gives a located error or clean output', () => {
  const fields = stringPaths(template)
  const keyFields = [
    ['expose', 'annotations'],
    ['monitoring', 'labels']
  ]
  const repo = mkdtempSync(path.join(os.tmpdir(), 'zk-property-'))
  let n = 0

  const check = async (document: unknown, name = 'prop'): Promise<void> => {
    const dir = path.join(repo, `case-${n++}`, 'environments', name)
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, 'environment.yaml'), stringify(document))
    writeFileSync(path.join(dir, 'values.yaml'), '{}\n')
    const { code, out, err } = await cli(['plan', dir, '--servers', '10.1.0.1,10.1.0.2,10.1.0.3'], repo)
    const printed = lines(out + err)
    expect(printed.filter(isCommand)).toEqual([])
    expect(printed).not.toContain('skipACL=yes')
    if (code === 0) return
    expect(code).toBe(1)
    // Every problem is located: "file:line:column: ..." on a line of its own.
    const located = printed.filter(l => /^ {2}.+(environment|values)\.yaml:\d+:\d+: /.test(l))
    expect({ err, located: located.length > 0 }).toEqual({ err, located: true })
  }

  it('for every string field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), hostileString, async (at, value) => check(withValue(template, at, value))),
      { numRuns: 300 }
    )
  })

  it('for label and annotation keys', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keyFields), hostileString, async (at, key) => {
        const document = structuredClone(template) as Record<string, Record<string, unknown>>
        ;(at.reduce<Record<string, unknown>>((node, k) => node[k] as Record<string, unknown>, document) as Record<string, string>)[key] = 'v'
        await check(document)
      }),
      { numRuns: 100 }
    )
  })

  it('for the environment directory name', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileString.filter(s => !s.includes('/') && !s.includes('\u0000') && s !== '.' && s !== '..' && s.length < 200),
        async name => check(template, name)
      ),
      { numRuns: 100 }
    )
  })
})
