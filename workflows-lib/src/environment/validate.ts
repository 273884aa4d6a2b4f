// Validation of environment.yaml: YAML syntax, the JSON Schema (types, unknown keys), then the
// semantic rules a schema cannot express. Every problem carries file, field, line and column.
import { Ajv, type ErrorObject } from 'ajv'
import { LineCounter, parseDocument } from 'yaml'
import { environmentSchema } from './schema.js'
import { SourceMap } from './source-map.js'
import { formatField, type ConfigProblem, type FieldPath } from './problems.js'
import { imageProblem, isHostOrIp, isIpAddress, isSafeAbsolutePath, isSafeRelativePath, isServiceName, isUserName } from './rules.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Raw = Record<string, any>

const ajv = new Ajv({ allErrors: true, strict: true })
const validateSchema = ajv.compile(environmentSchema)

// Friendly names for the schema's patterns, so errors say what is expected, not a regex.
const patternNames: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$': 'a DNS label (lowercase letters, digits and "-", at most 63 characters)',
  '^[0-9]+(ms|s|m|h)$': 'a duration such as 30s, 5m or 1h',
  '^[^\\u0000-\\u001f\\u007f]*$': 'text without control characters (no newlines or tabs)',
  '^([a-z]|\\{release\\})([-a-z0-9]|\\{ordinal\\}|\\{release\\})*$':
    'a Service name pattern: lowercase letters, digits, "-", {ordinal} and {release}, starting with a letter or {release}'
}

export interface Validated {
  raw: Raw | undefined
  problems: ConfigProblem[]
}

export function parseEnvironmentText(text: string, file: string): Validated {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false })
  const problems: ConfigProblem[] = []
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = lines.linePos(error.pos[0])
      problems.push({ file, field: '', line: pos.line, column: pos.col, message: `YAML: ${error.message.split('\n')[0]}` })
    }
    return { raw: undefined, problems }
  }
  const raw = doc.toJS() as unknown
  const map = new SourceMap(doc, lines)
  const report = (field: FieldPath, message: string, at: 'key' | 'value' = 'value'): void => {
    const pos = map.locate(field, at)
    problems.push({ file, field: formatField(field), line: pos.line, column: pos.column, message })
  }

  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    report([], 'expected a mapping with at least kubernetes: and ensemble:')
    return { raw: undefined, problems }
  }
  if (!validateSchema(raw)) {
    for (const error of validateSchema.errors ?? []) reportSchemaError(error, report)
    return { raw: undefined, problems }
  }
  checkSemantics(raw as Raw, report)
  return { raw: problems.length === 0 ? (raw as Raw) : undefined, problems }
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
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty)
      const known = knownKeys(error.schemaPath)
      const hint = closest(key, known)
      report([...field, key], `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${known.join(', ')}`, 'key')
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
    case 'propertyNames':
      return // reported by the nested pattern error with the key itself
    default:
      if (error.propertyName !== undefined) {
        report([...field, error.propertyName], `key "${error.propertyName}" is not a valid label or annotation name`, 'key')
        return
      }
      report(field, error.message ?? 'is invalid')
  }
}

function checkSemantics(raw: Raw, report: Report): void {
  const servers: number = raw.ensemble.servers

  // Chart: exactly one source.
  const sources = ['bundled', 'repo', 'oci', 'path'].filter(k => raw.chart?.[k] !== undefined && raw.chart?.[k] !== false)
  if (sources.length > 1) report(['chart', sources[1]], `give exactly one chart source; found ${sources.join(' and ')}`, 'key')
  if (raw.chart?.bundled === false && sources.length === 0) report(['chart', 'bundled'], 'bundled is false but no repo, oci or path chart is given')
  if (raw.chart?.path !== undefined && !isSafeRelativePath(raw.chart.path))
    report(['chart', 'path'], `"${raw.chart.path}" must be a relative path inside the repository (no "..", no leading "/")`)
  if (raw.chart?.values !== undefined && !isSafeRelativePath(raw.chart.values))
    report(['chart', 'values'], `"${raw.chart.values}" must be a file inside the environment directory (no "..", no leading "/")`)

  // Quorum math: a majority of N tolerates floor((N-1)/2) failures, so an even N tolerates no
  // more than N-1 while adding a voter that can fail; below 3 nothing failure is tolerated.
  if ((servers % 2 === 0 || servers < 3) && raw.ensemble.allowUnsafeSize !== true) {
    const tolerated = Math.floor((servers - 1) / 2)
    report(
      ['ensemble', 'servers'],
      `${servers} server${servers === 1 ? '' : 's'} tolerate${servers === 1 ? 's' : ''} ${tolerated} failure${tolerated === 1 ? '' : 's'} ` +
        `(a quorum is ${Math.floor(servers / 2) + 1} of ${servers})` +
        (servers % 2 === 0 ? `, no more than ${servers - 1} ${servers - 1 === 1 ? 'server does' : 'servers do'}` : '') +
        '; use an odd number >= 3, or set ensemble.allowUnsafeSize: true'
    )
  }

  // Exposure.
  const pattern: string = raw.expose?.serviceName ?? '{release}-lb-{ordinal}'
  if (raw.expose?.serviceName !== undefined && !pattern.includes('{ordinal}'))
    report(['expose', 'serviceName'], `"${pattern}" must contain {ordinal}, or every pod would share one Service`)
  else {
    const longest = pattern.replaceAll('{ordinal}', String(Math.max(0, servers - 1))).replaceAll('{release}', raw.kubernetes.release)
    if (!isServiceName(longest))
      report(['expose', 'serviceName'], `gives "${longest}", which is not a valid Service name (RFC 1035 label, at most 63 characters)`)
  }
  const tkeSubnet = 'service.kubernetes.io/qcloud-loadbalancer-internal-subnetid'
  if (raw.expose?.cloud === 'tke' && !raw.expose?.subnet && !raw.expose?.annotations?.[tkeSubnet])
    report(
      ['expose', 'cloud'],
      'TKE creates a public LoadBalancer unless a subnet is given: set expose.subnet to the internal subnet id (subnet-xxxxxxxx)'
    )
  if (raw.expose?.subnet && !['tke', 'azure'].includes(raw.expose?.cloud))
    report(['expose', 'subnet'], 'subnet is used with cloud: tke or azure only; for other clouds set the annotation directly')

  const obs = raw.observers
  if (obs) checkObservers(raw, obs, servers, report)
}

