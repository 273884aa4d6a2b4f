// The pull-request plan as Markdown: one table of environments, then per environment a
// collapsible section with its steps and every file it would write. Whatever a user wrote
// reaches the comment only inside code (a span or a fence), where GitHub renders no HTML,
// Markdown or @mentions; the fence is always longer than any backtick run in the file.
import { describeLiveDiff, type LiveComparison } from '../plan/live-diff.js'
import type { Plan } from '../plan/plan.js'
import { oneLine } from '../output/printable.js'
import { markdownTable, type Row } from './summary.js'

/** Hidden first line of the sticky comment: how the next run finds it. */
export const PLAN_MARKER = '<!-- zk-rollout-plan -->'
/** GitHub refuses a comment body longer than this. */
export const COMMENT_LIMIT = 65_536
/** Problems shown per invalid environment; the annotations and the log have them all. */
const MAX_PROBLEMS = 50

export type PlannedEnvironment =
  /** `live`: against the live release, when the plan was given cluster credentials. */
  | { name: string; status: 'planned'; plan: Plan; servers: number; observers: number; live?: LiveComparison }
  /** Problems formatted as `file:line:column: field: message`, relative to the workspace. */
  | { name: string; status: 'invalid'; problems: string[] }
  /** Named but no longer on disk: the pull request removes it. */
  | { name: string; status: 'removed'; directory: string }

export interface PlanMarkdownInput {
  environments: PlannedEnvironment[]
  /** Environment directories of the repository that this plan does not touch. */
  unchanged: string[]
  /** The commit planned (the pull request's head). */
  sha?: string
  runUrl?: string
}

/** A fenced code block that no line of `content` can close: the fence outruns every backtick run. */
export function codeFence(content: string, info = ''): string {
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map(m => m[0].length))
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}${info}\n${content.endsWith('\n') || content === '' ? content : `${content}\n`}${fence}`
}

/** An inline code span for one line of text, whatever backticks it holds. */
export function codeSpan(text: string): string {
  const line = oneLine(text)
  const longest = Math.max(0, ...[...line.matchAll(/`+/g)].map(m => m[0].length))
  const ticks = '`'.repeat(longest + 1)
  // A span that starts or ends with a backtick (or a space) needs padding, which GitHub strips.
  const pad = /^[` ]|[` ]$/.test(line) ? ' ' : ''
  return `${ticks}${pad}${line}${pad}${ticks}`
}

