// A local, stateful stand-in for the GitHub REST endpoints zk-rollout calls. Every request is
// checked against GitHub's official REST description (npm @octokit/openapi): the method and path
// must be an operation of it, path/query parameters and headers must fit their schemas, and the
// JSON body must fit the operation's requestBody schema. A request that does not gets 422 (with
// GitHub's error shape) and is recorded with its problems, so a test cannot pass on a request
// GitHub would reject. Responses are validated against the description's response schemas too.
// The description is read once per package version: the extraction of the served operations and
// the compiled validators are cached under os.tmpdir() (see github-api/openapi.ts, validate.ts).
//
//   const api = await startGitHubApi({ repository: 'acme/zk', pulls: [{ number: 7, head: 'feature', base: 'main' }] })
//   const octokit = getOctokit(api.token, { baseUrl: api.url })
//   ...
//   expect(api.invalid()).toEqual([])
//   await api.stop()
import { randomBytes } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Refusal, Repo, type HandlerInput, type State, type ValidationErrorItem } from './github-api/endpoints.js'
import { SERVED_OPERATIONS, type ExtractedOperation, type Extraction, type ServedOperation } from './github-api/openapi.js'
import { idFor, type RepoContext } from './github-api/shapes.js'
import { describeProblem, validators, type Problem } from './github-api/validate.js'

export type { Comment, Deployment, DeploymentState, DeploymentStatus, Issue, Label, Pull, State } from './github-api/endpoints.js'
export type { Release } from './github-api/releases.js'
export { ACTIONS_BOT } from './github-api/shapes.js'
export { MAX_BODY, MAX_LABEL_NAME, MAX_STATUS_DESCRIPTION } from './github-api/endpoints.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface RecordedRequest {
  method: string
  /** URL path, without the query */
  path: string
  query: Record<string, string>
  /** the parsed JSON body (undefined when there was none; the raw text when it was not JSON) */
  body: unknown
  /** the description's operation the request matched, if any */
  operationId?: string
  status: number
  /**
   * Why GitHub would refuse the request whatever the stand-in's state (it broke the description,
   * bad credentials, an unknown endpoint, another repository, a limit GitHub enforces such as a
   * 65536-character body), or what the stand-in could not serve faithfully. Problems of the
   * stand-in's own response are listed too, prefixed "response".
   */
  problems: string[]
  /**
   * What GitHub accepts but does not act on (an unknown body field or query parameter, a bare `head`
   * filter), and what GitHub would act on but the stand-in does not model (auto_merge of a deployment).
   */
  ignored: string[]
  /** the body the stand-in answered with */
  response?: unknown
}

export interface GitHubApiStandIn {
  /** http://127.0.0.1:<port>: use as GITHUB_API_URL / Octokit's baseUrl */
  url: string
  /** the only token accepted (`Authorization: token X` or `Bearer X`) */
  token: string
  /** owner/name the stand-in serves */
  repository: string
  requests: RecordedRequest[]
  /** requests with problems (tests assert this is empty) */
  invalid(): RecordedRequest[]
  state: State
  stop(): Promise<void>
}

export interface StartOptions {
  /** owner/name */
  repository: string
  token?: string
  /** pull requests that exist from the start (numbers are shared with issues, as on GitHub) */
  pulls?: { number: number; head: string; base: string; title?: string; body?: string }[]
  /** login shown as the author of what the token creates; default github-actions[bot] (GITHUB_TOKEN) */
  actor?: string
  /** default branch of the repository; default main */
  defaultBranch?: string
  /** git references that exist from the start: full name (refs/tags/v1.2.3) -> commit SHA */
  refs?: Record<string, string>
  /** a git directory with the repository's commits, to refuse SHAs it does not have (as GitHub does) */
  gitDir?: string
}

const DOCS = 'https://docs.github.com/rest'

