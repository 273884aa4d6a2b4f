// The job summary for a deploy: one row per observer VM, then what went wrong, host by host.
import { markdownTable } from '../github/summary.js'
import type { DeployReport, ObserverResult } from './results.js'

function filesCell(r: ObserverResult, dryRun: boolean): string {
  if (!r.compared) return 'not compared'
  if (!r.changed) return 'unchanged'
  const files = r.changedFiles.join(', ')
  if (dryRun) return `would change: ${files}`
  // Staged, but its turn never came: nothing of it was put in place.
  if (r.status === 'skipped') return `would change: ${files} (not applied: rollout stopped)`
  if (r.rolledBack) return `${files} (rolled back)`
  // A failure may come before, during or after the swap, and undoing it may fail: the note says.
  return r.status === 'failed' ? `${files} differed (see below)` : `${files} changed`
}

// A host never compared was never reached (or never told us its files): nothing was written on
// it, and nothing is known of its observer.
function note(r: ObserverResult): string {
  if (r.status === 'failed' && !r.compared) return `could not be reached or checked; nothing was changed on it: ${r.message}`
  return r.message ?? ''
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
  const rows = report.results.map(r => [
    String(r.id),
    r.host,
    statusCell[r.status],
    filesCell(r, report.dryRun),
    r.restarted ? 'yes' : 'no',
    verifiedCell(r),
    r.rolledBack ? '**yes**' : 'no',
    `${(r.durationMs / 1000).toFixed(1)} s`
  ])
  const header = ['id', 'host', 'status', 'files', 'restarted', 'verified', 'rolled back', 'time']
  // A note is one list item: its line breaks become spaces.
  const notes = report.results.filter(r => r.message).map(r => `- **${r.id}** (${r.host}): ${note(r).replace(/\s*\r?\n\s*/g, ' ')}`)
  return [title, '', markdownTable(header, rows, { right: [0, 7] }), '', ...(notes.length > 0 ? [...notes, ''] : [])].join('\n')
}
