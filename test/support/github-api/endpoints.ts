// What each served operation does to the stand-in's state, and the GitHub-shaped bodies it answers.
// Requests reach these handlers only after the description's checks passed; the rules here are the
// ones GitHub enforces beyond its description (blank or over-long bodies, duplicate pull requests…).
import {
  ACTIONS_BOT,
  actionsApp,
  association,
  label as renderLabel,
  nodeId,
  reactions,
  repoApi,
  repoWeb,
  repository,
  shaOf,
  timestamp,
  user,
  type LabelRecord,
  type RepoContext
} from './shapes.js'
import type { ServedOperation } from './openapi.js'
import { GitStore, type GitOptions, type Release } from './releases.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>

export interface Comment {
  id: number
  /** the issue or pull request it is on */
  issue_number: number
  body: string
  /** login of the author */
  user: string
  created_at: string
  updated_at: string
}

export interface Deployment {
  id: number
  ref: string
  sha: string
  task: string
  environment: string
  original_environment: string
  payload: unknown
  description: string | null
  transient_environment: boolean
  production_environment: boolean
  /** as requested (GitHub checks these commit-status contexts; the stand-in has no commit statuses) */
  required_contexts?: string[]
  auto_merge: boolean
  creator: string
  created_at: string
  updated_at: string
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success'

export interface DeploymentStatus {
  id: number
  deployment_id: number
  state: DeploymentState
  description: string
  environment: string
  target_url: string
  log_url: string
  environment_url: string
  creator: string
  created_at: string
  updated_at: string
}

export interface Pull {
  number: number
  id: number
  title: string
  body: string | null
  /** branch name in this repository */
  head: string
  base: string
  head_sha: string
  base_sha: string
  draft: boolean
  state: 'open' | 'closed'
  labels: string[]
  user: string
  maintainer_can_modify: boolean
  created_at: string
  updated_at: string
  closed_at: string | null
  merged_at: string | null
}

export interface Issue {
  number: number
  id: number
  title: string
  body: string | null
  state: 'open' | 'closed'
  state_reason: 'completed' | 'not_planned' | 'duplicate' | 'reopened' | null
  labels: string[]
  user: string
  created_at: string
  updated_at: string
  closed_at: string | null
  closed_by: string | null
}

export type Label = LabelRecord

export interface State {
  comments: Comment[]
  deployments: Deployment[]
  deploymentStatuses: DeploymentStatus[]
  pulls: Pull[]
  issues: Issue[]
  labels: Label[]
  releases: Release[]
  /** full ref name -> commit SHA */
  refs: Record<string, string>
}

/** GitHub's default labels of a new repository. */
export const DEFAULT_LABELS: [string, string, string][] = [
  ['bug', 'd73a4a', "Something isn't working"],
  ['documentation', '0075ca', 'Improvements or additions to documentation'],
  ['duplicate', 'cfd3d7', 'This issue or pull request already exists'],
  ['enhancement', 'a2eeef', 'New feature or request'],
  ['good first issue', '7057ff', 'Good for newcomers'],
  ['help wanted', '008672', 'Extra attention is needed'],
  ['invalid', 'e4e669', "This doesn't seem right"],
  ['question', 'd876e3', 'Further information is requested'],
  ['wontfix', 'ffffff', 'This will not be worked on']
]

/** GitHub's limit on comment, issue and pull request bodies. */
export const MAX_BODY = 65536
/** GitHub's limit on a deployment status's description. */
export const MAX_STATUS_DESCRIPTION = 140
/** GitHub's limit on a label's name. */
export const MAX_LABEL_NAME = 50

export interface ValidationErrorItem {
  resource: string
  code: 'missing' | 'missing_field' | 'invalid' | 'already_exists' | 'unprocessable' | 'custom'
  field?: string
  message?: string
}

/** A refusal the handler answers with: GitHub's error body for `status`. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ValidationErrorItem[],
    /** true when GitHub refuses this request whatever the state (then it is a problem of the request) */
    readonly intrinsic = false,
    /** response headers GitHub sends with this refusal */
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
  }
}

export interface HandlerInput {
  params: Record<string, any>
  query: Record<string, any>
  body: any
  url: URL
  /** notes: what the caller asked for that GitHub (or the stand-in) does not act on */
  ignored: string[]
  /** what the stand-in cannot serve faithfully: recorded as problems */
  unserved: string[]
}

