// The plan of a pull request: every environment it touches loaded and planned (invalid ones
// annotated on their files), rendered once, and posted as ONE sticky comment that later runs
// edit in place. A fork's pull request gets a read-only token: the plan then stays in the job
// summary instead of failing the check for something the author cannot fix. Given cluster
// credentials (never for a fork), each environment is also compared, read-only, with its live
// release; a cluster that cannot be read is said in the comment and never fails the check.
import { existsSync, readdirSync } from 'node:fs'
import * as path from 'node:path'
import type { ChartRoots } from '../chart/chart-reference.js'
import { ENVIRONMENT_FILE, loadEnvironment } from '../environment/load.js'
import { ConfigError, formatProblem } from '../environment/problems.js'
import type { Environment } from '../environment/types.js'
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import { describeLiveDiff, liveDiff, liveDiffError, type LiveComparison, type LiveDiff } from '../plan/live-diff.js'
import { buildPlan } from '../plan/plan.js'
import { serversAtRevision, type CurrentSize } from '../plan/scaling-step.js'
import { InputError } from '../runner/inputs.js'
import { withKubeClients, type KubeSettings } from '../runner/kube-clients.js'
import { annotateConfigError } from './annotate.js'
import { currentRepository, eventPayload, githubClient, httpStatus, runUrl, type GitHubClient, type Repository } from './client.js'
import { COMMENT_LIMIT, PLAN_MARKER, planMarkdown, type PlannedEnvironment } from './plan-markdown.js'

export const DEFAULT_ENVIRONMENTS_ROOT = 'environments'
/** The step summary takes 1 MiB; keep a margin for what the runner adds. */
const SUMMARY_LIMIT = 1_000_000

export interface PlanPullRequestOptions {
  /** Environment directory names under the root; undefined plans every environment. */
  environments?: string[]
  /** Relative to the workspace; default environments. */
  environmentsRoot?: string
  /** Default: the pull request of the event payload. */
  pullRequest?: number
  token?: string
  /** Default true. */
  postComment?: boolean
  roots: ChartRoots
  workspace: string
  /** Compares an environment with its live release; undefined: no cluster credentials, no comparison. */
  live?: LiveDiffer
}

/** Reads the cluster (only reads) and says what a rollout of `env` would change there. */
export type LiveDiffer = (env: Environment) => Promise<LiveDiff>

export interface PlanPullRequestResult {
  /** The comment body (within GitHub's limit). */
  markdown: string
  /** The same plan for the job summary, with room for whole files. */
  summary: string
  /** Names of the invalid environments. */
  invalid: string[]
  comment?: { id: number; url: string; action: 'created' | 'updated' | 'unchanged' }
}

/** Every environment directory of the repository (a directory holding environment.yaml). */
export function environmentDirectories(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, { withFileTypes: true })
    .filter(d => d.isDirectory() && existsSync(path.join(root, d.name, ENVIRONMENT_FILE)))
    .map(d => d.name)
    .sort()
}

/** "prod" and "environments/prod" both name environments/prod; anything else stays inside the root. */
function environmentName(entry: string, root: string): string {
  const name = entry.startsWith(`${root}/`) ? entry.slice(root.length + 1).replace(/\/$/, '') : entry
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\'))
    throw new InputError('environments', `${quoted(entry)} is not an environment directory name under ${quoted(root)}`)
  return name
}

/** The live comparison of one environment; a failure is reported in it, never thrown. */
async function compareLive(live: LiveDiffer, env: Environment): Promise<LiveComparison> {
  try {
    return { status: 'compared', diff: await live(env) }
  } catch (error) {
    log.warning(`${quoted(env.name)}: cannot compare with the live release (the plan is posted without it): ${(error as Error).message}`)
    return { status: 'unreachable', error: liveDiffError(error) }
  }
}

