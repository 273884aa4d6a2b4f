// Hostile values for the bundled chart, with real helm 3 and helm 4: the schema refuses each one,
// and even with the schema skipped the templates escape them, so no value can add YAML keys
// (e.g. a privileged securityContext) to the objects the chart renders.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { sandboxTools } from '../sandbox/tools.js'
import { repoRoot } from '../support/environments.js'

const run = promisify(execFile)
const chart = path.join(repoRoot, 'charts', 'zookeeper')
const tools = sandboxTools()
const helms: [string, string][] = [
  ['helm 3', tools.helm3],
  ['helm 4', tools.helm4]
]
// Every optional object rendered, so every template is exercised.
const renderAll = ['--set', 'metrics.serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor']

// Indented for the container's keys: pasted in unescaped, they parse as part of the container.
const privileged = '\n          securityContext:\n            privileged: true\n#'
// Indented for a volumeClaimTemplate's spec: the new volume would be a clone of another claim.
const cloneVictim = '\n        dataSource:\n          kind: PersistentVolumeClaim\n          name: victim'
const container = 'spec.template.spec.containers.0'
const containerKeys = [
  'args',
  'command',
  'env',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'name',
  'ports',
  'readinessProbe',
  'resources',
  'volumeMounts'
]

interface Hostile {
  field: string
  value: string
  /** The document kind and path the value lands at. */
  kind: string
  at: string
  /** The exact string it must render as; undefined for integers (any number, never the text). */
  rendered?: string
}

const repository = `zookeeper"${privileged}`
const tag = `3.9.4"${privileged}`
const heap = `512m"${privileged}`
const pullPolicy = `IfNotPresent${privileged}`
const dataSize = `5Gi${cloneVictim}`
const dataLogSize = `5Gi${cloneVictim}`
const storageClass = `fast"${cloneVictim}\n#`
const interval = '30s\n      honorLabels: true'

const strings: Hostile[] = [
  { field: 'image.repository', value: repository, kind: 'StatefulSet', at: `${container}.image`, rendered: `${repository}:3.9.4` },
  { field: 'image.tag', value: tag, kind: 'StatefulSet', at: `${container}.image`, rendered: `zookeeper:${tag}` },
  { field: 'image.pullPolicy', value: pullPolicy, kind: 'StatefulSet', at: `${container}.imagePullPolicy`, rendered: pullPolicy },
  { field: 'zookeeper.heap', value: heap, kind: 'StatefulSet', at: `${container}.env.0.value`, rendered: `-Xmx${heap} -Xms${heap}` },
  {
    field: 'persistence.dataSize',
    value: dataSize,
    kind: 'StatefulSet',
    at: 'spec.volumeClaimTemplates.0.spec.resources.requests.storage',
    rendered: dataSize
  },
  {
    field: 'persistence.dataLogSize',
    value: dataLogSize,
    kind: 'StatefulSet',
    at: 'spec.volumeClaimTemplates.1.spec.resources.requests.storage',
    rendered: dataLogSize
  },
  {
    field: 'persistence.storageClass',
    value: storageClass,
    kind: 'StatefulSet',
    at: 'spec.volumeClaimTemplates.0.spec.storageClassName',
    rendered: storageClass
  },
  { field: 'metrics.serviceMonitor.interval', value: interval, kind: 'ServiceMonitor', at: 'spec.endpoints.0.interval', rendered: interval }
]
// Integers given as text: the schema wants a number, the templates render one whatever the text.
const integers: Hostile[] = [
  { field: 'replicas', value: '3\n  revisionHistoryLimit: 0', kind: 'StatefulSet', at: 'spec.replicas' },
  { field: 'metrics.port', value: '7000, hostPort: 7000', kind: 'StatefulSet', at: `${container}.ports.3.containerPort` },
  { field: 'podDisruptionBudget.maxUnavailable', value: '1\n  minAvailable: 0', kind: 'PodDisruptionBudget', at: 'spec.maxUnavailable' }
]
// These also reach zoo.cfg lines (a block scalar, where YAML escaping cannot stop a new line).
const zooCfg: Pick<Hostile, 'field' | 'value'>[] = [
  { field: 'clusterDomain', value: 'cluster.local\n4lw.commands.whitelist=*' },
  { field: 'zookeeper.tickTime', value: '2000\n4lw.commands.whitelist=*' }
]

type Doc = Record<string, unknown> & { kind: string }

let dir: string
let files = 0
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zk-chart-hostile-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** { a: { b: v } } for "a.b". */
function nested(field: string, value: unknown): Record<string, unknown> {
  return field
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>
}