export interface HandlerOutput {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export class Repo {
  readonly state: State
  private readonly git: GitStore
  private ids = {
    comment: 1_900_000_000,
    deployment: 2_400_000_000,
    status: 5_100_000_000,
    issue: 2_700_000_000,
    pull: 2_200_000_000,
    label: 7_000_000_000
  }
  /** the login GitHub shows as the author of what the token creates */
  actor: string

  constructor(
    readonly ctx: RepoContext,
    opts: { actor?: string; pulls?: { number: number; head: string; base: string; title?: string; body?: string }[] } & GitOptions = {}
  ) {
    this.actor = opts.actor ?? ACTIONS_BOT
    this.git = new GitStore(ctx, () => this.actor, { refs: opts.refs, gitDir: opts.gitDir })
    this.state = {
      comments: [],
      deployments: [],
      deploymentStatuses: [],
      pulls: [],
      issues: [],
      labels: [],
      releases: this.git.releases,
      refs: this.git.refs
    }
    for (const [name, color, description] of DEFAULT_LABELS) this.state.labels.push({ id: ++this.ids.label, name, color, description, default: true })
    for (const p of opts.pulls ?? []) {
      const now = timestamp()
      this.state.pulls.push({
        number: p.number,
        id: ++this.ids.pull,
        title: p.title ?? `Update ${p.head}`,
        body: p.body ?? null,
        head: p.head,
        base: p.base,
        head_sha: shaOf(`head:${p.head}`),
        base_sha: shaOf(`head:${p.base}`),
        draft: false,
        state: 'open',
        labels: [],
        user: ctx.owner,
        maintainer_can_modify: false,
        created_at: now,
        updated_at: now,
        closed_at: null,
        merged_at: null
      })
    }
  }

  private nextNumber(): number {
    return Math.max(0, ...this.state.issues.map(i => i.number), ...this.state.pulls.map(p => p.number)) + 1
  }

  private thread(n: number): { issue?: Issue; pull?: Pull } | undefined {
    const issue = this.state.issues.find(i => i.number === n)
    if (issue) return { issue }
    const pull = this.state.pulls.find(p => p.number === n)
    return pull ? { pull } : undefined
  }

  private labelsNamed(names: string[]): string[] {
    const out: string[] = []
    for (const name of names) {
      let l = this.state.labels.find(x => x.name.toLowerCase() === name.toLowerCase())
      // GitHub creates a label that does not exist yet (for a token with push access), grey.
      if (!l) this.state.labels.push((l = { id: ++this.ids.label, name, color: 'ededed', description: null, default: false }))
      if (!out.includes(l.name)) out.push(l.name)
    }
    return out
  }

  // ---- rendering -------------------------------------------------------------------------------

  private renderLabels(names: string[]): Json[] {
    return names.map(n =>
      renderLabel(
        this.ctx,
        this.state.labels.find(l => l.name === n)!
      )
    )
  }

  private app(login: string): Json | null {
    return login === ACTIONS_BOT ? actionsApp(this.ctx) : null
  }

