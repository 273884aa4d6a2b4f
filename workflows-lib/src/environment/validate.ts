// Validation of environment.yaml: YAML syntax, the JSON Schema (types, unknown keys, lengths),
// then the semantic rules a schema cannot express. The semantic rules run even when the schema
// found problems (on every part they can read), so a user sees every problem in one run. Every
// problem carries file, field, line and column; values appear in messages only JSON-quoted.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { LineCounter, Document } from 'yaml'
import { quoted } from '../output/printable.js'
import { DURATION_PATTERN, parseDuration } from './duration.js'
import { formatField, type ConfigProblem, type FieldPath } from './problems.js'
import {
  canonicalHost,
  hostProblem,
  imageProblem,
  isHostOrIp,
  isIpAddress,
  isSafeAbsolutePath,
  isSafeRelativePath,
  isServiceName,
  isUserName,
  labelValueProblem,
  metadataKeyProblem
} from './rules.js'
import { DNS_LABEL, environmentSchema, LABEL_VALUE, METADATA_KEY, NO_CONTROL, SERVICE_NAME_PATTERN, VERSION } from './schema.js'
import { SourceMap } from './source-map.js'
import { MAX_ENVIRONMENT_BYTES, parseYamlSource } from './yaml-source.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Raw = Record<string, any>

// Compiled on first use, not at import: every action bundles this module, and compiling costs
// ~110 ms of start-up (bench/RESULTS.md), half of it checking our own schema against the JSON
// Schema meta-schema, which a unit test does once instead (validateSchema: false here).
let compiled: ValidateFunction | undefined
const schemaValidator = (): ValidateFunction =>
  (compiled ??= new Ajv({ allErrors: true, strict: true, validateSchema: false }).compile(environmentSchema))

// Friendly names for the schema's patterns, so errors say what is expected, not a regex.
const patternNames: Record<string, string> = {
  [DNS_LABEL]: 'a DNS label (lowercase letters, digits and "-", at most 63 characters)',
  [DURATION_PATTERN]: 'a duration such as 30s, 5m or 1h',
  [NO_CONTROL]: 'text without control characters (no newlines or tabs)',
  [LABEL_VALUE]: 'a label value: letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
  [METADATA_KEY]: 'a label or annotation key',
  [VERSION]: 'a version: letters, digits, "-", "_", "." and "+"',
  [SERVICE_NAME_PATTERN]: 'a Service name pattern: lowercase letters, digits, "-", {ordinal} and {release}, starting with a letter or {release}'
}

export interface Validated {
  raw: Raw | undefined
  problems: ConfigProblem[]
  /** Where a field is written in the file (for checks made after parsing). */
  locate: (field: FieldPath, at?: 'key' | 'value') => { line: number; column: number }
}

