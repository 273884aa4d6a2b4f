// Validators of GitHub's REST description (its extraction, see openapi.ts): path and query
// parameters and headers (strings coerced to the parameter's type, as a server reads a URL), JSON
// request bodies and JSON response bodies. Compiling the body and response schemas (issue, pull
// request and repository objects are large) takes ajv most of a second, so the compiled code is
// cached too (ajv "standalone" code, next to the extraction) and evaluated in later processes.
import { Ajv, _, type ErrorObject, type FormatDefinition, type Options, type ValidateFunction } from 'ajv'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import {
  SCHEMA_DOC_ID,
  cacheDir,
  extractionKey,
  loadExtraction,
  trustedCacheFile,
  writeCacheFile,
  type ExtractedOperation,
  type Extraction,
  type JsonSchema,
  type LoadedExtraction
} from './openapi.js'

const require = createRequire(import.meta.url)

const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i

/**
 * Validators of the formats GitHub's description uses. `uri` also admits "": GitHub answers ""
 * for URL fields that were never set (a deployment status's target_url, environment_url, log_url)
 * although the description marks them `format: uri`.
 */
export const FORMATS: Record<string, FormatDefinition<string> | FormatDefinition<number>> = {
  'date-time': { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) },
  uri: { type: 'string', validate: (s: string) => s === '' || /^[a-z][a-z0-9+.-]*:[^\s]*$/i.test(s) },
  int64: { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 63 },
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  'repo.nwo': { type: 'string', validate: (s: string) => /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(s) },
  email: { type: 'string', validate: (s: string) => /^[^\s@]+@[^\s@]+$/.test(s) },
  date: { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)) }
}

// strictSchema: an unknown keyword (an OpenAPI-only one the conversion missed) is an error, not ignored.
// inlineRefs: false keeps each component schema one function (half the code, faster to compile).
const AJV_OPTIONS: Options = {
  allErrors: true,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  inlineRefs: false
}
/** How the standalone code names the formats module (resolved by `evaluate`). */
const FORMATS_MODULE = 'zk-rollout:github-formats'

function newAjv(extraction: Extraction, extra: Options): Ajv {
  const unknown = extraction.formats.filter(f => !(f in FORMATS))
  if (unknown.length) throw new Error(`GitHub's description uses formats the stand-in has no validator for: ${unknown.join(', ')}`)
  const ajv = new Ajv({ ...AJV_OPTIONS, ...extra })
  for (const [name, f] of Object.entries(FORMATS)) ajv.addFormat(name, f)
  return ajv
}

/** The names of the strict (body, response, error) validators of an extraction. */
function strictSchemas(extraction: Extraction): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {}
  for (const op of Object.values(extraction.operations)) {
    if (op.requestBody) out[`${op.operationId} body`] = op.requestBody.schema
    for (const [status, r] of Object.entries(op.responses)) if (r.schema !== undefined) out[`${op.operationId} response ${status}`] = r.schema
  }
  for (const name of ['basic-error', 'validation-error']) out[`component ${name}`] = { $ref: `${SCHEMA_DOC_ID}#/definitions/${name}` }
  return out
}

/** The parameter validators of an extraction: one object schema per operation and location. */
function paramSchemas(extraction: Extraction): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {}
  for (const op of Object.values(extraction.operations)) {
    for (const where of ['path', 'query', 'header'] as const) {
      const params = op.parameters.filter(p => p.in === where)
      // Header names are case-insensitive: the caller lower-cases them.
      const name = (n: string): string => (where === 'header' ? n.toLowerCase() : n)
      out[`${op.operationId} ${where}`] = {
        type: 'object',
        properties: Object.fromEntries(params.map(p => [name(p.name), p.schema])),
        required: params.filter(p => p.required).map(p => name(p.name))
      }
    }
  }
  return out
}

type Kind = 'strict' | 'params'
const KINDS: Record<Kind, { schemas: (e: Extraction) => Record<string, JsonSchema>; options: Options; doc: boolean }> = {
  // Bodies and responses: as sent, no coercion; they refer to the component schemas.
  strict: { schemas: strictSchemas, options: {}, doc: true },
  // Path, query and header values are strings: coerced to the parameter's type, as a server reads a URL.
  params: { schemas: paramSchemas, options: { coerceTypes: true }, doc: false }
}

function validatorCacheFile(extraction: Extraction, kind: Kind): string {
  const ajvVersion = (JSON.parse(readFileSync(require.resolve('ajv/package.json'), 'utf8')) as { version: string }).version
  const key = createHash('sha256')
    .update(JSON.stringify([extractionKey(), ajvVersion, AJV_OPTIONS, KINDS[kind].options, Object.keys(FORMATS), FORMATS_MODULE]))
    .digest('hex')
    .slice(0, 12)
  return path.join(cacheDir(), `validators-${kind}-${extraction.packageVersion}-${key}.cjs`)
}

/** Evaluates ajv standalone (CommonJS) code; its requires resolve from here, the formats module to FORMATS. */
function evaluate(code: string): Record<string, ValidateFunction> {
  const mod = { exports: {} as Record<string, ValidateFunction> }
  const req = (id: string): unknown => (id === FORMATS_MODULE ? FORMATS : require(id))
  new Function('require', 'module', 'exports', code)(req, mod, mod.exports)
  return mod.exports
}