  renderComment(c: Comment): Json {
    const api = repoApi(this.ctx)
    const onPull = !this.state.issues.some(i => i.number === c.issue_number) && this.state.pulls.some(p => p.number === c.issue_number)
    const url = `${api}/issues/comments/${c.id}`
    return {
      id: c.id,
      node_id: nodeId('IC', c.id),
      url,
      html_url: `${repoWeb(this.ctx)}/${onPull ? 'pull' : 'issues'}/${c.issue_number}#issuecomment-${c.id}`,
      body: c.body,
      user: user(this.ctx, c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      issue_url: `${api}/issues/${c.issue_number}`,
      author_association: association(this.ctx, c.user),
      performed_via_github_app: this.app(c.user),
      reactions: reactions(url),
      pin: null,
      minimized: null
    }
  }

  renderIssue(t: { issue?: Issue; pull?: Pull }): Json {
    const api = repoApi(this.ctx)
    const x = (t.issue ?? t.pull)!
    const url = `${api}/issues/${x.number}`
    const comments = this.state.comments.filter(c => c.issue_number === x.number).length
    const closedBy = t.issue ? t.issue.closed_by : t.pull!.closed_at ? t.pull!.user : null
    return {
      url,
      repository_url: api,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${repoWeb(this.ctx)}/${t.pull ? 'pull' : 'issues'}/${x.number}`,
      id: x.id,
      node_id: nodeId(t.pull ? 'PR' : 'I', x.id),
      number: x.number,
      title: x.title,
      user: user(this.ctx, x.user),
      labels: this.renderLabels(x.labels),
      state: x.state,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments,
      created_at: x.created_at,
      updated_at: x.updated_at,
      closed_at: x.closed_at,
      author_association: association(this.ctx, x.user),
      type: null,
      active_lock_reason: null,
      ...(t.pull
        ? {
            draft: t.pull.draft,
            pull_request: {
              url: `${api}/pulls/${x.number}`,
              html_url: `${repoWeb(this.ctx)}/pull/${x.number}`,
              diff_url: `${repoWeb(this.ctx)}/pull/${x.number}.diff`,
              patch_url: `${repoWeb(this.ctx)}/pull/${x.number}.patch`,
              merged_at: t.pull.merged_at
            }
          }
        : {}),
      body: x.body,
      closed_by: closedBy ? user(this.ctx, closedBy) : null,
      reactions: reactions(url),
      timeline_url: `${url}/timeline`,
      performed_via_github_app: this.app(x.user),
      state_reason: t.issue ? t.issue.state_reason : null
    }
  }

  private branch(p: Pull, which: 'head' | 'base'): Json {
    const ref = which === 'head' ? p.head : p.base
    return {
      label: `${this.ctx.owner}:${ref}`,
      ref,
      sha: which === 'head' ? p.head_sha : p.base_sha,
      user: user(this.ctx, this.ctx.owner, 'Organization'),
      repo: repository(this.ctx)
    }
  }

  renderPull(p: Pull, full: boolean): Json {
    const api = repoApi(this.ctx)
    const web = `${repoWeb(this.ctx)}/pull/${p.number}`
    const url = `${api}/pulls/${p.number}`
    const issueUrl = `${api}/issues/${p.number}`
    const simple: Json = {
      url,
      id: p.id,
      node_id: nodeId('PR', p.id),
      html_url: web,
      diff_url: `${web}.diff`,
      patch_url: `${web}.patch`,
      issue_url: issueUrl,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: user(this.ctx, p.user),
      body: p.body,
      created_at: p.created_at,
      updated_at: p.updated_at,
      closed_at: p.closed_at,
      merged_at: p.merged_at,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: this.renderLabels(p.labels),
      milestone: null,
      draft: p.draft,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${issueUrl}/comments`,
      statuses_url: `${api}/statuses/${p.head_sha}`,
      head: this.branch(p, 'head'),
      base: this.branch(p, 'base'),
      _links: {
        self: { href: url },
        html: { href: web },
        issue: { href: issueUrl },
        comments: { href: `${issueUrl}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${api}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${api}/statuses/${p.head_sha}` }
      },
      author_association: association(this.ctx, p.user),
      auto_merge: null,
      active_lock_reason: null
    }
    if (!full) return simple
    return {
      ...simple,
      merged: p.merged_at !== null,
      // GitHub computes mergeability in the background: a fresh pull request answers null / "unknown".
      mergeable: null,
      rebaseable: null,
      mergeable_state: 'unknown',
      merged_by: null,
      comments: this.state.comments.filter(c => c.issue_number === p.number).length,
      review_comments: 0,
      maintainer_can_modify: p.maintainer_can_modify,
      commits: 1,
      additions: 0,
      deletions: 0,
      changed_files: 0
    }
  }

  renderDeployment(d: Deployment): Json {
    const api = repoApi(this.ctx)
    const url = `${api}/deployments/${d.id}`
    return {
      url,
      id: d.id,
      node_id: nodeId('DE', d.id),
      task: d.task,
      original_environment: d.original_environment,
      environment: d.environment,
      description: d.description,
      created_at: d.created_at,
      updated_at: d.updated_at,
      statuses_url: `${url}/statuses`,
      repository_url: api,
      creator: user(this.ctx, d.creator),
      sha: d.sha,
      ref: d.ref,
      payload: d.payload,
      transient_environment: d.transient_environment,
      production_environment: d.production_environment,
      performed_via_github_app: this.app(d.creator)
    }
  }

  renderStatus(s: DeploymentStatus): Json {
    const api = repoApi(this.ctx)
    return {
      url: `${api}/deployments/${s.deployment_id}/statuses/${s.id}`,
      id: s.id,
      node_id: nodeId('DES', s.id),
      state: s.state,
      creator: user(this.ctx, s.creator),
      description: s.description,
      environment: s.environment,
      target_url: s.target_url,
      created_at: s.created_at,
      updated_at: s.updated_at,
      deployment_url: `${api}/deployments/${s.deployment_id}`,
      repository_url: api,
      environment_url: s.environment_url,
      log_url: s.log_url,
      performed_via_github_app: this.app(s.creator)
    }
  }

  // ---- operations ------------------------------------------------------------------------------

  readonly handlers: Record<ServedOperation, (input: HandlerInput) => HandlerOutput> = {
    'issues/list-comments': ({ params, query, url }) => {
      this.needThread(params.issue_number)
      let list = this.state.comments.filter(c => c.issue_number === params.issue_number).sort((a, b) => a.id - b.id)
      if (query.since) list = list.filter(c => Date.parse(c.updated_at) >= Date.parse(query.since))
      return paginate(
        list.map(c => this.renderComment(c)),
        query,
        url
      )
    },
    'issues/create-comment': ({ params, body }) => {
      this.needThread(params.issue_number)
      checkBody('IssueComment', body.body, true)
      const now = timestamp()
      const c: Comment = {
        id: ++this.ids.comment,
        issue_number: params.issue_number,
        body: body.body,
        user: this.actor,
        created_at: now,
        updated_at: now
      }
      this.state.comments.push(c)
      this.touch(params.issue_number, now)
      const rendered = this.renderComment(c)
      return { status: 201, body: rendered, headers: { location: rendered.url } }
    },
    'issues/get-comment': ({ params }) => ({ status: 200, body: this.renderComment(this.needComment(params.comment_id)) }),
    'issues/update-comment': ({ params, body }) => {
      const c = this.needComment(params.comment_id)
      checkBody('IssueComment', body.body, true)
      c.body = body.body
      c.updated_at = timestamp()
      return { status: 200, body: this.renderComment(c) }
    },

    'repos/create-deployment': ({ body, ignored }) => {
      const now = timestamp()
      const environment: string = body.environment ?? 'production'
      const sha = /^[0-9a-f]{40}$/i.test(body.ref)
        ? body.ref.toLowerCase()
        : (this.state.pulls.find(p => p.head === body.ref)?.head_sha ?? shaOf(`head:${body.ref}`))
      if (body.auto_merge !== false)
        ignored.push('auto_merge: the stand-in has no git history, so it never merges the default branch into the ref (GitHub may answer 202 or 409)')
      const d: Deployment = {
        id: ++this.ids.deployment,
        ref: body.ref,
        sha,
        task: body.task ?? 'deploy',
        environment,
        original_environment: environment,
        payload: deploymentPayload(body.payload),
        description: body.description === undefined ? '' : body.description,
        transient_environment: body.transient_environment ?? false,
        production_environment: body.production_environment ?? environment === 'production',
        required_contexts: body.required_contexts,
        auto_merge: body.auto_merge ?? true,
        creator: this.actor,
        created_at: now,
        updated_at: now
      }
      this.state.deployments.push(d)
      return { status: 201, body: this.renderDeployment(d) }
    },
    'repos/list-deployments': ({ query, url }) => {
      let list = [...this.state.deployments].sort((a, b) => b.id - a.id)
      for (const key of ['sha', 'ref', 'task', 'environment'] as const) {
        const want = query[key]
        // The description's default "none" means "no filter".
        if (want !== undefined && want !== null && want !== 'none') list = list.filter(d => d[key] === want)
      }
      return paginate(
        list.map(d => this.renderDeployment(d)),
        query,
        url
      )
    },
    'repos/create-deployment-status': ({ params, body }) => {
      const d = this.needDeployment(params.deployment_id)
      const description: string = body.description ?? ''
      if (description.length > MAX_STATUS_DESCRIPTION)
        throw new Refusal(
          422,
          'Validation Failed',
          [
            {
              resource: 'DeploymentStatus',
              code: 'custom',
              field: 'description',
              message: `description is too long (maximum is ${MAX_STATUS_DESCRIPTION} characters)`
            }
          ],
          true
        )
      const previous = this.latestStatus(d.id)
      const environment: string = body.environment ?? previous?.environment ?? d.environment
      if (body.environment !== undefined) d.environment = body.environment
      const now = timestamp()
      const logUrl: string = body.log_url ?? body.target_url ?? ''
      const s: DeploymentStatus = {
        id: ++this.ids.status,
        deployment_id: d.id,
        state: body.state,
        description,
        environment,
        // Setting log_url sets target_url to the same value (and the other way round for legacy callers).
        target_url: logUrl,
        log_url: logUrl,
        environment_url: body.environment_url ?? '',
        creator: this.actor,
        created_at: now,
        updated_at: now
      }
      this.state.deploymentStatuses.push(s)
      d.updated_at = now
      // auto_inactive (default true): earlier deployments to the same environment whose latest
      // status is success get an inactive status when this one succeeds.
      if (s.state === 'success' && body.auto_inactive !== false) {
        for (const other of this.state.deployments) {
          if (other.id >= d.id || other.environment !== d.environment || other.transient_environment) continue
          const last = this.latestStatus(other.id)
          if (last?.state !== 'success') continue
          this.state.deploymentStatuses.push({ ...last, id: ++this.ids.status, state: 'inactive', description: '', created_at: now, updated_at: now })
        }
      }
      const rendered = this.renderStatus(s)
      return { status: 201, body: rendered, headers: { location: rendered.url } }
    },
    'repos/list-deployment-statuses': ({ params, query, url }) => {
      this.needDeployment(params.deployment_id)
      const list = this.state.deploymentStatuses.filter(s => s.deployment_id === params.deployment_id).sort((a, b) => b.id - a.id)
      return paginate(
        list.map(s => this.renderStatus(s)),
        query,
        url
      )
    },

    'pulls/create': ({ body, unserved }) => {
      if (body.issue !== undefined) unserved.push('pulls/create with `issue` (turning an issue into a pull request) is not modelled')
      if (body.head_repo !== undefined) unserved.push('pulls/create with `head_repo` (cross-repository pull requests) is not modelled')
      const title = body.title
      if ((title === undefined || title.trim() === '') && body.issue === undefined)
        throw new Refusal(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'missing_field', field: 'title' }], true)
      checkBody('PullRequest', body.body, false)
      const [headOwner, head] = String(body.head).includes(':') ? String(body.head).split(/:(.*)/s) : [this.ctx.owner, String(body.head)]
      if (headOwner.toLowerCase() !== this.ctx.owner.toLowerCase())
        unserved.push(`head ${body.head}: pull requests from another owner's fork are not modelled (GitHub answers 422 when no such fork exists)`)
      if (head === body.base)
        throw new Refusal(
          422,
          'Validation Failed',
          [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${body.base} and ${head}` }],
          true
        )
      const existing = this.state.pulls.find(p => p.state === 'open' && p.head === head && p.base === body.base)
      if (existing)
        throw new Refusal(422, 'Validation Failed', [
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${this.ctx.owner}:${head}.` }
        ])
      const now = timestamp()
      const p: Pull = {
        number: this.nextNumber(),
        id: ++this.ids.pull,
        title: title ?? '',
        body: body.body ?? null,
        head,
        base: body.base,
        head_sha: shaOf(`head:${head}`),
        base_sha: shaOf(`head:${body.base}`),
        draft: body.draft ?? false,
        state: 'open',
        labels: [],
        user: this.actor,
        maintainer_can_modify: body.maintainer_can_modify ?? false,
        created_at: now,
        updated_at: now,
        closed_at: null,
        merged_at: null
      }
      this.state.pulls.push(p)
      const rendered = this.renderPull(p, true)
      return { status: 201, body: rendered, headers: { location: rendered.url } }
    },
    'pulls/list': ({ query, url, ignored, unserved }) => {
      const state = query.state ?? 'open'
      let list = this.state.pulls.filter(p => state === 'all' || p.state === state)
      if (query.head !== undefined) {
        const head = String(query.head)
        if (!head.includes(':')) {
          // Documented as `user:ref-name`; GitHub silently ignores a bare branch name and lists everything.
          ignored.push(`head=${head}: GitHub ignores a head filter without the "owner:" prefix and lists all pull requests`)
        } else {
          const [owner, ref] = head.split(/:(.*)/s)
          list = list.filter(p => owner.toLowerCase() === this.ctx.owner.toLowerCase() && p.head === ref)
        }
      }
      if (query.base !== undefined) list = list.filter(p => p.base === query.base)
      const sort = query.sort ?? 'created'
      if (sort === 'popularity' || sort === 'long-running') unserved.push(`pulls/list sort=${sort} is not modelled`)
      const direction = query.direction ?? (sort === 'created' ? 'desc' : 'asc')
      const key = (p: Pull): string => (sort === 'updated' ? p.updated_at : p.created_at)
      list.sort((a, b) => (key(a) === key(b) ? a.number - b.number : key(a) < key(b) ? -1 : 1) * (direction === 'desc' ? -1 : 1))
      return paginate(
        list.map(p => this.renderPull(p, false)),
        query,
        url
      )
    },