export async function planEnvironments(opts: {
  names?: string[]
  environmentsRoot?: string
  roots: ChartRoots
  workspace: string
  live?: LiveDiffer
  /** The base branch's commit, for the size before the pull request when no cluster is asked. */
  baseRef?: string
}): Promise<{ environments: PlannedEnvironment[]; unchanged: string[]; errors: ConfigError[] }> {
  const rootInput = (opts.environmentsRoot ?? DEFAULT_ENVIRONMENTS_ROOT).replace(/\/+$/, '')
  const root = path.resolve(opts.workspace, rootInput)
  const all = environmentDirectories(root)
  const names = [...new Set((opts.names ?? all).map(n => environmentName(n, rootInput)))]
  const environments: PlannedEnvironment[] = []
  const errors: ConfigError[] = []
  for (const name of names) {
    const directory = path.join(root, name)
    if (!existsSync(directory)) {
      environments.push({ name, status: 'removed', directory: path.relative(opts.workspace, directory) })
      continue
    }
    try {
      const env = await loadEnvironment(directory, { repository: opts.workspace })
      const live = opts.live ? await compareLive(opts.live, env) : undefined
      const current = await currentSize(env, live, opts)
      const plan = buildPlan(env, { roots: opts.roots, ...(current ? { current } : {}) })
      environments.push({
        name,
        status: 'planned',
        plan,
        servers: env.ensemble.servers,
        observers: env.observers?.hosts.length ?? 0,
        ...(live ? { live } : {})
      })
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      errors.push(error)
      environments.push({ name, status: 'invalid', problems: error.problems.map(p => formatProblem(p, opts.workspace)) })
    }
  }
  return { environments, unchanged: all.filter(n => !names.includes(n)), errors }
}

/** The size now: the live StatefulSet's, else the base branch's environment file, else unknown. */
async function currentSize(
  env: Environment,
  live: LiveComparison | undefined,
  opts: { baseRef?: string; workspace: string }
): Promise<CurrentSize | undefined> {
  const replicas = live?.status === 'compared' ? live.diff.statefulSet?.live : undefined
  if (replicas !== undefined) return { servers: replicas, source: 'the live StatefulSet' }
  if (!opts.baseRef) return undefined
  return serversAtRevision(env.file, opts.baseRef, opts.workspace).catch((e: Error) => {
    log.warning(`${quoted(env.name)}: the plan shows no scaling steps: ${e.message}`)
    return undefined
  })
}

/** The pull request being planned: the input, else the event's. */
function pullRequestOf(payload: Record<string, unknown>): { number?: number; sha?: string; baseSha?: string; fork: boolean } {
  const pr = payload.pull_request as
    | { number?: number; head?: { sha?: string; repo?: { full_name?: string } | null }; base?: { sha?: string; repo?: { full_name?: string } } }
    | undefined
  if (!pr) return { fork: false }
  const head = pr.head?.repo?.full_name
  return { number: pr.number, sha: pr.head?.sha, baseSha: pr.base?.sha, fork: head !== pr.base?.repo?.full_name }
}

/** Finds the comment carrying the marker (it is the body's first line), however many comments the pull request has. */
export async function findPlanComment(
  client: GitHubClient,
  repo: Repository,
  issueNumber: number
): Promise<{ id: number; body: string; html_url: string } | undefined> {
  for await (const page of client.paginate.iterator(client.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 })) {
    // Only a bot's comment: anyone who can comment could post the marker first.
    const found = page.data.find(c => c.user?.type === 'Bot' && c.body?.startsWith(PLAN_MARKER))
    if (found) return { id: found.id, body: found.body ?? '', html_url: found.html_url }
  }
  return undefined
}

/** Creates the sticky comment, or edits it in place; an identical body is left alone. */
export async function upsertPlanComment(
  client: GitHubClient,
  repo: Repository,
  issueNumber: number,
  body: string
): Promise<{ id: number; url: string; action: 'created' | 'updated' | 'unchanged' }> {
  const existing = await findPlanComment(client, repo, issueNumber)
  if (existing && existing.body === body) return { id: existing.id, url: existing.html_url, action: 'unchanged' }
  if (existing) {
    const { data } = await client.rest.issues.updateComment({ ...repo, comment_id: existing.id, body })
    return { id: data.id, url: data.html_url, action: 'updated' }
  }
  const { data } = await client.rest.issues.createComment({ ...repo, issue_number: issueNumber, body })
  return { id: data.id, url: data.html_url, action: 'created' }
}

