// Whether an event starts a workflow: it must be one the workflow's `on:` declares, and its
// filters must match, as GitHub documents them ("Workflow syntax", on.<push|pull_request>):
//   - branches/branches-ignore and tags/tags-ignore match the pushed ref's name (a pull
//     request's base branch); with only branch filters a tag push does not run the workflow, and
//     the other way round; paths filters are not evaluated for tag pushes;
//   - a pattern list is read in order, the last pattern that matches decides (`!` negates);
//   - paths: the workflow runs when at least one changed file is included; paths-ignore: when at
//     least one is not ignored; no changed file means no run. Changed files are those of a
//     two-dot diff before..after for a push and a three-dot diff base...head for a pull request,
//     computed with git in repositoryDir;
//   - pull_request types default to opened, synchronize and reopened.
// Filter patterns: `*` any characters but `/`, `**` any characters, `?` zero or one of the
// preceding character, `+` one or more of it, `[...]` a character class, `\` escapes.
import { execFileSync } from 'node:child_process'
import { UnsupportedError, WorkflowError } from './errors.js'
import { keyToken, prop, where, type ParsedWorkflow } from './parse.js'
import type { RunWorkflowOptions } from './types.js'

export interface Trigger {
  triggered: boolean
  reason?: string
}

export interface CompiledPattern {
  pattern: string
  negative: boolean
  regex: RegExp
}