    'issues/create': ({ body, unserved }) => {
      const title = String(body.title)
      if (title.trim() === '') throw new Refusal(422, 'Validation Failed', [{ resource: 'Issue', code: 'missing_field', field: 'title' }], true)
      checkBody('Issue', body.body, false)
      for (const key of ['assignee', 'assignees', 'milestone', 'type', 'issue_field_values'])
        if (body[key] !== undefined && body[key] !== null) unserved.push(`issues/create ${key} is not modelled`)
      const labels = this.labelsNamed(labelNames(body.labels ?? []))
      const now = timestamp()
      const issue: Issue = {
        number: this.nextNumber(),
        id: ++this.ids.issue,
        title,
        body: body.body ?? null,
        state: 'open',
        state_reason: null,
        labels,
        user: this.actor,
        created_at: now,
        updated_at: now,
        closed_at: null,
        closed_by: null
      }
      this.state.issues.push(issue)
      const rendered = this.renderIssue({ issue })
      return { status: 201, body: rendered, headers: { location: rendered.url } }
    },
    'issues/get': ({ params }) => ({ status: 200, body: this.renderIssue(this.needThread(params.issue_number)) }),
    'issues/update': ({ params, body, unserved }) => {
      const t = this.needThread(params.issue_number)
      const b = body ?? {}
      for (const key of ['assignee', 'assignees', 'milestone', 'type', 'issue_field_values', 'duplicate_issue_id'])
        if (b[key] !== undefined && b[key] !== null) unserved.push(`issues/update ${key} is not modelled`)
      if (b.title !== undefined && b.title !== null && String(b.title).trim() === '')
        throw new Refusal(422, 'Validation Failed', [{ resource: 'Issue', code: 'missing_field', field: 'title' }], true)
      if (b.body !== undefined && b.body !== null) checkBody('Issue', b.body, false)
      const x = (t.issue ?? t.pull)!
      const now = timestamp()
      if (b.title !== undefined && b.title !== null) x.title = String(b.title)
      if (b.body !== undefined) x.body = b.body
      if (b.labels !== undefined && b.labels !== null) x.labels = this.labelsNamed(labelNames(b.labels))
      if (b.state !== undefined && b.state !== x.state) {
        x.state = b.state
        x.closed_at = b.state === 'closed' ? now : null
        if (t.issue) {
          // state_reason is ignored unless the state changes.
          t.issue.state_reason = b.state === 'closed' ? (b.state_reason ?? 'completed') : 'reopened'
          t.issue.closed_by = b.state === 'closed' ? this.actor : null
        }
      }
      x.updated_at = now
      return { status: 200, body: this.renderIssue(t) }
    },
    'issues/list-for-repo': ({ query, url, unserved }) => {
      for (const key of ['milestone', 'assignee', 'type', 'creator', 'mentioned', 'issue_field_values'])
        if (query[key] !== undefined) unserved.push(`issues/list-for-repo ${key}= is not modelled (the answer is not filtered by it)`)
      const state = query.state ?? 'open'
      // GitHub's issue list includes pull requests (they carry a `pull_request` key).
      let list: { issue?: Issue; pull?: Pull }[] = [...this.state.issues.map(issue => ({ issue })), ...this.state.pulls.map(pull => ({ pull }))]
      list = list.filter(t => state === 'all' || (t.issue ?? t.pull)!.state === state)
      if (query.labels !== undefined && String(query.labels).trim() !== '') {
        const want = String(query.labels)
          .split(',')
          .map(s => s.trim().toLowerCase())
          .filter(Boolean)
        list = list.filter(t => want.every(w => (t.issue ?? t.pull)!.labels.some(l => l.toLowerCase() === w)))
      }
      if (query.since) list = list.filter(t => Date.parse((t.issue ?? t.pull)!.updated_at) >= Date.parse(query.since))
      const sort = query.sort ?? 'created'
      const direction = query.direction ?? 'desc'
      const key = (t: { issue?: Issue; pull?: Pull }): number => {
        const x = (t.issue ?? t.pull)!
        return sort === 'comments'
          ? this.state.comments.filter(c => c.issue_number === x.number).length
          : Date.parse(sort === 'updated' ? x.updated_at : x.created_at)
      }
      const num = (t: { issue?: Issue; pull?: Pull }): number => (t.issue ?? t.pull)!.number
      list.sort((a, b) => (key(a) - key(b) || num(a) - num(b)) * (direction === 'desc' ? -1 : 1))
      return paginate(
        list.map(t => this.renderIssue(t)),
        query,
        url
      )
    },
    'repos/create-release': input => this.git['repos/create-release'](input),
    'repos/get-release-by-tag': input => this.git['repos/get-release-by-tag'](input),
    'git/get-ref': input => this.git['git/get-ref'](input),
    'git/create-ref': input => this.git['git/create-ref'](input),
    'git/update-ref': input => this.git['git/update-ref'](input)
  }

  private needThread(n: number): { issue?: Issue; pull?: Pull } {
    const t = this.thread(n)
    if (!t) throw new Refusal(404, 'Not Found')
    return t
  }

  private needComment(id: number): Comment {
    const c = this.state.comments.find(x => x.id === id)
    if (!c) throw new Refusal(404, 'Not Found')
    return c
  }

  private needDeployment(id: number): Deployment {
    const d = this.state.deployments.find(x => x.id === id)
    if (!d) throw new Refusal(404, 'Not Found')
    return d
  }

  private latestStatus(deploymentId: number): DeploymentStatus | undefined {
    return this.state.deploymentStatuses.filter(s => s.deployment_id === deploymentId).sort((a, b) => b.id - a.id)[0]
  }

  private touch(n: number, now: string): void {
    const t = this.thread(n)
    if (t) (t.issue ?? t.pull)!.updated_at = now
  }
}

