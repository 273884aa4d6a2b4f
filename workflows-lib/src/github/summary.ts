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

/**
 * The root action sets this to false for its steps: its rollout-summary step writes the one
 * summary of the environment, failure first, and the steps' own tables would come before it.
 */
export const STEP_SUMMARIES_ENV = 'ZK_ROLLOUT_STEP_SUMMARIES'

/** Appends Markdown to the step summary; no-op outside Actions or when the root action writes its own. */
export async function writeMarkdownSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY || process.env[STEP_SUMMARIES_ENV] === 'false') return
  await core.summary.addRaw(markdown, true).write()
}

/** Appends a titled table (and optional details) to the step summary. */
export async function writeSummary(title: string, header: string[], rows: Row[], details?: string): Promise<void> {
  let text = `### ${title}\n\n${markdownTable(header, rows)}\n`
  if (details) text += `\n<details><summary>Details</summary>\n\n\`\`\`\n${details}\n\`\`\`\n</details>\n`
  await writeMarkdownSummary(text)
}