/** Which GitHub resource a served operation's validation errors name. */
const RESOURCE: Record<ServedOperation, string> = {
  'issues/list-comments': 'IssueComment',
  'issues/create-comment': 'IssueComment',
  'issues/get-comment': 'IssueComment',
  'issues/update-comment': 'IssueComment',
  'repos/create-deployment': 'Deployment',
  'repos/list-deployments': 'Deployment',
  'repos/create-deployment-status': 'DeploymentStatus',
  'repos/list-deployment-statuses': 'DeploymentStatus',
  'pulls/create': 'PullRequest',
  'pulls/list': 'PullRequest',
  'issues/create': 'Issue',
  'issues/get': 'Issue',
  'issues/update': 'Issue',
  'issues/list-for-repo': 'Issue',
  'repos/create-release': 'Release',
  'repos/get-release-by-tag': 'Release',
  'git/get-ref': 'Reference',
  'git/create-ref': 'Reference',
  'git/update-ref': 'Reference'
}

interface Route {
  method: string
  template: string
  operationId: string
  regex: RegExp
  names: string[]
  literals: number
  spans: number
}

let routeTable: { extraction: Extraction; routes: Route[] } | undefined

function routes(extraction: Extraction): Route[] {
  if (routeTable?.extraction === extraction) return routeTable.routes
  const list = extraction.routes.map(([method, template, operationId, multiSegment]) => {
    const names: string[] = []
    const segments = template.split('/').slice(1)
    const pattern = segments
      .map(seg =>
        seg.replace(/\{([^}]+)\}|[^{]+/g, (m, name?: string) => {
          if (name) {
            names.push(name)
            return multiSegment.includes(name) ? '(.+)' : '([^/]+)'
          }
          return m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        })
      )
      .join('/')
    return {
      method,
      template,
      operationId,
      regex: new RegExp(`^/${pattern}$`),
      names,
      literals: segments.filter(s => !s.includes('{')).length,
      spans: multiSegment.length
    }
  })
  // A literal segment beats a parameter (/issues/comments/{id} before /issues/{number}/…), and a
  // parameter that stays within its segment beats one that spans slashes.
  list.sort((a, b) => b.literals - a.literals || a.spans - b.spans)
  routeTable = { extraction, routes: list }
  return list
}

function match(extraction: Extraction, method: string, path: string): { route?: Route; params: Record<string, string>; otherMethods: string[] } {
  const otherMethods: string[] = []
  for (const r of routes(extraction)) {
    const m = r.regex.exec(path)
    if (!m) continue
    if (r.method !== method) {
      otherMethods.push(r.method)
      continue
    }
    const params: Record<string, string> = {}
    r.names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1])
      } catch {
        params[n] = m[i + 1]
      }
    })
    return { route: r, params, otherMethods }
  }
  return { params: {}, otherMethods }
}

