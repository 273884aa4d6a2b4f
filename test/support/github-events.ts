// Webhook payloads as GitHub sends them (the JSON file at GITHUB_EVENT_PATH), built from
// realistic values, and a validator against GitHub's own published schemas
// (@octokit/openapi-webhooks), so a test can never feed an event GitHub would not send.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { repositoryUrls } from './github-urls.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, unknown>

// Fixed clock and ids: payloads are deterministic, so a failure replays exactly.
const NOW = '2025-06-02T08:30:00Z'
const CREATED = '2023-03-14T09:26:53Z'
const API = 'https://api.github.com'
const WEB = 'https://github.com'

/** A stable positive id from a name, like GitHub's numeric ids. */
function idOf(kind: string, name: string): number {
  return 1_000_000 + (createHash('sha256').update(`${kind}:${name}`).digest().readUInt32BE(0) % 900_000_000)
}

/** A stable 40-hex id, for the tree ids of commits. */
const fakeSha = (seed: string): string => createHash('sha1').update(seed).digest('hex')

const nodeId = (prefix: string, id: number): string => `${prefix}_kgDO${Buffer.from(String(id)).toString('base64url')}`

function splitRepository(repository: string): { owner: string; name: string } {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})?)\/([A-Za-z0-9._-]{1,100})$/.exec(repository)
  if (!m) throw new Error(`repository must be "owner/name", got ${JSON.stringify(repository)}`)
  return { owner: m[1], name: m[2] }
}

/** A `simple-user`: what GitHub puts in sender, owner, user. */
export function userObject(login: string, type: 'User' | 'Organization' | 'Bot' = 'User'): Json {
  const id = idOf('user', login)
  const url = `${API}/users/${login}`
  return {
    login,
    id,
    node_id: nodeId(type === 'Organization' ? 'O' : 'U', id),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `${WEB}/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false
  }
}

/**
 * A repository object. Push events carry created_at and pushed_at as Unix seconds (and a few
 * extra fields); every other event carries ISO timestamps.
 */
export function repositoryObject(repository: string, opts: { style?: 'push' | 'webhook'; fork?: boolean; defaultBranch?: string } = {}): Json {
  const { owner, name } = splitRepository(repository)
  const id = idOf('repo', repository)
  const url = `${API}/repos/${owner}/${name}`
  const ownerObject = userObject(owner)
  const push = opts.style === 'push'
  const repo: Json = {
    id,
    node_id: nodeId('R', id),
    name,
    full_name: `${owner}/${name}`,
    private: true,
    owner: push ? { ...ownerObject, name: owner, email: null } : ownerObject,
    html_url: `${WEB}/${owner}/${name}`,
    description: 'ZooKeeper environments rolled out by zk-rollout',
    fork: opts.fork ?? false,
    url,
    ...repositoryUrls(url),
    created_at: push ? Math.floor(Date.parse(CREATED) / 1000) : CREATED,
    updated_at: NOW,
    pushed_at: push ? Math.floor(Date.parse(NOW) / 1000) : NOW,
    git_url: `git://github.com/${owner}/${name}.git`,
    ssh_url: `git@github.com:${owner}/${name}.git`,
    clone_url: `${WEB}/${owner}/${name}.git`,
    svn_url: `${WEB}/${owner}/${name}`,
    homepage: null,
    size: 412,
    stargazers_count: 0,
    watchers_count: 0,
    language: 'TypeScript',
    has_issues: true,
    has_projects: false,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: 1,
    license: { key: 'apache-2.0', name: 'Apache License 2.0', spdx_id: 'Apache-2.0', url: `${API}/licenses/apache-2.0`, node_id: 'MDc6TGljZW5zZTI=' },
    allow_forking: false,
    is_template: false,
    web_commit_signoff_required: false,
    topics: ['zookeeper', 'kubernetes'],
    visibility: 'private',
    forks: 0,
    open_issues: 1,
    watchers: 0,
    default_branch: opts.defaultBranch ?? 'main'
  }
  if (push) Object.assign(repo, { stargazers: 0, master_branch: opts.defaultBranch ?? 'main' })
  return repo
}

export interface PushCommit {
  id: string
  message?: string
  added?: string[]
  modified?: string[]
  removed?: string[]
}

export interface PushPayloadOptions {
  repository: string
  ref?: string
  before: string
  after: string
  created?: boolean
  forced?: boolean
  deleted?: boolean
  /** Default: one commit, `after` (none when the branch is deleted). */
  commits?: PushCommit[]
  pusher?: string
}

