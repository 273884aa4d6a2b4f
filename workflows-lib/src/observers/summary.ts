// The job summary for a deploy: one row per observer VM, then what went wrong, host by host.
import type { DeployReport, ObserverResult } from './results.js'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function filesCell(r: ObserverResult, dryRun: boolean): string {
  if (!r.compared) return 'not compared'
  if (!r.changed) return 'unchanged'
  const files = r.changedFiles.join(', ')
  if (dryRun) return `would change: ${files}`
  return r.rolledBack ? `${files} (rolled back)` : `${files} changed`
}

function verifiedCell(r: ObserverResult): string {
  if (r.verified) return `✅ observer, zxid ${r.zxid}`
  if (r.status === 'skipped') return '—'
  if (r.mode) return `❌ now: ${r.mode}${r.zxid ? `, zxid ${r.zxid}` : ''}`
  return r.status === 'ok' ? '—' : '❌'
}

const statusCell: Record<ObserverResult['status'], string> = { ok: 'ok', failed: '**failed**', skipped: 'skipped' }

export function deploySummaryMarkdown(report: DeployReport): string {
  const title = `### Observers of ${report.environment}${report.dryRun ? ' (dry run: nothing written or restarted)' : ''}`
  if (report.results.length === 0) return `${title}\n\nThis environment has no observers.\n`
  const rows = report.results.map(r =>
    [
      String(r.id),
      r.host,
      statusCell[r.status],
      filesCell(r, report.dryRun),
      r.restarted ? 'yes' : 'no',
      verifiedCell(r),
      r.rolledBack ? '**yes**' : 'no',
      `${(r.durationMs / 1000).toFixed(1)} s`
    ]
      .map(cell)
      .join(' | ')
  )
  const notes = report.results.filter(r => r.message).map(r => `- **${r.id}** (${r.host}): ${r.message}`)
  return [
    title,
    '',
    '| id | host | status | files | restarted | verified | rolled back | time |',
    '|---:|---|---|---|---|---|---|---:|',
    ...rows.map(row => `| ${row} |`),
    '',
    ...(notes.length > 0 ? [...notes, ''] : [])
  ].join('\n')
}
