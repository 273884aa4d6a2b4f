// Job summary helpers: one table per action, escaped for Markdown.
import * as core from '@actions/core'

export type Row = (string | number | boolean)[]

const cell = (v: string | number | boolean): string => String(v).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>')

/** A Markdown table, every cell escaped; `right` names the columns aligned right (numbers). */
export function markdownTable(header: string[], rows: Row[], opts: { right?: number[] } = {}): string {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `|${header.map((_, i) => (opts.right?.includes(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map(r => `| ${r.map(cell).join(' | ')} |`)
  ].join('\n')
}

/** Appends a titled table (and optional details) to the step summary; no-op outside Actions. */
export async function writeSummary(title: string, header: string[], rows: Row[], details?: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  let text = `### ${title}\n\n${markdownTable(header, rows)}\n`
  if (details) text += `\n<details><summary>Details</summary>\n\n\`\`\`\n${details}\n\`\`\`\n</details>\n`
  await core.summary.addRaw(text, true).write()
}