/** Text inside an HTML element such as <summary>: no tag, no entity, no line break. */
const html = (text: string): string => oneLine(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

const fileLanguage = (file: string): string => (file.endsWith('.yaml') ? 'yaml' : file.endsWith('.cfg') ? 'properties' : '')

/** The environment directory of its environment.yaml, for the `zk-rollout plan` hint. */
const environmentDirectory = (file: string): string => file.replace(/\/?environment\.ya?ml$/, '') || '.'

/** `cap`: at most this many characters of the file (undefined: all of it). */
function fileBlock(file: { path: string; content: string }, cap: number | undefined, environment: string): string {
  const head = `${codeSpan(file.path)}\n\n`
  if (cap === undefined || file.content.length <= cap) return `${head}${codeFence(file.content, fileLanguage(file.path))}`
  const cut = file.content.lastIndexOf('\n', cap)
  const shown = cap <= 0 ? '' : file.content.slice(0, cut > 0 ? cut + 1 : cap)
  const note =
    `_${shown.length === 0 ? 'Left out' : `Truncated: ${shown.length} of ${file.content.length} characters shown`} ` +
    `to fit GitHub's size limit; ${codeSpan(`zk-rollout plan ${environment}`)} prints it whole._`
  return shown.length === 0 ? `${head}${note}` : `${head}${codeFence(shown, fileLanguage(file.path))}\n\n${note}`
}

/** What a rollout would change against the live release (or why that could not be read). */
function liveSection(live: LiveComparison): string[] {
  if (live.status === 'unreachable') return [`**Against the live release**: cannot read the cluster, ${codeSpan(live.error)}`]
  const { summary, details } = describeLiveDiff(live.diff)
  return [`**Against the live release**: ${codeSpan(summary)}`, '', ...details.map(d => `- ${codeSpan(d)}`)]
}

function plannedSection(e: Extract<PlannedEnvironment, { status: 'planned' }>, cap: number | undefined, showFiles: boolean): string {
  const { plan } = e
  const out: string[] = [
    `<details><summary><code>${html(e.name)}</code>: ${plural(plan.steps.length, 'step')}, ${plural(plan.files.length, 'file')}</summary>`,
    '',
    `From ${codeSpan(plan.environment.file)}:`,
    ''
  ]
  plan.steps.forEach((step, i) => {
    out.push(`${i + 1}. **${step.action}**: ${codeSpan(step.summary)}`)
    for (const d of step.details) out.push(`   - ${codeSpan(d)}`)
  })
  if (e.live) out.push('', ...liveSection(e.live))
  if (showFiles) for (const file of plan.files) out.push('', fileBlock(file, cap, environmentDirectory(plan.environment.file)))
  else out.push('', `_${plural(plan.files.length, 'file')} left out to fit GitHub's size limit._`)
  out.push('', '</details>')
  return out.join('\n')
}

function invalidSection(e: Extract<PlannedEnvironment, { status: 'invalid' }>): string {
  const shown = e.problems.slice(0, MAX_PROBLEMS)
  const more = e.problems.length - shown.length
  return [
    `<details open><summary><code>${html(e.name)}</code>: invalid, ${plural(e.problems.length, 'problem')}</summary>`,
    '',
    'Nothing is rolled out until these are fixed (they are also annotated on the files):',
    '',
    codeFence(shown.join('\n')),
    ...(more > 0 ? ['', `_and ${more} more: see the annotations and the job log._`] : []),
    '',
    '</details>'
  ].join('\n')
}

/** How much of the plan to show: files cut to `cap` characters (undefined: whole), or left out; the first `sections` environments' sections. */
interface Shape {
  cap?: number
  files: boolean
  sections: number
}

function render(input: PlanMarkdownInput, shape: Shape): string {
  const rows: Row[] = input.environments.map(e =>
    e.status === 'planned'
      ? [codeSpan(e.name), 'plan below', e.servers, e.observers]
      : e.status === 'invalid'
        ? [codeSpan(e.name), `**invalid**: ${plural(e.problems.length, 'problem')}`, '', '']
        : [codeSpan(e.name), 'removed: nothing is rolled out (the release stays until removed by hand)', '', '']
  )
  const invalid = input.environments.filter(e => e.status === 'invalid').length
  const out: string[] = [
    PLAN_MARKER,
    '### zk-rollout plan',
    '',
    `What merging this pull request would roll out${input.sha ? ` (commit ${codeSpan(input.sha.slice(0, 12))})` : ''}. ` +
      `Nothing has been deployed${input.runUrl ? `; [the run](${encodeURI(input.runUrl)}) has the log` : ''}.` +
      (invalid > 0 ? ` **${plural(invalid, 'environment')} invalid**: the check fails until fixed.` : ''),
    ''
  ]
  if (rows.length > 0) out.push(markdownTable(['environment', 'plan', 'servers', 'observers'], rows, { right: [2, 3] }), '')
  else out.push('This pull request changes no environment.', '')
  out.push(
    input.unchanged.length > 0
      ? `**Unchanged** (not rolled out): ${input.unchanged.map(codeSpan).join(', ')}`
      : '**Unchanged**: none, every environment of the repository is in this plan.'
  )
  const sections = input.environments.filter(e => e.status !== 'removed')
  for (const e of sections.slice(0, shape.sections)) {
    if (e.status === 'planned') out.push('', plannedSection(e, shape.cap, shape.files))
    else if (e.status === 'invalid') out.push('', invalidSection(e))
  }
  const left = sections.length - Math.min(shape.sections, sections.length)
  if (left > 0) out.push('', `_${plural(left, 'more environment')} left out to fit GitHub's size limit: the job summary has them._`)
  return `${out.join('\n')}\n`
}

/** The largest whole number in [low, high] for which `fits` holds, given it holds for `low` and only gets harder. */
function largest(low: number, high: number, fits: (n: number) => boolean): number {
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (fits(mid)) low = mid
    else high = mid - 1
  }
  return low
}

/**
 * The plan comment, at most `limit` characters. When the whole plan is longer, every file is cut
 * to the largest size that fits (with a note); then files are left out; then the last
 * environments' sections. Sections are dropped whole: never an unclosed fence or <details>.
 */
export function planMarkdown(input: PlanMarkdownInput, limit = COMMENT_LIMIT): string {
  const all = input.environments.length
  const fits = (shape: Shape): boolean => render(input, shape).length <= limit
  if (fits({ files: true, sections: all })) return render(input, { files: true, sections: all })
  if (fits({ cap: 0, files: true, sections: all })) {
    const longest = Math.max(0, ...input.environments.flatMap(e => (e.status === 'planned' ? e.plan.files.map(f => f.content.length) : [])))
    const cap = largest(0, longest, n => fits({ cap: n, files: true, sections: all }))
    return render(input, { cap, files: true, sections: all })
  }
  const sections = largest(0, all, n => fits({ files: false, sections: n }))
  const text = render(input, { files: false, sections })
  if (text.length <= limit) return text
  // Thousands of environments: even the table is too long.
  const note = '\n\n_Cut: the plan is too long for one comment; the job summary and the log have all of it._\n'
  return `${text.slice(0, Math.max(0, limit - note.length))}${note}`
}
