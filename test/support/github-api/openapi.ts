// GitHub's official REST description (npm @octokit/openapi, generated/api.github.com.json), cut down
// to the operations the stand-in serves and turned into JSON Schema for ajv. The description is
// 13 MB: it is parsed at most once per package version, and the extraction (a few hundred kB) is
// cached under os.tmpdir() so that later test processes start without reading it.
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'

/* eslint-disable @typescript-eslint/no-explicit-any */
export type JsonSchema = Record<string, any> | boolean

/** The operations the stand-in serves (operationIds of the description). */
export const SERVED_OPERATIONS = [
  'issues/list-comments',
  'issues/create-comment',
  'issues/get-comment',
  'issues/update-comment',
  'repos/create-deployment',
  'repos/list-deployments',
  'repos/create-deployment-status',
  'repos/list-deployment-statuses',
  'pulls/create',
  'pulls/list',
  'issues/create',
  'issues/get',
  'issues/update',
  'issues/list-for-repo',
  'repos/create-release',
  'repos/get-release-by-tag',
  'git/get-ref',
  'git/create-ref',
  'git/update-ref'
] as const
export type ServedOperation = (typeof SERVED_OPERATIONS)[number]

/** Extra component schemas the stand-in answers with on every operation (its error bodies). */
const ALWAYS_SCHEMAS = ['basic-error', 'validation-error']

/** Bump when the shape of the extraction (or the OpenAPI → JSON Schema conversion) changes. */
const EXTRACTION_FORMAT = 5

/** Id under which the component schemas are registered with ajv; refs point into it. */
export const SCHEMA_DOC_ID = 'https://zk-rollout.invalid/github-rest-description.json'
const REF_PREFIX = '#/components/schemas/'

export interface ExtractedParameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required: boolean
  schema: JsonSchema
}

export interface ExtractedOperation {
  operationId: string
  method: string
  path: string
  documentationUrl: string
  parameters: ExtractedParameter[]
  requestBody?: { required: boolean; schema: JsonSchema }
  /** status → JSON schema of the application/json body (absent when the response has no body) */
  responses: Record<string, { schema?: JsonSchema; headers: string[] }>
}

export interface Extraction {
  format: number
  packageVersion: string
  served: string[]
  operations: Record<string, ExtractedOperation>
  /**
   * every [method, path template, operationId, multi-segment parameters] of the description, to tell
   * "not served" from "does not exist"; a multi-segment parameter (x-multi-segment, such as a git
   * ref `tags/v1`) spans slashes
   */
  routes: [string, string, string, string[]][]
  /** the component schemas reachable from the served operations, converted to JSON Schema */
  schemas: Record<string, JsonSchema>
  /** the formats those schemas use */
  formats: string[]
}

export interface LoadedExtraction {
  extraction: Extraction
  source: 'cache' | 'description'
  /** milliseconds spent loading (reading the cache, or parsing the description and extracting) */
  ms: number
  cacheFile: string
}

const require = createRequire(import.meta.url)

export function descriptionPackage(): { version: string; descriptionFile: string } {
  const pkgFile = require.resolve('@octokit/openapi/package.json')
  const version = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version
  return { version, descriptionFile: path.join(path.dirname(pkgFile), 'generated', 'api.github.com.json') }
}

/** Key of everything the extraction depends on besides the package version. */
export const extractionKey = (): string =>
  createHash('sha256')
    .update(JSON.stringify([EXTRACTION_FORMAT, SCHEMA_DOC_ID, SERVED_OPERATIONS, ALWAYS_SCHEMAS]))
    .digest('hex')
    .slice(0, 12)

/** The per-user cache directory under os.tmpdir(). */
export const cacheDir = (): string => path.join(os.tmpdir(), `zk-rollout-github-api-${process.getuid?.() ?? 'user'}`)

export function cacheFileFor(version: string): string {
  return path.join(cacheDir(), `octokit-openapi-${version}-${extractionKey()}.json`)
}

/**
 * A cache file is used only when it and its directory belong to this user and nobody else can
 * write them (os.tmpdir() is shared: the validator cache is code that gets evaluated).
 */
export function trustedCacheFile(file: string): boolean {
  try {
    const uid = process.getuid?.()
    for (const p of [path.dirname(file), file]) {
      const st = lstatSync(p)
      if (st.isSymbolicLink() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return false
    }
    return true
  } catch {
    return false
  }
}

/** Writes a cache file atomically (parallel jest workers may race); false when the directory is not ours. */
export function writeCacheFile(file: string, text: string): boolean {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    const dir = lstatSync(path.dirname(file))
    const uid = process.getuid?.()
    if (dir.isSymbolicLink() || (uid !== undefined && dir.uid !== uid) || (dir.mode & 0o022) !== 0) return false
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
    writeFileSync(tmp, text, { mode: 0o600 })
    renameSync(tmp, file)
    return true
  } catch {
    return false
  }
}