function quote(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

/** A GitHub filter pattern as a regular expression (after the port in nektos/act, pkg/workflowpattern). */
export function compilePattern(raw: string): CompiledPattern {
  const negative = raw.startsWith('!')
  const pattern = negative ? raw.slice(1) : raw
  let re = '^'
  let pos = 0
  const fail = (why: string): never => {
    throw new WorkflowError(`invalid filter pattern ${JSON.stringify(raw)}: ${why}`)
  }
  while (pos < pattern.length) {
    const c = pattern[pos]
    if (c === '*') {
      if (pattern[pos + 1] === '*') {
        if (pattern[pos + 2] === '/') {
          re += '(.+/)?'
          pos += 3
        } else {
          re += '.*'
          pos += 2
        }
      } else {
        re += '[^/]*'
        pos++
      }
    } else if (c === '+' || c === '?') {
      re += pos > 0 ? c : quote(c)
      pos++
    } else if (c === '[') {
      re += '['
      pos++
      if (pattern[pos] === ']') fail('unexpected empty brackets')
      const start = pos
      while (pos < pattern.length && pattern[pos] !== ']') {
        const ch = pattern[pos]
        const valid = (x: string): boolean => /[A-Za-z0-9]/.test(x)
        if (ch === '-') {
          if (pos <= start || pos + 1 >= pattern.length) fail('invalid range')
          const a = pattern[pos - 1]
          const b = pattern[pos + 1]
          if (!valid(a) || !valid(b) || a > b) fail('ranges can only include a-z, A-Z and 0-9')
          re += `-${quote(b)}`
          pos += 2
        } else {
          if (!valid(ch)) fail('ranges can only include a-z, A-Z and 0-9')
          re += quote(ch)
          pos++
        }
      }
      if (pattern[pos] !== ']') fail("missing closing bracket ']'")
      re += ']'
      pos++
    } else if (c === '\\') {
      if (pos + 1 >= pattern.length) fail('missing symbol after \\')
      re += quote(pattern[pos + 1])
      pos += 2
    } else {
      re += quote(c)
      pos++
    }
  }
  return { pattern, negative, regex: new RegExp(`${re}$`) }
}

/** Whether `name` is selected by a pattern list: the last matching pattern decides. */
export function matchesPatterns(patterns: string[], name: string): boolean {
  let matched = false
  for (const p of patterns.map(compilePattern)) if (p.regex.test(name)) matched = !p.negative
  return matched
}

function git(dir: string, args: string[]): string {
  try {
    return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new WorkflowError(`git ${args.join(' ')} in ${dir} failed: ${err.stderr?.trim() || err.message}`)
  }
}

export function changedFiles(dir: string, from: string, to: string, threeDot: boolean): string[] {
  const out = git(dir, ['diff', '--name-only', '--no-renames', '-z', threeDot ? `${from}...${to}` : `${from}..${to}`])
  return out.split('\0').filter(Boolean)
}

const ZERO = /^0{40}$/

interface Filters {
  branches?: string[]
  'branches-ignore'?: string[]
  tags?: string[]
  'tags-ignore'?: string[]
  paths?: string[]
  'paths-ignore'?: string[]
  types?: string[]
}

function nameFilter(include: string[] | undefined, ignore: string[] | undefined, name: string, what: string): Trigger {
  if (include && !matchesPatterns(include, name))
    return { triggered: false, reason: `${what} ${JSON.stringify(name)} does not match ${JSON.stringify(include)}` }
  if (ignore && matchesPatterns(ignore, name))
    return { triggered: false, reason: `${what} ${JSON.stringify(name)} is ignored by ${JSON.stringify(ignore)}` }
  return { triggered: true }
}

function pathFilter(filters: Filters, files: () => string[]): Trigger {
  if (!filters.paths && !filters['paths-ignore']) return { triggered: true }
  const changed = files()
  if (changed.length > 300) {
    throw new UnsupportedError(
      'on.paths',
      `the diff has ${changed.length} files; GitHub only looks at the first 300 and this runner does not reproduce which`
    )
  }
  if (filters.paths) {
    const paths = filters.paths
    if (!changed.some(f => matchesPatterns(paths, f))) {
      return { triggered: false, reason: `no changed file (${JSON.stringify(changed)}) matches paths ${JSON.stringify(paths)}` }
    }
  }
  if (filters['paths-ignore']) {
    const ignore = filters['paths-ignore']
    if (!changed.some(f => !matchesPatterns(ignore, f))) {
      return { triggered: false, reason: `every changed file (${JSON.stringify(changed)}) matches paths-ignore ${JSON.stringify(ignore)}` }
    }
  }
  return { triggered: true }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function checkTrigger(workflow: ParsedWorkflow, opts: RunWorkflowOptions): Trigger {
  const events = workflow.template.events ?? {}
  const name = opts.event.name
  const declared = Object.keys(events)
  if (!(name in events)) {
    throw new WorkflowError(`${workflow.file}: the workflow does not run on ${name}: its on: declares ${declared.join(', ') || 'nothing'}`)
  }
  const filters = ((events as Record<string, unknown>)[name] ?? {}) as Filters
  const payload = opts.event.payload
  const at = where(workflow.file, keyToken(prop(workflow.root, 'on'), name))
  if (name === 'push') {
    const ref = str(payload.ref) ?? opts.ref
    const branchFilters = filters.branches !== undefined || filters['branches-ignore'] !== undefined
    const tagFilters = filters.tags !== undefined || filters['tags-ignore'] !== undefined
    if (ref.startsWith('refs/tags/')) {
      const tag = ref.slice('refs/tags/'.length)
      if (!tagFilters && branchFilters) return { triggered: false, reason: `tag ${tag}: the push filters only name branches` }
      return nameFilter(filters.tags, filters['tags-ignore'], tag, 'tag')
    }
    if (!ref.startsWith('refs/heads/')) throw new WorkflowError(`push event with ref ${JSON.stringify(ref)}: neither refs/heads/ nor refs/tags/`)
    const branch = ref.slice('refs/heads/'.length)
    if (!branchFilters && tagFilters) return { triggered: false, reason: `branch ${branch}: the push filters only name tags` }
    const byName = nameFilter(filters.branches, filters['branches-ignore'], branch, 'branch')
    if (!byName.triggered) return byName
    return pathFilter(filters, () => {
      const before = str(payload.before)
      const after = str(payload.after) ?? opts.sha
      if (!before) throw new WorkflowError(`${at.file}:${at.line}: on.push paths filter: the push payload has no "before" to compare "after" with`)
      if (ZERO.test(before)) {
        throw new UnsupportedError(
          'on.push.paths',
          'a push that creates a branch (before = 000...0): GitHub diffs against an ancestor this runner does not compute',
          at
        )
      }
      return changedFiles(opts.repositoryDir, before, after, false)
    })
  }
  if (name === 'pull_request') {
    const types = filters.types ?? ['opened', 'synchronize', 'reopened']
    const action = str(payload.action)
    if (!action) throw new WorkflowError('pull_request payload without "action"')
    if (!types.includes(action)) return { triggered: false, reason: `pull_request action ${action} is not one of the types ${JSON.stringify(types)}` }
    const pr = (payload.pull_request ?? {}) as { base?: { ref?: string; sha?: string }; head?: { sha?: string } }
    const base = pr.base?.ref
    if (!base) throw new WorkflowError('pull_request payload without pull_request.base.ref')
    const byName = nameFilter(filters.branches, filters['branches-ignore'], base.replace(/^refs\/heads\//, ''), 'base branch')
    if (!byName.triggered) return byName
    return pathFilter(filters, () => {
      if (!pr.base?.sha || !pr.head?.sha)
        throw new WorkflowError('pull_request payload without pull_request.base.sha and head.sha (needed by the paths filter)')
      return changedFiles(opts.repositoryDir, pr.base.sha, pr.head.sha, true)
    })
  }
  if (name === 'schedule') {
    const crons = ((events.schedule ?? []) as { cron: string }[]).map(s => s.cron)
    const cron = str(payload.schedule)
    if (cron !== undefined && !crons.includes(cron)) return { triggered: false, reason: `schedule ${cron} is not one of ${JSON.stringify(crons)}` }
  }
  return { triggered: true }
}