const ZERO = '0000000000000000000000000000000000000000'

export function pushPayload(opts: PushPayloadOptions): Json {
  const { owner, name } = splitRepository(opts.repository)
  const pusher = opts.pusher ?? 'platform-bot'
  const deleted = opts.deleted ?? opts.after === ZERO
  const created = opts.created ?? opts.before === ZERO
  const commits = (opts.commits ?? (deleted ? [] : [{ id: opts.after, message: 'Update environments' }])).map(c => ({
    id: c.id,
    tree_id: fakeSha(`tree:${c.id}`),
    distinct: true,
    message: c.message ?? 'Update environments',
    timestamp: '2025-06-02T16:29:41+08:00',
    url: `${WEB}/${owner}/${name}/commit/${c.id}`,
    author: { name: 'Platform Bot', email: `${pusher}@users.noreply.github.com`, username: pusher },
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: c.added ?? [],
    removed: c.removed ?? [],
    modified: c.modified ?? []
  }))
  const ref = opts.ref ?? 'refs/heads/main'
  return {
    ref,
    before: opts.before,
    after: opts.after,
    repository: repositoryObject(opts.repository, { style: 'push' }),
    pusher: { name: pusher, email: `${pusher}@users.noreply.github.com` },
    sender: userObject(pusher),
    created,
    deleted,
    forced: opts.forced ?? false,
    base_ref: null,
    compare: created
      ? `${WEB}/${owner}/${name}/commit/${opts.after.slice(0, 12)}`
      : `${WEB}/${owner}/${name}/compare/${opts.before.slice(0, 12)}...${opts.after.slice(0, 12)}`,
    commits,
    head_commit: commits.length > 0 ? commits[commits.length - 1] : null
  }
}

export interface PullRequestPayloadOptions {
  repository: string
  number: number
  action?: 'opened' | 'synchronize' | 'reopened'
  baseRef: string
  baseSha: string
  headRef: string
  headSha: string
  /** The head branch lives in a fork (another owner's copy of the repository). */
  fork?: boolean
  title?: string
  /** synchronize only: the previous head (default: derived from headSha). */
  before?: string
}