function checkObservers(raw: Raw, obs: Raw, servers: number, report: Report): void {
  if (obs.image !== undefined) {
    const problem = imageProblem(obs.image)
    if (problem) report(['observers', 'image'], problem)
  }
  if (obs.directory !== undefined && !isSafeAbsolutePath(obs.directory))
    report(
      ['observers', 'directory'],
      `"${obs.directory}" must be an absolute path of letters, digits, ".", "_" and "-" (no "..", spaces or shell characters)`
    )
  if (obs.ssh?.user !== undefined && !isUserName(obs.ssh.user))
    report(['observers', 'ssh', 'user'], `"${obs.ssh.user}" is not a valid login name (lowercase letters, digits, "_" and "-")`)
  const jump = obs.ssh?.jumpHost
  if (jump) {
    if (!isHostOrIp(jump.host)) report(['observers', 'ssh', 'jumpHost', 'host'], `"${jump.host}" is not a hostname or IP address`)
    if (jump.user !== undefined && !isUserName(jump.user))
      report(['observers', 'ssh', 'jumpHost', 'user'], `"${jump.user}" is not a valid login name`)
  }
  const reserved = new Map<number, string>([
    [2888, 'the quorum port'],
    [3888, 'the election port']
  ])
  const clientPort: number = obs.clientPort ?? 2181
  if (reserved.has(clientPort)) report(['observers', 'clientPort'], `${clientPort} is ${reserved.get(clientPort)}`)
  if (obs.metricsPort !== undefined && (reserved.has(obs.metricsPort) || obs.metricsPort === clientPort))
    report(['observers', 'metricsPort'], `${obs.metricsPort} collides with ${reserved.get(obs.metricsPort) ?? 'the client port'}`)

  const monitoringOn = raw.monitoring?.enabled !== false
  const ids = new Map<number, number>()
  const hosts = new Map<string, number>()
  ;(obs.hosts as Raw[]).forEach((h, i) => {
    if (h.id <= servers)
      report(
        ['observers', 'hosts', i, 'id'],
        `observer id ${h.id} must be above every participant id (1..${servers}); use 101 and up so the ensemble can grow`
      )
    if (ids.has(h.id)) report(['observers', 'hosts', i, 'id'], `id ${h.id} is already used by observers.hosts[${ids.get(h.id)}]`)
    ids.set(h.id, i)
    if (!isHostOrIp(h.host)) report(['observers', 'hosts', i, 'host'], `"${h.host}" is not a hostname or IP address`)
    else if (hosts.has(h.host.toLowerCase()))
      report(['observers', 'hosts', i, 'host'], `host ${h.host} is already listed as observers.hosts[${hosts.get(h.host.toLowerCase())}]`)
    hosts.set(h.host.toLowerCase(), i)
    if (h.metricsAddress !== undefined && !isIpAddress(h.metricsAddress))
      report(['observers', 'hosts', i, 'metricsAddress'], `"${h.metricsAddress}" must be an IP address (Kubernetes Endpoints hold IPs only)`)
    if (monitoringOn && h.metricsAddress === undefined && isHostOrIp(h.host) && !isIpAddress(h.host))
      report(
        ['observers', 'hosts', i, 'host'],
        `monitoring needs this observer's IP (Kubernetes Endpoints hold IPs only): add metricsAddress, or set monitoring.enabled: false`
      )
  })
}