/** helm template with values files, merged in order (no --set parsing of commas and backslashes). */
async function render(helm: string, values: Record<string, unknown>[], extra: string[] = []): Promise<Doc[]> {
  const args = ['template', 'zk', chart, '--namespace', 'zk', ...renderAll, ...extra]
  for (const v of values) {
    const file = path.join(dir, `values-${++files}.json`)
    await writeFile(file, JSON.stringify(v))
    args.push('-f', file)
  }
  const { stdout } = await run(helm, args)
  // Lenient about repeated keys, as some decoders are: the heap appears twice on one line, so its
  // injection repeats keys, and a strict parser would hide what they did.
  const docs = parseAllDocuments(stdout, { uniqueKeys: false })
  for (const d of docs) if (d.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${d.errors[0].message}`)
  return docs.map(d => d.toJS() as Doc | null).filter((d): d is Doc => d !== null)
}

function dig(value: unknown, at: string): unknown {
  return at.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value)
}

/** Every key path of every document: an injected key or document shows up here. */
function shape(docs: Doc[]): string[] {
  const paths: string[] = []
  const walk = (v: unknown, at: string): void => {
    paths.push(at)
    if (v !== null && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, `${at}.${k}`)
  }
  docs.forEach((d, i) => walk(d, `${i}:${d.kind}`))
  return paths.sort()
}

/** helm 3 names a field "image.tag", helm 4 "/image/tag". */
function naming(field: string): RegExp {
  const parts = field.split('.')
  return new RegExp(`${parts.join('\\.')}\\b|/${parts.join('/')}\\b`)
}

describe.each(helms)('charts/zookeeper with %s, hostile values', (_, helm) => {
  // A storage class, so that the hostile one replaces a key rather than adding it.
  const base = { persistence: { storageClass: 'standard' } }
  let baseline: Doc[]
  beforeAll(async () => {
    baseline = await render(helm, [base])
  })

  it('has --skip-schema-validation, which the escaping checks below rely on', async () => {
    const { stdout } = await run(helm, ['template', '--help'])
    expect(stdout).toContain('--skip-schema-validation')
  })

  it.each([...strings, ...integers, ...zooCfg].map(h => [h.field, h] as const))('the schema refuses a hostile %s', async (field, h) => {
    // Exit status 1 with helm's own message on stderr (not execFile's, which echoes the command).
    const refused = render(helm, [nested(field, h.value)])
    await expect(refused).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/values don't meet the specifications of the schema/)
    })
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringMatching(naming(field)) })
  })

  it.each([...strings, ...integers].map(h => [h.field, h] as const))('with the schema skipped, a hostile %s adds no keys', async (field, h) => {
    const docs = await render(helm, [base, nested(field, h.value)], ['--skip-schema-validation'])
    expect(shape(docs)).toEqual(shape(baseline))
    const sts = docs.find(d => d.kind === 'StatefulSet')
    expect(Object.keys(dig(sts, container) as object).sort()).toEqual(containerKeys)
    expect(shape(docs).filter(p => /\.privileged$|\.dataSource$|\.honorLabels$|\.hostPort$/.test(p))).toEqual([])
    const landed = dig(
      docs.find(d => d.kind === h.kind),
      h.at
    )
    if (h.rendered === undefined) expect(landed).toEqual(expect.any(Number))
    else expect(landed).toBe(h.rendered)
  })

  it('accepts ordinary values of every constrained field', async () => {
    const docs = await render(helm, [
      {
        image: { repository: 'registry.example.com:5000/team/zoo_keeper', tag: '3.9.4-jre-17' },
        zookeeper: { heap: '2g' },
        persistence: { storageClass: 'fast.ssd-1', dataSize: '1.5Ti', dataLogSize: '500Mi' },
        metrics: { serviceMonitor: { interval: '1m30s' } }
      }
    ])
    const sts = docs.find(d => d.kind === 'StatefulSet')
    expect(dig(sts, `${container}.image`)).toBe('registry.example.com:5000/team/zoo_keeper:3.9.4-jre-17')
    expect(dig(sts, `${container}.env.0.value`)).toBe('-Xmx2g -Xms2g')
    expect(dig(sts, 'spec.volumeClaimTemplates.0.spec.storageClassName')).toBe('fast.ssd-1')
    expect(dig(sts, 'spec.volumeClaimTemplates.0.spec.resources.requests.storage')).toBe('1.5Ti')
    expect(dig(sts, 'spec.volumeClaimTemplates.1.spec.resources.requests.storage')).toBe('500Mi')
    expect(
      dig(
        docs.find(d => d.kind === 'ServiceMonitor'),
        'spec.endpoints.0.interval'
      )
    ).toBe('1m30s')
  })
})