export async function startGitHubApi(opts: StartOptions): Promise<GitHubApiStandIn> {
  const [owner, repo, ...rest] = opts.repository.split('/')
  if (!owner || !repo || rest.length) throw new Error(`repository must be owner/name, not ${JSON.stringify(opts.repository)}`)
  const token = opts.token ?? `ghs_${randomBytes(18).toString('hex')}`
  const v = validators()
  v.compileAll()

  const requests: RecordedRequest[] = []
  const ctx: RepoContext = {
    api: '',
    owner,
    repo,
    repoId: idFor(`repo:${opts.repository}`),
    ownerId: idFor(`user:${owner}`),
    defaultBranch: opts.defaultBranch ?? 'main'
  }
  const store = new Repo(ctx, { actor: opts.actor, pulls: opts.pulls, refs: opts.refs, gitDir: opts.gitDir })
  let remaining = 5000

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let rec: RecordedRequest | undefined
      try {
        rec = serve(req, raw)
      } catch (err) {
        // A bug of the stand-in: answer 500 and make the test fail through invalid().
        rec ??= { method: req.method ?? '', path: req.url ?? '', query: {}, body: raw, status: 500, problems: [], ignored: [] }
        rec.problems.push(`stand-in error: ${(err as Error).stack ?? err}`)
        rec.status = 500
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify({ message: 'Server Error', documentation_url: DOCS, status: '500' }))
        if (!requests.includes(rec)) requests.push(rec)
      }
    })

    function serve(req: http.IncomingMessage, raw: string): RecordedRequest {
      const method = (req.method ?? 'GET').toUpperCase()
      const url = new URL(req.url ?? '/', ctx.api)
      const query: Record<string, string> = {}
      const ignored: string[] = []
      for (const key of new Set(url.searchParams.keys())) {
        const all = url.searchParams.getAll(key)
        query[key] = all[all.length - 1]
        if (all.length > 1) ignored.push(`query ${key} given ${all.length} times: only one is read`)
      }
      let body: unknown
      let badJson = false
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw)
        } catch {
          body = raw
          badJson = true
        }
      }
      const rec: RecordedRequest = { method, path: url.pathname, query, body, status: 0, problems: [], ignored }
      requests.push(rec)

      const send = (status: number, payload: unknown, op?: ExtractedOperation, headers: Record<string, string> = {}): RecordedRequest => {
        rec.status = status
        rec.response = payload
        for (const p of v.response(op, status, payload)) rec.problems.push(describeProblem(p))
        remaining = Math.max(0, remaining - 1)
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-media-type': 'github.v3; format=json',
          'x-github-api-version-selected': '2022-11-28',
          'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': String(remaining),
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
          'x-ratelimit-used': String(5000 - remaining),
          'x-ratelimit-resource': 'core',
          ...headers
        })
        res.end(payload === undefined ? '' : JSON.stringify(payload))
        return rec
      }
      const refuse = (
        status: number,
        message: string,
        problems: string[],
        op?: ExtractedOperation,
        errors?: ValidationErrorItem[],
        headers?: Record<string, string>
      ): RecordedRequest => {
        rec.problems.push(...problems)
        const docs = op?.documentationUrl ?? DOCS
        return send(status, { message, ...(errors ? { errors } : {}), documentation_url: docs, status: String(status) }, op, headers)
      }

      // 1. Credentials, before anything else (as GitHub).
      const auth = req.headers.authorization
      if (!auth)
        return refuse(401, 'Requires authentication', ['no Authorization header: the stand-in serves a private repository and wants its token'])
      const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(auth)
      if (!m || m[1] !== token) return refuse(401, 'Bad credentials', ['Bad credentials: not the token of the stand-in'])

      // 2. An operation of the description.
      const hit = match(v.extraction, method, url.pathname)
      if (!hit.route) {
        const why = hit.otherMethods.length
          ? `GitHub's REST description has no ${method} ${url.pathname} (that path takes ${[...new Set(hit.otherMethods)].join(', ')})`
          : `GitHub's REST description has no operation for ${method} ${url.pathname}`
        return refuse(404, 'Not Found', [why])
      }
      rec.operationId = hit.route.operationId
      const op = v.extraction.operations[hit.route.operationId]
      if (!op || !(SERVED_OPERATIONS as readonly string[]).includes(op.operationId))
        return refuse(404, 'Not Found', [`${method} ${hit.route.template} (${hit.route.operationId}) is not served by the stand-in`])

      // 3. The stand-in's repository (owner and name are case-insensitive on GitHub).
      if (hit.params.owner?.toLowerCase() !== owner.toLowerCase() || hit.params.repo?.toLowerCase() !== repo.toLowerCase())
        return refuse(404, 'Not Found', [`repository ${hit.params.owner}/${hit.params.repo} is not the stand-in's repository ${opts.repository}`], op)

      // 4. The description's parameters and body.
      if (badJson) return refuse(400, 'Problems parsing JSON', ['body: not JSON'], op)
      const problems: Problem[] = []
      const params: Record<string, unknown> = { ...hit.params }
      problems.push(...v.parameters(op, 'path', params))
      const typedQuery: Record<string, unknown> = { ...query }
      problems.push(...v.parameters(op, 'query', typedQuery))
      const known = new Set(op.parameters.filter(p => p.in === 'query').map(p => p.name))
      for (const key of Object.keys(query))
        if (!known.has(key)) ignored.push(`query ${key} is not a parameter of ${op.operationId} in the description: GitHub ignores it`)
      const headers: Record<string, unknown> = {}
      for (const [k, val] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(val) ? val.join(', ') : val
      problems.push(...v.parameters(op, 'header', headers))
      if (op.requestBody) {
        if (body === undefined) {
          // No body reads as no fields: the schema says which were required.
          if (op.requestBody.required) problems.push(...v.body(op, {}))
        } else {
          problems.push(...v.body(op, body))
          noteUnknownFields(op, body, ignored)
        }
      } else if (body !== undefined) ignored.push(`${op.operationId} takes no request body: GitHub ignores it`)
      if (problems.length) {
        const resource = RESOURCE[op.operationId as ServedOperation]
        return refuse(
          422,
          'Validation Failed',
          problems.map(p => `${describeProblem(p)}`),
          op,
          problems.map(p => toGitHubError(resource, p))
        )
      }

      // 5. What the operation does to the state.
      const input: HandlerInput = { params, query: typedQuery, body: body ?? {}, url, ignored, unserved: [] }
      try {
        const out = store.handlers[op.operationId as ServedOperation](input)
        rec.problems.push(...input.unserved.map(u => `not served faithfully by the stand-in: ${u}`))
        return send(out.status, out.body, op, out.headers)
      } catch (err) {
        if (!(err instanceof Refusal)) throw err
        rec.problems.push(...input.unserved.map(u => `not served faithfully by the stand-in: ${u}`))
        const why = err.errors?.map(e => `${e.field ? `${e.field}: ` : ''}${e.message ?? e.code}`) ?? [err.message]
        return refuse(err.status, err.message, err.intrinsic ? why.map(w => `GitHub refuses: ${w}`) : [], op, err.errors, err.headers)
      }
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  ctx.api = `http://127.0.0.1:${port}`

  return {
    url: ctx.api,
    token,
    repository: opts.repository,
    requests,
    invalid: () => requests.filter(r => r.problems.length > 0),
    state: store.state,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close(err => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      })
  }
}

