// Which environments a workflow run should roll out, from the event that started it:
// push (before..after), pull_request (merge base..head), workflow_dispatch (by name), schedule
// (all). Whenever the changes cannot be known, every environment is selected with a warning:
// rolling out an unchanged environment changes nothing, skipping a changed one is the failure.
import * as path from 'node:path'
import { ENVIRONMENT_NAME_RULE, isEnvironmentName } from '../environment/rules.js'
import { oneLine, quoted } from '../output/printable.js'
import { changedBetween, changedSinceMergeBase, type ChangedFiles, type HistoryOptions } from './changed-files.js'
import {
  checkEnvironmentNames,
  ENVIRONMENT_FILE,
  environmentOf,
  environmentsInCommit,
  environmentsOnDisk,
  normalizeRoot
} from './environment-dirs.js'
import { pullRequestEvent, pushEvent, type EventPayload } from './event-payload.js'
import { Git, isZeroId, shortId, type ChangedFile } from './git.js'
import { globList, type GlobList } from './glob.js'

/** Changes here can change every environment's rollout: the chart, the actions, the workflows. */
export const DEFAULT_SHARED = ['charts/**', 'actions/*/dist/**', 'workflows-lib/dist/**', 'action.yml', '.github/workflows/**']

export const SUPPORTED_EVENTS = ['push', 'pull_request', 'pull_request_target', 'workflow_dispatch', 'schedule']

export interface DetectRequest {
  /** The repository checkout (GITHUB_WORKSPACE). */
  repository: string
  eventName: string
  payload: EventPayload
  /** Default: environments. */
  environmentsRoot?: string
  /** Globs of shared inputs; default DEFAULT_SHARED. */
  shared?: string[]
  /** Environment names, or ["all"]. Required on workflow_dispatch; on any event it wins over detection. */
  select?: string[]
  history?: HistoryOptions
}

export interface Detection {
  /** The environments root, relative to the repository. */
  root: string
  /** Selected environment names, sorted. */
  environments: string[]
  /** Environments whose environment.yaml is gone: reported, never torn down. */
  deleted: string[]
  /** Why each selected environment was selected. */
  reasons: Record<string, string>
  warnings: string[]
  /** How the selection was made, in one line. */
  basis: string
  /** The commits compared, when a diff decided. */
  compared?: { base: string; head: string; files: number }
}

interface Context {
  req: DetectRequest
  root: string
  shared: GlobList
}

export async function detectEnvironments(req: DetectRequest): Promise<Detection> {
  // Event names go into reasons and log lines: only GitHub's shape (push, pull_request, ...).
  if (!/^[a-z_]{1,64}$/.test(req.eventName)) throw new Error(`event name ${quoted(req.eventName)} is not a GitHub event name (e.g. push)`)
  const ctx: Context = { req, root: normalizeRoot(req.environmentsRoot), shared: globList(req.shared ?? DEFAULT_SHARED) }
  if (req.select !== undefined && req.select.length > 0) return selectByName(ctx, req.select)
  switch (req.eventName) {
    case 'push':
      return fromPush(ctx)
    case 'pull_request':
    case 'pull_request_target':
      return fromPullRequest(ctx)
    case 'schedule':
      return everyEnvironment(ctx, { reason: 'schedule: every environment', basis: 'schedule: every environment' })
    case 'workflow_dispatch':
      throw new Error(
        'workflow_dispatch: the select input is empty; pass the environments to roll out (a list of names, or all), e.g. select: ${{ inputs.environments }}'
      )
    default:
      throw new Error(
        `event ${quoted(req.eventName)} is not one detect-environments understands (${SUPPORTED_EVENTS.join(', ')}); pass the select input (a list of names, or all) to choose explicitly`
      )
  }
}

/** The checkout's git, run from its top level; `prefix` is where the repository path sits inside it. */
interface Checkout {
  git: Git
  prefix: string
}

async function openCheckout(repository: string): Promise<Checkout> {
  const probe = new Git(repository)
  const top = await probe.run(['rev-parse', '--show-toplevel', '--show-prefix'], { allowExitCodes: [128] })
  if (top.exitCode !== 0)
    throw new Error(
      `${quoted(repository)} is not a git checkout: run actions/checkout before detect-environments (push and pull_request compare commits)`
    )
  const [topLevel, prefix = ''] = top.stdout.split('\n')
  return { git: new Git(path.resolve(topLevel)), prefix: prefix.trim() }
}