/**
 * The extraction: from the cache when it matches the installed description package, else from
 * the description itself (then written to the cache). `cache: false` neither reads nor writes it.
 */
export function loadExtraction(opts: { cache?: boolean } = {}): LoadedExtraction {
  const useCache = opts.cache ?? true
  const start = performance.now()
  const { version, descriptionFile } = descriptionPackage()
  const cacheFile = cacheFileFor(version)
  if (useCache && existsSync(cacheFile) && trustedCacheFile(cacheFile)) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Extraction
      if (cached.format === EXTRACTION_FORMAT && cached.packageVersion === version && sameList(cached.served, SERVED_OPERATIONS)) {
        return { extraction: cached, source: 'cache', ms: performance.now() - start, cacheFile }
      }
    } catch {
      // a torn or foreign file: extract again and overwrite it
    }
  }
  const description = JSON.parse(readFileSync(descriptionFile, 'utf8')) as Description
  const extraction = extract(description, version)
  if (useCache) writeCacheFile(cacheFile, JSON.stringify(extraction))
  return { extraction, source: 'description', ms: performance.now() - start, cacheFile }
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

interface Description {
  paths: Record<string, Record<string, any>>
  components: Record<string, Record<string, any>>
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** Pure: the served operations of a parsed description, with the component schemas they reach. */
export function extract(description: Description, packageVersion: string): Extraction {
  const resolve = (node: any): any => {
    let n = node
    for (let i = 0; n && typeof n === 'object' && typeof n.$ref === 'string' && i < 20; i++) {
      const parts = (n.$ref as string).replace(/^#\//, '').split('/').map(unescapePointer)
      n = parts.reduce((acc: any, key) => acc?.[key], description)
      if (n === undefined) throw new Error(`unresolvable $ref ${node.$ref}`)
    }
    return n
  }

  const routes: [string, string, string, string[]][] = []
  const found = new Map<string, { method: string; path: string; op: any; shared: any[] }>()
  for (const [p, item] of Object.entries(description.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      const multi = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map(resolve)
        .filter((x: any) => x.in === 'path' && x['x-multi-segment'] === true)
        .map((x: any) => x.name as string)
      routes.push([method.toUpperCase(), p, op.operationId, multi])
      found.set(op.operationId, { method: method.toUpperCase(), path: p, op, shared: item.parameters ?? [] })
    }
  }

  const wanted = new Set<string>(ALWAYS_SCHEMAS)
  const collectRefs = (schema: any): void => {
    walkRefs(schema, ref => {
      if (!ref.startsWith(REF_PREFIX)) throw new Error(`unexpected $ref ${ref} in a schema`)
      wanted.add(unescapePointer(ref.slice(REF_PREFIX.length)))
    })
  }

  const operations: Record<string, ExtractedOperation> = {}
  for (const id of SERVED_OPERATIONS) {
    const hit = found.get(id)
    if (!hit) throw new Error(`operation ${id} is not in GitHub's REST description ${packageVersion}`)
    const { op } = hit
    const byKey = new Map<string, ExtractedParameter>()
    for (const raw of [...hit.shared, ...(op.parameters ?? [])]) {
      const p = resolve(raw)
      const schema = inlineRefs(p.schema ?? {}, resolve)
      byKey.set(`${p.in}:${p.name}`, { name: p.name, in: p.in, required: p.required === true, schema: toJsonSchema(schema) })
    }
    let requestBody: ExtractedOperation['requestBody']
    if (op.requestBody) {
      const rb = resolve(op.requestBody)
      const media = rb.content?.['application/json']
      if (media?.schema) {
        collectRefs(media.schema)
        requestBody = { required: rb.required === true, schema: toJsonSchema(media.schema) }
      }
    }
    const responses: ExtractedOperation['responses'] = {}
    for (const [status, rawResponse] of Object.entries<any>(op.responses ?? {})) {
      const r = resolve(rawResponse)
      const schema = r.content?.['application/json']?.schema
      if (schema) collectRefs(schema)
      responses[status] = { schema: schema ? toJsonSchema(schema) : undefined, headers: Object.keys(r.headers ?? {}) }
    }
    operations[id] = {
      operationId: id,
      method: hit.method,
      path: hit.path,
      documentationUrl: op.externalDocs?.url ?? 'https://docs.github.com/rest',
      parameters: [...byKey.values()],
      requestBody,
      responses
    }
  }

  // Transitive closure over the component schemas.
  const schemas: Record<string, JsonSchema> = {}
  const queue = [...wanted]
  while (queue.length) {
    const name = queue.shift()!
    if (name in schemas) continue
    const raw = description.components.schemas?.[name]
    if (!raw) throw new Error(`component schema ${name} missing from the description`)
    walkRefs(raw, ref => {
      const n = unescapePointer(ref.slice(REF_PREFIX.length))
      if (!(n in schemas) && !queue.includes(n)) queue.push(n)
    })
    schemas[name] = toJsonSchema(raw)
  }

  const formats = new Set<string>()
  const gatherFormats = (s: unknown): void => walkSchema(s, node => typeof node.format === 'string' && formats.add(node.format))
  Object.values(schemas).forEach(gatherFormats)
  for (const op of Object.values(operations)) {
    op.parameters.forEach(p => gatherFormats(p.schema))
    if (op.requestBody) gatherFormats(op.requestBody.schema)
    Object.values(op.responses).forEach(r => gatherFormats(r.schema))
  }

  return {
    format: EXTRACTION_FORMAT,
    packageVersion,
    served: [...SERVED_OPERATIONS],
    operations,
    routes,
    schemas,
    formats: [...formats].sort()
  }
}

const unescapePointer = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~')
const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1')

/** Calls `visit` for every $ref in a raw schema (walking only schema positions, never enum/default values). */
function walkRefs(node: any, visit: (ref: string) => unknown): void {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return
  if (typeof node.$ref === 'string') {
    visit(node.$ref)
    return
  }
  forEachSubschema(node, sub => walkRefs(sub, visit))
}

function forEachSubschema(s: Record<string, any>, fn: (sub: any) => void): void {
  for (const key of ['properties', 'patternProperties']) if (s[key] && typeof s[key] === 'object') Object.values(s[key]).forEach(fn)
  for (const key of ['items', 'additionalProperties', 'not']) if (s[key] && typeof s[key] === 'object') fn(s[key])
  for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(s[key])) s[key].forEach(fn)
}

/** Parameter schemas are tiny: inline their refs so they compile without the component document. */
function inlineRefs(node: any, resolve: (n: any) => any): any {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return node
  if (typeof node.$ref === 'string') return inlineRefs(resolve(node), resolve)
  const out: Record<string, any> = { ...node }
  for (const key of ['properties', 'patternProperties'])
    if (out[key]) out[key] = Object.fromEntries(Object.entries(out[key]).map(([k, v]) => [k, inlineRefs(v, resolve)]))
  for (const key of ['items', 'additionalProperties', 'not']) if (out[key]) out[key] = inlineRefs(out[key], resolve)
  for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(out[key])) out[key] = out[key].map((v: any) => inlineRefs(v, resolve))
  return out
}