export interface Problem {
  /** where: 'body', 'query', 'path', 'header' or 'response' */
  in: string
  /** JSON-pointer-like field, e.g. "state" or "labels/0" ('' for the whole) */
  field: string
  keyword: string
  message: string
}

export class Validators {
  readonly loaded: LoadedExtraction
  private sets: Partial<Record<Kind, Record<string, ValidateFunction>>> = {}
  /** where the validators came from (evaluated from cached code, or compiled), once loaded */
  readonly source: Partial<Record<Kind, 'cache' | 'compiled'>> = {}
  /** milliseconds spent getting them */
  readonly ms: Record<Kind, number> = { strict: 0, params: 0 }
  readonly useCache: boolean

  constructor(loaded: LoadedExtraction, opts: { cache?: boolean } = {}) {
    this.loaded = loaded
    this.useCache = opts.cache ?? true
  }

  get extraction(): Extraction {
    return this.loaded.extraction
  }

  /** One set of validators, compiled, or evaluated from the cache (and compiled into it when absent). */
  private set(kind: Kind): Record<string, ValidateFunction> {
    const done = this.sets[kind]
    if (done) return done
    const start = performance.now()
    const file = validatorCacheFile(this.extraction, kind)
    const schemas = KINDS[kind].schemas(this.extraction)
    const names = Object.keys(schemas)
    let set: Record<string, ValidateFunction> | undefined
    if (this.useCache && existsSync(file) && trustedCacheFile(file)) {
      try {
        const loaded = evaluate(readFileSync(file, 'utf8'))
        if (names.every(n => typeof loaded[n] === 'function')) set = loaded
      } catch {
        // torn or stale: compile again
      }
    }
    this.source[kind] = set ? 'cache' : 'compiled'
    if (!set) {
      const ajv = newAjv(this.extraction, { ...KINDS[kind].options, code: { source: true, formats: _`require(${FORMATS_MODULE})` } })
      if (KINDS[kind].doc) ajv.addSchema({ $id: SCHEMA_DOC_ID, definitions: this.extraction.schemas })
      const compiled: Record<string, ValidateFunction> = {}
      for (const [name, schema] of Object.entries(schemas)) {
        ajv.addSchema(schema as object, name)
        compiled[name] = ajv.getSchema(name)!
      }
      if (this.useCache) {
        const standaloneCode = require('ajv/dist/standalone') as (ajv: Ajv, refs: Record<string, string>) => string
        writeCacheFile(file, standaloneCode(ajv, Object.fromEntries(names.map(n => [n, n]))))
      }
      set = compiled
    }
    this.sets[kind] = set
    this.ms[kind] = performance.now() - start
    return set
  }

  private validator(kind: Kind, name: string): ValidateFunction {
    const v = this.set(kind)[name]
    if (!v) throw new Error(`no validator ${name}`)
    return v
  }

  /** Loads or compiles every validator now (start-up cost instead of first-request cost). */
  compileAll(): void {
    this.set('strict')
    this.set('params')
  }

  /**
   * Validates parameters in place: values are coerced to their schema's type (so `per_page: "100"`
   * becomes 100). Returns the problems; unknown names are not problems (GitHub ignores them).
   */
  parameters(op: ExtractedOperation, where: 'path' | 'query' | 'header', values: Record<string, unknown>): Problem[] {
    const v = this.validator('params', `${op.operationId} ${where}`)
    return v(values) ? [] : problemsOf(where, v.errors)
  }

  body(op: ExtractedOperation, body: unknown): Problem[] {
    if (!op.requestBody) return []
    const v = this.validator('strict', `${op.operationId} body`)
    return v(body) ? [] : problemsOf('body', v.errors)
  }

  /** Problems of a response the stand-in is about to send (a bug of the stand-in, not of the caller). */
  response(op: ExtractedOperation | undefined, status: number, body: unknown): Problem[] {
    let v: ValidateFunction
    const declared = op?.responses[String(status)]
    if (op && declared) {
      if (declared.schema === undefined)
        return body === undefined || body === ''
          ? []
          : [{ in: 'response', field: '', keyword: 'body', message: `status ${status} has no body in the description` }]
      v = this.validator('strict', `${op.operationId} response ${status}`)
    } else if (status === 422) v = this.validator('strict', 'component validation-error')
    else if (status >= 400) v = this.validator('strict', 'component basic-error')
    else
      return [
        {
          in: 'response',
          field: '',
          keyword: 'status',
          message: `status ${status} is not a response of ${op?.operationId ?? 'this request'} in the description`
        }
      ]
    return v(body) ? [] : problemsOf('response', v.errors)
  }
}

function problemsOf(where: string, errors: ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).map(e => {
    const base = e.instancePath.replace(/^\//, '')
    let field = base
    let message = e.message ?? e.keyword
    if (e.keyword === 'required') {
      const p = String((e.params as { missingProperty: string }).missingProperty)
      field = base ? `${base}/${p}` : p
      message = 'is required'
    } else if (e.keyword === 'additionalProperties') {
      const p = String((e.params as { additionalProperty: string }).additionalProperty)
      field = base ? `${base}/${p}` : p
      message = 'is not a permitted key'
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}`
    }
    return { in: where, field, keyword: e.keyword, message }
  })
}

export const describeProblem = (p: Problem): string => `${p.in}${p.field ? ` ${p.field}` : ''}: ${p.message}`

let shared: Validators | undefined

/** The process-wide validators (the extraction is loaded on first use). */
export function validators(): Validators {
  shared ??= new Validators(loadExtraction())
  return shared
}