/** GitHub's error item for a problem found by the description's schemas. */
function toGitHubError(resource: string, p: Problem): ValidationErrorItem {
  const field = p.field.replace(/\//g, '.')
  if (p.keyword === 'required')
    return {
      resource,
      code: 'missing_field',
      ...(field ? { field } : {}),
      message: p.in === 'body' && !field ? p.message : `${field} wasn't supplied`
    }
  return { resource, code: 'invalid', ...(field ? { field } : {}), message: `${p.in}${field ? ` ${field}` : ''} ${p.message}` }
}

/** Top-level body fields the description does not name (allowed where additionalProperties is not false): GitHub ignores them. */
function noteUnknownFields(op: ExtractedOperation, body: unknown, ignored: string[]): void {
  const schema = op.requestBody?.schema as Record<string, any> | undefined
  if (!schema || typeof schema !== 'object' || !schema.properties || !body || typeof body !== 'object' || Array.isArray(body)) return
  for (const key of Object.keys(body))
    if (!(key in schema.properties)) ignored.push(`body field ${key} is not in ${op.operationId}'s description: GitHub ignores it`)
}

export interface StartupTimings {
  /** the extraction of the description: read from the cache, or parsed from the 13 MB description */
  extraction: { source: 'cache' | 'description'; ms: number; cacheFile: string }
  /** body/response validators and parameter validators: evaluated from cached code, or compiled by ajv */
  validators: { strict: { source?: 'cache' | 'compiled'; ms: number }; params: { source?: 'cache' | 'compiled'; ms: number } }
}

/** What this process spent on the description so far (for reports). */
export function startupTimings(): StartupTimings {
  const v = validators()
  return {
    extraction: { source: v.loaded.source, ms: v.loaded.ms, cacheFile: v.loaded.cacheFile },
    validators: { strict: { source: v.source.strict, ms: v.ms.strict }, params: { source: v.source.params, ms: v.ms.params } }
  }
}