export async function planPullRequest(opts: PlanPullRequestOptions): Promise<PlanPullRequestResult> {
  const event = pullRequestOf(eventPayload())
  const planned = await planEnvironments({
    names: opts.environments,
    environmentsRoot: opts.environmentsRoot,
    roots: opts.roots,
    workspace: opts.workspace,
    live: opts.live,
    // plan.yml checks out with full history, so the base commit is there to read.
    ...(event.baseSha ? { baseRef: event.baseSha } : {})
  })
  for (const error of planned.errors) annotateConfigError(error, opts.workspace)
  const input = { environments: planned.environments, unchanged: planned.unchanged, sha: event.sha, runUrl: runUrl() }
  const markdown = planMarkdown(input, COMMENT_LIMIT)
  // A scale the rollout would refuse fails the check like an invalid file: merging it would fail.
  const invalid = planned.environments.filter(e => e.status === 'invalid' || (e.status === 'planned' && e.plan.refusals.length > 0)).map(e => e.name)
  for (const e of planned.environments)
    log.info(
      e.status === 'planned'
        ? `${quoted(e.name)}: ${e.plan.steps.length} steps, ${e.plan.files.length} files` +
            (e.live?.status === 'compared' ? `; against the live release: ${describeLiveDiff(e.live.diff).summary}` : '')
        : e.status === 'invalid'
          ? `${quoted(e.name)}: invalid (${e.problems.length} problem${e.problems.length === 1 ? '' : 's'})`
          : `${quoted(e.name)}: removed, nothing to roll out`
    )
  const result: PlanPullRequestResult = { markdown, summary: planMarkdown(input, SUMMARY_LIMIT), invalid }
  if (opts.postComment === false) return result

  const number = opts.pullRequest ?? event.number
  if (number === undefined) throw new Error('no pull request to comment on: run on a pull_request event or pass the pull-request input')
  if (!opts.token) throw new InputError('github-token', 'is required to post the plan comment')
  const repo = currentRepository()
  try {
    result.comment = await upsertPlanComment(githubClient(opts.token), repo, number, markdown)
    log.info(`plan comment ${result.comment.action}: ${result.comment.url}`)
  } catch (error) {
    // A fork's pull_request token cannot write: the plan is still in the summary, the check still tells.
    if (httpStatus(error) === 403 && event.fork)
      log.warning(`cannot comment on a pull request from a fork (read-only token): the plan is in the job summary`)
    else if (httpStatus(error) === 403)
      throw new Error(`cannot comment on pull request #${number}: give the job "permissions: pull-requests: write" (${(error as Error).message})`, {
        cause: error
      })
    else throw error
  }
  return result
}

/**
 * Runs `fn` with a LiveDiffer when cluster credentials are given (the kubeconfig input, or
 * $KUBECONFIG), else without one. When the clients cannot even be set up (no kubectl), `fn`
 * still runs and every environment's comparison says why: the plan is posted either way.
 */
export async function withLiveDiffer<T>(settings: KubeSettings, roots: ChartRoots, fn: (live?: LiveDiffer) => Promise<T>): Promise<T> {
  if (!settings.kubeconfig && !process.env.KUBECONFIG) return fn(undefined)
  let started = false
  try {
    return await withKubeClients(settings, clients => {
      started = true
      return fn(env => liveDiff({ env, ...clients, roots }))
    })
  } catch (error) {
    if (started) throw error
    return fn(() => Promise.reject(error instanceof Error ? error : new Error(String(error))))
  }
}

export const planFailureMessage = (invalid: string[]): string =>
  `${invalid.length === 1 ? 'environment' : 'environments'} ${invalid.map(n => quoted(n)).join(', ')} ${invalid.length === 1 ? 'is' : 'are'} invalid: see the annotations and the plan`