/** Visits every schema object of a converted schema (not enum/default values). */
export function walkSchema(node: unknown, visit: (schema: Record<string, any>) => unknown): void {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return
  const s = node as Record<string, any>
  visit(s)
  forEachSubschema(s, sub => walkSchema(sub, visit))
}

// Keywords of OpenAPI 3.0's schema object that JSON Schema (as ajv reads it) does not have.
const OPENAPI_ONLY = new Set(['nullable', 'example', 'discriminator', 'xml', 'externalDocs'])

/**
 * OpenAPI 3.0 schema object → JSON Schema (draft-07 as ajv reads it):
 * - `nullable: true` becomes a `null` type (added to `type`, to `enum` if any, or as `anyOf` with
 *   `{type: null}` when the schema has no `type`, e.g. a nullable `oneOf`);
 * - `$ref` siblings are dropped (OpenAPI 3.0 ignores them) and component refs point into SCHEMA_DOC_ID;
 * - `example`, `discriminator`, `xml`, `externalDocs` and `x-*` extensions are dropped.
 * Everything else (type, properties, required, additionalProperties, enum, items, oneOf/anyOf/allOf,
 * minimum/maximum, minLength/maxLength, pattern, format, default…) is kept as the description says.
 */
export function toJsonSchema(node: any): any {
  if (typeof node === 'boolean') return node
  if (!node || typeof node !== 'object' || Array.isArray(node)) return node
  if (typeof node.$ref === 'string') {
    const ref: string = node.$ref
    if (!ref.startsWith(REF_PREFIX)) throw new Error(`unexpected $ref ${ref}`)
    return { $ref: `${SCHEMA_DOC_ID}#/definitions/${escapePointer(unescapePointer(ref.slice(REF_PREFIX.length)))}` }
  }
  const out: Record<string, any> = {}
  for (const [k, v] of Object.entries<any>(node)) {
    if (OPENAPI_ONLY.has(k) || k.startsWith('x-')) continue
    if (k === 'properties' || k === 'patternProperties') out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, toJsonSchema(s)]))
    else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = toJsonSchema(v)
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as any[]).map(toJsonSchema)
    else out[k] = v
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null']
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
    } else if (out.type === undefined) {
      const { description, default: dflt, title, ...rest } = out
      return {
        ...(title ? { title } : {}),
        ...(description ? { description } : {}),
        ...(dflt !== undefined ? { default: dflt } : {}),
        anyOf: [rest, { type: 'null' }]
      }
    }
  }
  return out
}
