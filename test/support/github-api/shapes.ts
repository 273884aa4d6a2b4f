// GitHub's JSON shapes for the stand-in's state: every required field of the description's
// response schemas, filled with the values github.com would give (API URLs point at the stand-in,
// web URLs at https://github.com). The stand-in validates each rendered body against the description.
import { createHash } from 'node:crypto'
import { repositoryUrls } from '../github-urls.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>

export interface RepoContext {
  /** base URL of the stand-in, e.g. http://127.0.0.1:4567 */
  api: string
  owner: string
  repo: string
  repoId: number
  ownerId: number
  defaultBranch: string
}

/** The actor behind the workflow's GITHUB_TOKEN, as GitHub shows it on what the token creates. */
export const ACTIONS_BOT = 'github-actions[bot]'
const ACTIONS_BOT_ID = 41898282
const ACTIONS_APP_ID = 15368

const WEB = 'https://github.com'

/** A stable positive id for a name (users, repositories). */
export const idFor = (name: string, bits = 28): number => parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16) % 2 ** bits || 1

export const nodeId = (prefix: string, id: number): string => `${prefix}_kwDO${Buffer.from(`${id}`).toString('base64url')}`

/** ISO 8601 in GitHub's form: seconds, no fraction, Z. */
export const timestamp = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

export const shaOf = (text: string): string => createHash('sha1').update(text).digest('hex')

export function user(ctx: RepoContext, login: string, kind?: 'User' | 'Organization'): Json {
  const bot = login === ACTIONS_BOT
  const id = bot ? ACTIONS_BOT_ID : login === ctx.owner ? ctx.ownerId : idFor(`user:${login}`)
  const api = `${ctx.api}/users/${encodeURIComponent(login)}`
  return {
    login,
    id,
    node_id: bot ? 'MDM6Qm90NDE4OTgyODI=' : nodeId(kind === 'Organization' ? 'O' : 'U', id),
    avatar_url: bot ? `https://avatars.githubusercontent.com/in/${ACTIONS_APP_ID}?v=4` : `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: bot ? `${WEB}/apps/github-actions` : `${WEB}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: bot ? 'Bot' : (kind ?? 'User'),
    user_view_type: 'public',
    site_admin: false
  }
}

/** The GitHub Actions app, which GitHub names as `performed_via_github_app` on what GITHUB_TOKEN does. */
export function actionsApp(ctx: RepoContext): Json {
  return {
    id: ACTIONS_APP_ID,
    slug: 'github-actions',
    node_id: 'MDM6QXBwMTUzNjg=',
    client_id: 'Iv1.05c79e9ad1f6bdfa',
    owner: { ...user(ctx, 'github', 'Organization'), id: 9919, node_id: 'MDEyOk9yZ2FuaXphdGlvbjk5MTk=' },
    name: 'GitHub Actions',
    description: 'Automate your workflow from idea to production',
    external_url: 'https://help.github.com/en/actions',
    html_url: `${WEB}/apps/github-actions`,
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-04-10T20:33:16Z',
    permissions: {
      actions: 'write',
      contents: 'write',
      deployments: 'write',
      issues: 'write',
      metadata: 'read',
      pull_requests: 'write',
      statuses: 'write'
    },
    events: ['deployment', 'deployment_status', 'issue_comment', 'issues', 'pull_request', 'push']
  }
}

export const repoApi = (ctx: RepoContext): string => `${ctx.api}/repos/${ctx.owner}/${ctx.repo}`
export const repoWeb = (ctx: RepoContext): string => `${WEB}/${ctx.owner}/${ctx.repo}`

export function repository(ctx: RepoContext): Json {
  const api = repoApi(ctx)
  const created = '2024-01-15T09:00:00Z'
  return {
    id: ctx.repoId,
    node_id: nodeId('R', ctx.repoId),
    name: ctx.repo,
    full_name: `${ctx.owner}/${ctx.repo}`,
    private: true,
    owner: user(ctx, ctx.owner, 'Organization'),
    html_url: repoWeb(ctx),
    description: null,
    fork: false,
    url: api,
    ...repositoryUrls(api),
    created_at: created,
    updated_at: created,
    pushed_at: created,
    git_url: `git://github.com/${ctx.owner}/${ctx.repo}.git`,
    ssh_url: `git@github.com:${ctx.owner}/${ctx.repo}.git`,
    clone_url: `${repoWeb(ctx)}.git`,
    svn_url: repoWeb(ctx),
    homepage: null,
    size: 1024,
    stargazers_count: 0,
    watchers_count: 0,
    language: 'TypeScript',
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    license: null,
    allow_forking: false,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: 'private',
    forks: 0,
    open_issues: 0,
    watchers: 0,
    default_branch: ctx.defaultBranch
  }
}

export interface LabelRecord {
  id: number
  name: string
  color: string
  description: string | null
  default: boolean
}

export function label(ctx: RepoContext, l: LabelRecord): Json {
  return {
    id: l.id,
    node_id: nodeId('LA', l.id),
    url: `${repoApi(ctx)}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: l.default,
    description: l.description
  }
}

export function reactions(url: string): Json {
  return { url: `${url}/reactions`, total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 }
}

/** How the token's actor relates to the repository, as GitHub reports it. */
export const association = (ctx: RepoContext, login: string): string => (login === ACTIONS_BOT ? 'NONE' : login === ctx.owner ? 'OWNER' : 'MEMBER')