/** GitHub refuses blank comments and bodies over 65536 characters. */
function checkBody(resource: string, body: string | null | undefined, required: boolean): void {
  if (body === undefined || body === null) return
  if (required && body.trim() === '')
    throw new Refusal(422, 'Validation Failed', [{ resource, code: 'unprocessable', field: 'data', message: 'Body cannot be blank' }], true)
  if (body.length > MAX_BODY)
    throw new Refusal(
      422,
      'Validation Failed',
      [{ resource, code: 'unprocessable', field: 'data', message: `Body is too long (maximum is ${MAX_BODY} characters)` }],
      true
    )
}

function labelNames(labels: unknown[]): string[] {
  const names = labels.map(l => (typeof l === 'string' ? l : String((l as { name?: string }).name ?? ''))).filter(n => n !== '')
  const long = names.find(n => n.length > MAX_LABEL_NAME)
  if (long !== undefined)
    throw new Refusal(
      422,
      'Validation Failed',
      [{ resource: 'Label', code: 'invalid', field: 'name', message: `name is too long (maximum is ${MAX_LABEL_NAME} characters)` }],
      true
    )
  return names
}

/** GitHub stores a JSON-text payload as the object it encodes; no payload is {}. */
function deploymentPayload(payload: unknown): unknown {
  if (payload === undefined || payload === '') return {}
  if (typeof payload !== 'string') return payload
  try {
    const parsed = JSON.parse(payload)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : payload
  } catch {
    return payload
  }
}

/** GitHub's page/per_page (at most 100) and its Link header (prev, next, last, first). */
export function paginate(items: unknown[], query: Record<string, any>, url: URL): HandlerOutput {
  const perPage = Math.min(100, Math.max(1, Number.isInteger(query.per_page) ? query.per_page : 30))
  const page = Math.max(1, Number.isInteger(query.page) ? query.page : 1)
  const last = Math.max(1, Math.ceil(items.length / perPage))
  const link = (n: number, rel: string): string => {
    const u = new URL(url.href)
    u.searchParams.set('page', String(n))
    return `<${u.href}>; rel="${rel}"`
  }
  const rels: string[] = []
  if (page > 1) rels.push(link(Math.min(page - 1, last), 'prev'))
  if (page < last) rels.push(link(page + 1, 'next'), link(last, 'last'))
  if (page > 1) rels.push(link(1, 'first'))
  return { status: 200, body: items.slice((page - 1) * perPage, page * perPage), headers: rels.length ? { link: rels.join(', ') } : {} }
}