async function fromPush(ctx: Context): Promise<Detection> {
  const push = pushEvent(ctx.req.payload)
  const kind = push.ref.startsWith('refs/tags/') ? 'tag' : 'branch'
  const ref = push.ref.replace(/^refs\/(heads|tags)\//, '') || push.after
  if (push.deleted || isZeroId(push.after)) {
    return nothing(ctx, `push: ${kind} ${quoted(ref)} was deleted, nothing to roll out`)
  }
  const checkout = await openCheckout(ctx.req.repository)
  if (push.created || isZeroId(push.before)) {
    return everyEnvironment(ctx, {
      reason: `new ${kind}: every environment`,
      basis: `push: new ${kind} ${quoted(ref)}, every environment`,
      checkout,
      commit: push.after
    })
  }
  const diff = await changedBetween(checkout.git, push.before, push.after, ctx.req.history)
  if (!diff.ok) {
    const before = shortId(push.before)
    return everyEnvironment(ctx, {
      reason: push.forced
        ? `force push: the previous commit ${before} is not in this clone's history; every environment is selected`
        : `push: the previous commit ${before} is not in this clone's history; every environment is selected`,
      basis: `push ${before}..${shortId(push.after)}: changes unknown, every environment`,
      checkout,
      commit: push.after,
      warnings: [
        `cannot tell what this push changed: ${diff.problem}. Every environment is selected so that none is missed` +
          (push.forced ? ' (a force push rewrote the history: the previous commit may be gone from the repository).' : '.')
      ]
    })
  }
  return fromChanges(ctx, checkout, diff, `push ${shortId(push.before)}..${shortId(push.after)}`)
}

async function fromPullRequest(ctx: Context): Promise<Detection> {
  const pr = pullRequestEvent(ctx.req.eventName, ctx.req.payload)
  const checkout = await openCheckout(ctx.req.repository)
  const diff = await changedSinceMergeBase(checkout.git, pr.baseSha, pr.headSha, ctx.req.history)
  const what = `pull request${pr.number !== undefined ? ` #${pr.number}` : ''}`
  if (!diff.ok) {
    return everyEnvironment(ctx, {
      reason: `${what}: the changes since the merge base with ${shortId(pr.baseSha)} are unknown; every environment is selected`,
      basis: `${what}: changes unknown, every environment`,
      checkout,
      commit: pr.headSha,
      warnings: [`cannot tell what this pull request changes: ${diff.problem}. Every environment is selected so that none is missed.`]
    })
  }
  return fromChanges(ctx, checkout, diff, `${what}: merge base ${shortId(diff.base)}..${shortId(pr.headSha)}`)
}

/** Summarises changed paths: "a changed", "a and 2 more files changed". */
function changedText(paths: string[]): string {
  const sorted = [...paths].sort()
  const more = sorted.length - 1
  return `${oneLine(sorted[0])}${more > 0 ? ` and ${more} more file${more > 1 ? 's' : ''}` : ''} changed`
}

async function fromChanges(ctx: Context, checkout: Checkout, diff: Extract<ChangedFiles, { ok: true }>, what: string): Promise<Detection> {
  const { root } = ctx
  // Paths relative to the repository path, when it is a subdirectory of the git checkout.
  const files: ChangedFile[] = diff.files
    .filter(f => f.path.startsWith(checkout.prefix))
    .map(f => ({ ...f, path: f.path.slice(checkout.prefix.length) }))
  const atHead = new Set(await environmentsInCommit(checkout.git, diff.head, `${checkout.prefix}${root}`))
  const touched = new Map<string, ChangedFile[]>()
  const sharedHits: string[] = []
  for (const file of files) {
    const name = environmentOf(file.path, root)
    if (name !== undefined) touched.set(name, [...(touched.get(name) ?? []), file])
    if (ctx.shared.match(file.path) !== undefined) sharedHits.push(file.path)
  }

  const reasons = new Map<string, string[]>()
  const deleted: string[] = []
  const warnings: string[] = []
  for (const [name, changed] of touched) {
    if (atHead.has(name)) reasons.set(name, [changedText(changed.map(f => f.path))])
    else if (changed.some(f => f.status === 'D' && f.path === `${root}/${name}/${ENVIRONMENT_FILE}`)) {
      // Only names that could have been rolled out reach the output (workflows may interpolate it).
      if (isEnvironmentName(name)) deleted.push(name)
      else warnings.push(`${quoted(`${root}/${name}/`)} was deleted; its name was never a valid environment name, so it was never rolled out`)
    } else
      warnings.push(`${quoted(`${root}/${name}/`)} changed but holds no ${ENVIRONMENT_FILE}: it is not an environment, nothing is rolled out for it`)
  }
  if (sharedHits.length > 0) for (const name of atHead) reasons.set(name, [...(reasons.get(name) ?? []), `shared input ${changedText(sharedHits)}`])

  const environments = [...reasons.keys()].sort()
  checkEnvironmentNames(environments, root)
  deleted.sort()
  for (const name of deleted)
    warnings.push(
      `environment ${quoted(name)} was deleted (${quoted(`${root}/${name}/${ENVIRONMENT_FILE}`)} removed): nothing is torn down; ` +
        'its Helm release, LoadBalancer Services and observers keep running until removed by hand'
    )
  return {
    root,
    environments,
    deleted,
    reasons: Object.fromEntries(environments.map(n => [n, (reasons.get(n) as string[]).join('; ')])),
    warnings,
    basis: `${what}: ${files.length} file${files.length === 1 ? '' : 's'} changed`,
    compared: { base: diff.base, head: diff.head, files: files.length }
  }
}

async function everyEnvironment(
  ctx: Context,
  opts: { reason: string; basis: string; checkout?: Checkout; commit?: string; warnings?: string[] }
): Promise<Detection> {
  const { root } = ctx
  // The tree of the commit being rolled out when this clone has it, else the files on disk.
  const names =
    opts.checkout && opts.commit && (await opts.checkout.git.hasCommit(opts.commit))
      ? await environmentsInCommit(opts.checkout.git, opts.commit, `${opts.checkout.prefix}${root}`)
      : environmentsOnDisk(ctx.req.repository, root)
  checkEnvironmentNames(names, root)
  const warnings = [...(opts.warnings ?? [])]
  if (names.length === 0) warnings.push(`no environments found: no ${quoted(`${root}/<name>/${ENVIRONMENT_FILE}`)} in the repository`)
  return { root, environments: names, deleted: [], reasons: Object.fromEntries(names.map(n => [n, opts.reason])), warnings, basis: opts.basis }
}

function nothing(ctx: Context, basis: string): Detection {
  return { root: ctx.root, environments: [], deleted: [], reasons: {}, warnings: [], basis }
}

async function selectByName(ctx: Context, select: string[]): Promise<Detection> {
  const { root, req } = ctx
  const names = [...new Set(select)]
  const event = req.eventName
  if (names.includes('all')) {
    if (names.length > 1)
      throw new Error(
        `select: "all" cannot be combined with names (${names
          .filter(n => n !== 'all')
          .map(n => quoted(n))
          .join(', ')})`
      )
    return everyEnvironment(ctx, { reason: `${event}: every environment (select: all)`, basis: `${event}: every environment (select: all)` })
  }
  const invalid = names.filter(n => !isEnvironmentName(n))
  if (invalid.length > 0)
    throw new Error(
      `select: ${invalid.map(n => quoted(n)).join(', ')} ${invalid.length > 1 ? 'are not environment names' : 'is not an environment name'} (${ENVIRONMENT_NAME_RULE})`
    )
  const known = environmentsOnDisk(req.repository, root)
  const unknown = names.filter(n => !known.includes(n))
  if (unknown.length > 0) {
    const list = known.length
      ? `known: ${known
          .slice(0, 30)
          .map(n => quoted(n))
          .join(', ')}${known.length > 30 ? ', …' : ''}`
      : 'there are none'
    throw new Error(
      `select: unknown environment${unknown.length > 1 ? 's' : ''} ${unknown.map(n => quoted(n)).join(', ')}: ` +
        `no ${unknown.map(n => quoted(`${root}/${n}/${ENVIRONMENT_FILE}`)).join(', ')} in the checkout (${list})`
    )
  }
  const environments = names.sort()
  const reason = event === 'workflow_dispatch' ? 'workflow_dispatch: selected by name' : `${event}: selected by the select input`
  return {
    root,
    environments,
    deleted: [],
    reasons: Object.fromEntries(environments.map(n => [n, reason])),
    warnings: [],
    basis: `${event}: ${environments.length} environment${environments.length === 1 ? '' : 's'} selected by name`
  }
}