export function pullRequestPayload(opts: PullRequestPayloadOptions): Json {
  const { owner, name } = splitRepository(opts.repository)
  const action = opts.action ?? 'opened'
  const author = opts.fork ? 'outside-contributor' : 'platform-engineer'
  const headRepository = opts.fork ? `${author}/${name}` : opts.repository
  const id = idOf('pull', `${opts.repository}#${opts.number}`)
  const api = `${API}/repos/${owner}/${name}`
  const html = `${WEB}/${owner}/${name}/pull/${opts.number}`
  const side = (repository: string, ref: string, sha: string, fork: boolean): Json => ({
    label: `${splitRepository(repository).owner}:${ref}`,
    ref,
    sha,
    user: userObject(splitRepository(repository).owner),
    repo: repositoryObject(repository, { fork })
  })
  const pullRequest: Json = {
    url: `${api}/pulls/${opts.number}`,
    id,
    node_id: nodeId('PR', id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${opts.number}`,
    number: opts.number,
    state: 'open',
    locked: false,
    title: opts.title ?? 'Scale prod-gz to 5 servers',
    user: userObject(author),
    body: 'Rolls out the changed environments after review.',
    created_at: '2025-06-02T08:00:00Z',
    updated_at: NOW,
    closed_at: null,
    merged_at: null,
    merge_commit_sha: fakeSha(`merge:${opts.baseSha}:${opts.headSha}`),
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: [],
    milestone: null,
    draft: false,
    commits_url: `${api}/pulls/${opts.number}/commits`,
    review_comments_url: `${api}/pulls/${opts.number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${opts.number}/comments`,
    statuses_url: `${api}/statuses/${opts.headSha}`,
    head: side(headRepository, opts.headRef, opts.headSha, opts.fork ?? false),
    base: side(opts.repository, opts.baseRef, opts.baseSha, false),
    _links: {
      self: { href: `${api}/pulls/${opts.number}` },
      html: { href: html },
      issue: { href: `${api}/issues/${opts.number}` },
      comments: { href: `${api}/issues/${opts.number}/comments` },
      review_comments: { href: `${api}/pulls/${opts.number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${opts.number}/commits` },
      statuses: { href: `${api}/statuses/${opts.headSha}` }
    },
    author_association: opts.fork ? 'CONTRIBUTOR' : 'MEMBER',
    auto_merge: null,
    active_lock_reason: null,
    merged: false,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: opts.fork === true,
    commits: 1,
    additions: 4,
    deletions: 1,
    changed_files: 1
  }
  const payload: Json = {
    action,
    number: opts.number,
    pull_request: pullRequest,
    repository: repositoryObject(opts.repository),
    sender: userObject(author)
  }
  if (action === 'synchronize') Object.assign(payload, { before: opts.before ?? fakeSha(`before:${opts.headSha}`), after: opts.headSha })
  return payload
}

export interface WorkflowDispatchPayloadOptions {
  repository: string
  ref: string
  inputs?: Record<string, string>
  /** The workflow file, relative to the repository. */
  workflow?: string
}

export function workflowDispatchPayload(opts: WorkflowDispatchPayloadOptions): Json {
  return {
    inputs: opts.inputs ?? null,
    ref: opts.ref,
    repository: repositoryObject(opts.repository),
    sender: userObject('platform-engineer'),
    workflow: opts.workflow ?? '.github/workflows/rollout.yml'
  }
}

// ---- validation against @octokit/openapi-webhooks ----

export type WebhookEvent = 'push' | 'pull_request' | 'workflow_dispatch'

const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i
const URI = /^[a-z][a-z0-9+.-]*:[^\s]*$/i

interface Spec {
  webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }>
  components: { schemas: Record<string, unknown> }
}

const DOC_ID = 'https://zk-rollout.test/openapi-webhooks.json'
let loaded: { spec: Spec; ajv: Ajv2020; validators: Map<string, ValidateFunction> } | undefined

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded
  const file = createRequire(import.meta.url).resolve('@octokit/openapi-webhooks/generated/api.github.com.json')
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec
  const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true })
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) })
  ajv.addFormat('uri', { type: 'string', validate: (s: string) => URI.test(s) })
  // RFC 6570 templates: a URI with {expressions}, braces balanced.
  ajv.addFormat('uri-template', { type: 'string', validate: (s: string) => URI.test(s) && /^[^{}]*(\{[^{}]+\}[^{}]*)*$/.test(s) })
  ajv.addFormat('email', { type: 'string', validate: (s: string) => /^[^\s@]+@[^\s@]+$/.test(s) })
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) })
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 })
  ajv.addFormat('date', { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) })
  ajv.addFormat('binary', true)
  // Only what the refs reach is compiled, so one document holding every component is cheap.
  ajv.addSchema({ $id: DOC_ID, components: spec.components } as any)
  loaded = { spec, ajv, validators: new Map() }
  return loaded
}

/** The webhook key of the schema for an event: "push", "pull-request-opened", "workflow-dispatch". */
export function webhookKey(event: WebhookEvent, payload: unknown): string {
  if (event !== 'pull_request') return event.replace(/_/g, '-')
  const action = (payload as Json | null)?.action
  if (typeof action !== 'string')
    throw new Error('pull_request payload has no action: every pull_request webhook says what happened (opened, synchronize, ...)')
  return `pull-request-${action.replace(/_/g, '-')}`
}

function validatorFor(key: string): ValidateFunction {
  const { spec, ajv, validators } = load()
  let validate = validators.get(key)
  if (!validate) {
    const body = spec.webhooks[key]?.post.requestBody.content['application/json']?.schema
    if (!body) throw new Error(`@octokit/openapi-webhooks has no webhook ${JSON.stringify(key)}`)
    validate = ajv.compile({ $ref: `${DOC_ID}${body.$ref}` })
    validators.set(key, validate)
  }
  return validate
}

const describe = (e: ErrorObject): string => {
  const where = e.instancePath || '(payload)'
  const extra = e.keyword === 'required' ? '' : e.keyword === 'enum' ? ` (${JSON.stringify((e.params as any).allowedValues)})` : ''
  return `${where}: ${e.message}${extra}`
}

/** Throws an Error listing every violation of GitHub's schema for `event`. */
export function validateWebhookPayload(event: WebhookEvent, payload: unknown): void {
  const key = webhookKey(event, payload)
  const validate = validatorFor(key)
  if (validate(payload)) return
  const problems = [...new Set((validate.errors ?? []).map(describe))]
  throw new Error(
    `not a valid ${key} webhook payload (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map(p => `  ${p}`).join('\n')}`
  )
}