export function parseEnvironmentText(text: string, file: string): Validated {
  const source = parseYamlSource(text, file, MAX_ENVIRONMENT_BYTES)
  const map = new SourceMap(source.doc as Document, source.lines as LineCounter)
  const locate = (field: FieldPath, at: 'key' | 'value' = 'value') => map.locate(field, at)
  const problems = [...source.problems]
  if (problems.length > 0) return { raw: undefined, problems, locate }
  const raw = source.value
  const report = (field: FieldPath, message: string, at: 'key' | 'value' = 'value'): void => {
    const pos = locate(field, at)
    problems.push({ file, field: formatField(field), line: pos.line, column: pos.column, message })
  }

  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    report([], 'expected a mapping with at least kubernetes: and ensemble:')
    return { raw: undefined, problems, locate }
  }
  const schemaFields: string[] = []
  const validateSchema = schemaValidator()
  if (!validateSchema(raw))
    for (const error of validateSchema.errors ?? [])
      reportSchemaError(error, (field, message, at) => {
        schemaFields.push(formatField(field))
        report(field, message, at)
      })
  // A field the schema already refused gets no second, semantic message.
  const refused = (field: FieldPath): boolean => {
    const name = formatField(field)
    return schemaFields.some(f => f !== '' && (name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`)))
  }
  checkSemantics(raw as Raw, (field, message, at) => {
    if (!refused(field)) report(field, message, at)
  })
  return { raw: problems.length === 0 ? (raw as Raw) : undefined, problems, locate }
}

type Report = (field: FieldPath, message: string, at?: 'key' | 'value') => void

function toPath(instancePath: string): FieldPath {
  if (!instancePath) return []
  return instancePath
    .slice(1)
    .split('/')
    .map(s => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map(s => (/^\d+$/.test(s) ? Number(s) : s))
}

function knownKeys(schemaPath: string): string[] {
  // schemaPath looks like #/properties/observers/additionalProperties
  let node: any = environmentSchema
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) node = node?.[part]
  return Object.keys(node?.properties ?? {})
}

function closest(word: string, candidates: string[]): string | undefined {
  if (word.length > 64) return undefined
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
    for (let j = 1; j <= b.length; j++) d[0][j] = j
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    return d[a.length][b.length]
  }
  const best = candidates.map(c => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0]
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined
}

function reportSchemaError(error: ErrorObject, report: Report): void {
  const field = toPath(error.instancePath)
  if (error.keyword === 'propertyNames') return // reported with the key itself (below)
  if (error.propertyName !== undefined) {
    // A label or annotation key: say which rule it breaks.
    const key = error.propertyName
    const why = key.length > 317 ? 'is longer than 317 characters' : (metadataKeyProblem(key) ?? 'is not a valid label or annotation key')
    report([...field, key], `key ${quoted(key)} ${why}`, 'key')
    return
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty)
      const known = knownKeys(error.schemaPath)
      const hint = closest(key, known)
      report([...field, key], `unknown key ${quoted(key)}${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${known.join(', ')}`, 'key')
      return
    }
    case 'required':
      report(field, `missing required key "${error.params.missingProperty}"`)
      return
    case 'enum':
      report(field, `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`)
      return
    case 'pattern':
      report(field, `must be ${patternNames[String(error.params.pattern)] ?? `text matching ${error.params.pattern}`}`)
      return
    case 'maxLength':
      report(field, `is too long: at most ${error.params.limit} characters`)
      return
    default:
      report(field, error.message ?? 'is invalid')
  }
}

// The semantic rules read the raw document defensively: any part may be of the wrong type
// (the schema reported that), and every rule checks what it needs before using it.
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined)
const obj = (v: unknown): Raw => (isObject(v) ? v : {})

function checkSemantics(raw: Raw, report: Report): void {
  const servers = int(obj(raw.ensemble).servers)
  const chart = obj(raw.chart)

  // Chart: exactly one source.
  const sources = ['bundled', 'repo', 'oci', 'path'].filter(k => chart[k] !== undefined && chart[k] !== false)
  if (sources.length > 1) report(['chart', sources[1]], `give exactly one chart source; found ${sources.join(' and ')}`, 'key')
  if (chart.bundled === false && sources.length === 0) report(['chart', 'bundled'], 'bundled is false but no repo, oci or path chart is given')
  const chartPath = str(chart.path)
  if (chartPath !== undefined && !isSafeRelativePath(chartPath))
    report(['chart', 'path'], `${quoted(chartPath)} must be a relative path inside the repository (no "..", no leading "/")`)
  const values = str(chart.values)
  if (values !== undefined && !isSafeRelativePath(values))
    report(['chart', 'values'], `${quoted(values)} must be a file inside the environment directory (no "..", no leading "/")`)

  // Quorum math: a majority of N tolerates floor((N-1)/2) failures, so an even N tolerates no
  // more than N-1 while adding a voter that can fail; below 3 no failure is tolerated.
  if (servers !== undefined && (servers % 2 === 0 || servers < 3) && obj(raw.ensemble).allowUnsafeSize !== true) {
    const tolerated = Math.floor((servers - 1) / 2)
    report(
      ['ensemble', 'servers'],
      `${servers} server${servers === 1 ? '' : 's'} tolerate${servers === 1 ? 's' : ''} ${tolerated} failure${tolerated === 1 ? '' : 's'} ` +
        `(a quorum is ${Math.floor(servers / 2) + 1} of ${servers})` +
        (servers % 2 === 0 ? `, no more than ${servers - 1} ${servers - 1 === 1 ? 'server does' : 'servers do'}` : '') +
        '; use an odd number >= 3, or set ensemble.allowUnsafeSize: true'
    )
  }

  checkExpose(raw, servers, report)
  checkMetadata(['expose', 'annotations'], obj(raw.expose).annotations, false, report)
  checkMetadata(['monitoring', 'labels'], obj(raw.monitoring).labels, true, report)
  checkMetadata(['monitoring', 'serviceMonitor', 'labels'], obj(obj(raw.monitoring).serviceMonitor).labels, true, report)
  checkDurations(raw, report)
  if (isObject(raw.observers)) checkObservers(raw, raw.observers, servers, report)
}

function checkExpose(raw: Raw, servers: number | undefined, report: Report): void {
  const expose = obj(raw.expose)
  const pattern = str(expose.serviceName) ?? '{release}-lb-{ordinal}'
  const release = str(obj(raw.kubernetes).release)
  if (expose.serviceName !== undefined && !pattern.includes('{ordinal}'))
    report(['expose', 'serviceName'], `${quoted(pattern)} must contain {ordinal}, or every pod would share one Service`)
  else if (release !== undefined && servers !== undefined) {
    const longest = pattern.replaceAll('{ordinal}', String(Math.max(0, servers - 1))).replaceAll('{release}', release)
    if (!isServiceName(longest))
      report(['expose', 'serviceName'], `gives ${quoted(longest)}, which is not a valid Service name (RFC 1035 label, at most 63 characters)`)
  }
  const tkeSubnet = 'service.kubernetes.io/qcloud-loadbalancer-internal-subnetid'
  if (expose.cloud === 'tke' && !expose.subnet && !obj(expose.annotations)[tkeSubnet])
    report(
      ['expose', 'cloud'],
      'TKE creates a public LoadBalancer unless a subnet is given: set expose.subnet to the internal subnet id (subnet-xxxxxxxx)'
    )
  if (expose.subnet && !['tke', 'azure'].includes(expose.cloud))
    report(['expose', 'subnet'], 'subnet is used with cloud: tke or azure only; for other clouds set the annotation directly')
}

/** Label and annotation keys (and label values) by Kubernetes' rules, one message per rule broken. */
function checkMetadata(field: FieldPath, map: unknown, labels: boolean, report: Report): void {
  if (!isObject(map)) return
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = metadataKeyProblem(key)
    if (keyProblem) report([...field, key], `key ${quoted(key)} ${keyProblem}`, 'key')
    if (labels && typeof value === 'string') {
      const valueProblem = labelValueProblem(value)
      if (valueProblem) report([...field, key], `${quoted(value)} ${valueProblem}`)
    }
  }
}

function checkDurations(raw: Raw, report: Report): void {
  const fields: FieldPath[] = [
    ['timeouts', 'podReady'],
    ['timeouts', 'loadBalancer'],
    ['timeouts', 'observerJoin'],
    ['monitoring', 'serviceMonitor', 'interval']
  ]
  for (const field of fields) {
    const value = str(field.reduce<unknown>((node, key) => obj(node)[key as string], raw))
    if (value === undefined) continue
    try {
      parseDuration(value)
    } catch (error) {
      report(field, (error as Error).message)
    }
  }
}

function checkObservers(raw: Raw, obs: Raw, servers: number | undefined, report: Report): void {
  const image = str(obs.image)
  if (image !== undefined) {
    const problem = imageProblem(image)
    if (problem) report(['observers', 'image'], `${quoted(image)} ${problem}`)
  }
  const directory = str(obs.directory)
  if (directory !== undefined && !isSafeAbsolutePath(directory))
    report(
      ['observers', 'directory'],
      `${quoted(directory)} must be an absolute path of letters, digits, ".", "_" and "-" (no "..", spaces or shell characters)`
    )
  const ssh = obj(obs.ssh)
  const user = str(ssh.user)
  if (user !== undefined && !isUserName(user))
    report(['observers', 'ssh', 'user'], `${quoted(user)} is not a valid login name (lowercase letters, digits, "_" and "-")`)
  const jump = obj(ssh.jumpHost)
  const jumpHost = str(jump.host)
  if (jumpHost !== undefined && !isHostOrIp(jumpHost))
    report(['observers', 'ssh', 'jumpHost', 'host'], `${quoted(jumpHost)} ${hostProblem(jumpHost)}`)
  const jumpUser = str(jump.user)
  if (jumpUser !== undefined && !isUserName(jumpUser))
    report(['observers', 'ssh', 'jumpHost', 'user'], `${quoted(jumpUser)} is not a valid login name`)

  const reserved = new Map<number, string>([
    [2888, 'the quorum port'],
    [3888, 'the election port']
  ])
  const clientPort = int(obs.clientPort) ?? 2181
  if (reserved.has(clientPort)) report(['observers', 'clientPort'], `${clientPort} is ${reserved.get(clientPort)}`)
  const metricsPort = int(obs.metricsPort)
  if (metricsPort !== undefined && (reserved.has(metricsPort) || metricsPort === clientPort))
    report(['observers', 'metricsPort'], `${metricsPort} collides with ${reserved.get(metricsPort) ?? 'the client port'}`)

  const monitoringOn = obj(raw.monitoring).enabled !== false
  const ids = new Map<number, number>()
  const hosts = new Map<string, number>()
  const list: unknown[] = Array.isArray(obs.hosts) ? obs.hosts : []
  list.forEach((entry, i) => {
    const h = obj(entry)
    const id = int(h.id)
    if (id !== undefined) {
      if (servers !== undefined && id <= servers)
        report(
          ['observers', 'hosts', i, 'id'],
          `observer id ${id} must be above every participant id (1..${servers}); use 101 and up so the ensemble can grow`
        )
      if (ids.has(id)) report(['observers', 'hosts', i, 'id'], `id ${id} is already used by observers.hosts[${ids.get(id)}]`)
      ids.set(id, i)
    }
    const host = str(h.host)
    if (host !== undefined) {
      if (!isHostOrIp(host)) report(['observers', 'hosts', i, 'host'], `${quoted(host)} ${hostProblem(host)}`)
      else {
        const key = canonicalHost(host)
        if (hosts.has(key)) report(['observers', 'hosts', i, 'host'], `host ${quoted(host)} is already listed as observers.hosts[${hosts.get(key)}]`)
        hosts.set(key, i)
      }
    }
    const metricsAddress = str(h.metricsAddress)
    if (metricsAddress !== undefined && !isIpAddress(metricsAddress))
      report(['observers', 'hosts', i, 'metricsAddress'], `${quoted(metricsAddress)} must be an IP address (Kubernetes Endpoints hold IPs only)`)
    if (monitoringOn && metricsAddress === undefined && host !== undefined && isHostOrIp(host) && !isIpAddress(host))
      report(
        ['observers', 'hosts', i, 'host'],
        `monitoring needs this observer's IP (Kubernetes Endpoints hold IPs only): add metricsAddress, or set monitoring.enabled: false`
      )
  })
}
