// Which files changed between two commits of a checkout that may be shallow (actions/checkout
// fetches one commit by default). Missing commits are fetched by id, then the history is
// deepened in bounded steps; when that still cannot answer, the caller is told why instead of
// getting an empty list, so nothing is ever skipped silently.
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import { Git, lastLine, shortId, type ChangedFile } from './git.js'

export interface HistoryOptions {
  /** The remote to fetch from; actions/checkout calls it origin. */
  remote?: string
  /** How many more commits each deepening step fetches; the sum bounds the search. */
  deepenSteps?: number[]
}

export const DEFAULT_DEEPEN_STEPS = [50, 150, 800, 4000]

export type ChangedFiles =
  { ok: true; base: string; head: string; files: ChangedFile[]; deepenedBy: number } | { ok: false; problem: string; deepenedBy: number }

interface Context {
  git: Git
  remote: string
  steps: number[]
  shallow: boolean
  canFetch: boolean
  deepenedBy: number
  /** git's last words on the last fetch that failed. */
  fetchError?: string
}

async function context(git: Git, opts: HistoryOptions): Promise<Context> {
  const remote = opts.remote ?? 'origin'
  return {
    git,
    remote,
    steps: opts.deepenSteps ?? DEFAULT_DEEPEN_STEPS,
    shallow: await git.isShallow(),
    canFetch: await git.hasRemote(remote),
    deepenedBy: 0
  }
}

async function missing(ctx: Context, ids: string[]): Promise<string[]> {
  const out: string[] = []
  for (const id of new Set(ids)) if (!(await ctx.git.hasCommit(id))) out.push(id)
  return out
}

/** Fetches the commits the clone lacks; a shallow clone gets just them, not their history. */
async function fetchMissing(ctx: Context, ids: string[]): Promise<string[]> {
  const absent = await missing(ctx, ids)
  if (absent.length === 0 || !ctx.canFetch) return absent
  log.info(
    `fetching ${absent.map(id => shortId(id)).join(' and ')} from ${quoted(ctx.remote)}: this clone does not have ${absent.length > 1 ? 'them' : 'it'}`
  )
  const result = await ctx.git.fetch(ctx.remote, absent, ctx.shallow ? { depth: 1 } : {})
  if (result.exitCode !== 0) ctx.fetchError = lastLine(result.stderr)
  return missing(ctx, ids)
}

/**
 * Deepens the history below `tips` one step at a time until `found()` says yes. Stops when the
 * clone is no longer shallow (the whole history is here), a fetch fails, or the steps run out.
 */
async function deepenUntil(ctx: Context, tips: string[], what: string, found: () => Promise<boolean>): Promise<boolean> {
  if (await found()) return true
  for (const step of ctx.steps) {
    if (!ctx.canFetch || !(await ctx.git.isShallow())) return false
    log.info(`deepening the history by ${step} commits to find ${what}`)
    const result = await ctx.git.fetch(ctx.remote, tips, { deepen: step })
    if (result.exitCode !== 0) {
      ctx.fetchError = lastLine(result.stderr)
      return false
    }
    ctx.deepenedBy += step
    if (await found()) return true
  }
  return false
}

function why(ctx: Context): string {
  const parts: string[] = []
  if (!ctx.canFetch) parts.push(`there is no remote ${quoted(ctx.remote)} to fetch from`)
  if (ctx.deepenedBy > 0) parts.push(`deepened by ${ctx.deepenedBy} commits`)
  if (ctx.fetchError) parts.push(`git fetch said ${quoted(ctx.fetchError, 300)}`)
  return parts.length ? ` (${parts.join('; ')})` : ''
}

/** Files that differ between the trees of `base` and `head` (a push: before..after). */
export async function changedBetween(git: Git, base: string, head: string, opts: HistoryOptions = {}): Promise<ChangedFiles> {
  const ctx = await context(git, opts)
  let absent = await fetchMissing(ctx, [base, head])
  if (absent.includes(head))
    return { ok: false, problem: `commit ${shortId(head)} is not in this clone and could not be fetched${why(ctx)}`, deepenedBy: 0 }
  if (absent.length > 0 && ctx.shallow) {
    // A server that refuses to send a commit by id may still send it as history below head.
    await deepenUntil(ctx, [head], `commit ${shortId(base)}`, async () => (absent = await missing(ctx, [base])).length === 0)
  }
  if (absent.length > 0)
    return {
      ok: false,
      problem: `commit ${shortId(base)} is not in this clone's history and could not be fetched${why(ctx)}`,
      deepenedBy: ctx.deepenedBy
    }
  return { ok: true, base, head, files: await git.changedFiles(base, head), deepenedBy: ctx.deepenedBy }
}

/** Files a pull request changes: from the merge base of `base` and `head` to `head`. */
export async function changedSinceMergeBase(git: Git, base: string, head: string, opts: HistoryOptions = {}): Promise<ChangedFiles> {
  const ctx = await context(git, opts)
  const absent = await fetchMissing(ctx, [base, head])
  if (absent.length > 0)
    return {
      ok: false,
      problem: `commit ${absent.map(id => shortId(id)).join(' and ')} is not in this clone and could not be fetched${why(ctx)}`,
      deepenedBy: 0
    }
  let mergeBase: string | undefined
  const found = await deepenUntil(ctx, [base, head], `the merge base of ${shortId(base)} and ${shortId(head)}`, async () => {
    mergeBase = await git.mergeBase(base, head)
    return mergeBase !== undefined
  })
  if (!found || mergeBase === undefined)
    return {
      ok: false,
      problem: `no merge base of ${shortId(base)} and ${shortId(head)} was found in this clone's history${why(ctx)}`,
      deepenedBy: ctx.deepenedBy
    }
  return { ok: true, base: mergeBase, head, files: await git.changedFiles(mergeBase, head), deepenedBy: ctx.deepenedBy }
}
