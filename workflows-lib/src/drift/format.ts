// A drift report for people (a terminal table, the Markdown of the drift issue) and machines (JSON).
// Every value from the cluster or a VM is made one line and inert before it is printed.
import { codeFence, codeSpan } from '../github/plan-markdown.js'
import { oneLine } from '../output/printable.js'
import type { HealNote } from './heal.js'
import { driftStatus, type DriftReport } from './types.js'

const STATUS_LINE = {
  'in-sync': 'in sync with Git',
  drift: 'DRIFT: the live state differs from Git',
  unchecked: 'could not check everything (nothing found that differs in what was checked)'
}

export function formatDriftText(report: DriftReport): string {
  const status = driftStatus(report)
  const lines = [`Drift of environment "${oneLine(report.environment)}": ${STATUS_LINE[status]}`]
  if (report.checked.length) lines.push(`  checked: ${report.checked.map(oneLine).join(', ')}`)
  for (const item of report.items) {
    lines.push('', `  ${item.kind.padEnd(16)} ${oneLine(item.subject)}: ${oneLine(item.difference)}`)
    for (const d of item.details ?? []) lines.push(`      ${oneLine(d)}`)
    lines.push(`      means: ${oneLine(item.meaning)}`, `      fix:   ${oneLine(item.fix)}`)
  }
  if (report.unchecked.length) {
    lines.push('', '  could not check:')
    for (const u of report.unchecked) lines.push(`    ${oneLine(u.subject)}: ${oneLine(u.why)}`)
  }
  return `${lines.join('\n')}\n`
}

// Values from the cluster or a VM go into code spans (GitHub renders no Markdown, HTML or
// @mention there); our own sentences are escaped as text. A pipe would end a table cell.
const code = (text: string): string => codeSpan(text).replaceAll('|', '\\|')
const text = (t: string): string =>
  oneLine(t)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[|*_`[\]@]/g, c => `\\${c}`)

/** The body of the environment's drift issue (and of the job summary). */
export function formatDriftMarkdown(report: DriftReport, opts: { runUrl?: string } = {}): string {
  const status = driftStatus(report)
  const parts = [`### Drift of environment ${code(report.environment)}: ${STATUS_LINE[status]}`, '']
  if (report.items.length) {
    parts.push('| what | where | difference | what it means | fix |', '| --- | --- | --- | --- | --- |')
    for (const i of report.items) parts.push(`| ${i.kind} | ${code(i.subject)} | ${code(i.difference)} | ${text(i.meaning)} | ${text(i.fix)} |`)
    parts.push('')
    for (const i of report.items.filter(x => x.details?.length)) {
      // Fenced (a fence no line can close), so file lines are shown as they are.
      parts.push(
        `<details><summary>${text(i.subject)}: ${text(i.difference)}</summary>`,
        '',
        codeFence((i.details ?? []).map(oneLine).join('\n'), 'diff'),
        '</details>',
        ''
      )
    }
  }
  if (report.unchecked.length) {
    parts.push('Could not check:', '')
    for (const u of report.unchecked) parts.push(`- ${code(u.subject)}: ${code(u.why)}`)
    parts.push('')
  }
  if (report.checked.length) parts.push(`Checked: ${report.checked.map(code).join(', ')}.`, '')
  if (opts.runUrl) parts.push(`Found by ${opts.runUrl}.`, '')
  return parts.join('\n')
}

export function formatDriftJson(report: DriftReport): string {
  return `${JSON.stringify({ status: driftStatus(report), ...report }, null, 2)}\n`
}

/** The heal's outcome under the report: our sentence, and a failure's host messages as code. */
export function formatHealMarkdown(note: HealNote): string {
  return `${text(note.text)}\n${note.detail ? `\n${codeFence(note.detail)}\n` : ''}`
}
