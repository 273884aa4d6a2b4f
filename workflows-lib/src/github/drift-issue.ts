// One GitHub issue per environment while it drifts: opened (labelled zk-rollout-drift) when drift
// appears, its body replaced with the current table while drift persists, closed with a comment
// when it is gone. The issue is found again by a hidden marker line naming the environment, among
// the open issues carrying the label. A run that could not check everything changes nothing: it
// is evidence neither of drift nor of its absence.
import type { DriftStatus } from '../drift/types.js'
import type { GitHubClient, Repository } from './client.js'

export const DRIFT_LABEL = 'zk-rollout-drift'

const marker = (environment: string): string => `<!-- zk-rollout-drift: ${environment} -->`

export interface DriftIssueInput {
  environment: string
  status: DriftStatus
  /** The drift table (formatDriftMarkdown). */
  markdown: string
  runUrl?: string
  /** What heal did, for the closing comment when it made the drift go away. */
  healed?: string
}

export type DriftIssueAction = { action: 'created' | 'updated' | 'unchanged' | 'closed'; number: number } | { action: 'none' }

export async function syncDriftIssue(client: GitHubClient, repo: Repository, input: DriftIssueInput): Promise<DriftIssueAction> {
  if (input.status === 'unchecked') return { action: 'none' }
  const first = marker(input.environment)
  const open = await client.paginate(client.rest.issues.listForRepo, { ...repo, state: 'open', labels: DRIFT_LABEL, per_page: 100 })
  // Pull requests come in the issue list too; a person could add the label to one.
  // A body edited in the web UI comes back with CRLF line ends.
  const existing = open.find(i => !i.pull_request && (i.body ?? '').split(/\r?\n/, 1)[0].trim() === first)
  const body = `${first}\n${input.markdown}`
  if (input.status === 'drift') {
    if (!existing) {
      const created = await client.rest.issues.create({ ...repo, title: `Drift in environment ${input.environment}`, body, labels: [DRIFT_LABEL] })
      return { action: 'created', number: created.data.number }
    }
    if (existing.body === body) return { action: 'unchanged', number: existing.number }
    await client.rest.issues.update({ ...repo, issue_number: existing.number, body })
    return { action: 'updated', number: existing.number }
  }
  if (!existing) return { action: 'none' }
  await client.rest.issues.createComment({
    ...repo,
    issue_number: existing.number,
    body: `The live state of environment \`${input.environment}\` matches Git again${input.runUrl ? ` (checked by ${input.runUrl})` : ''}: closing.${input.healed ? `\n\n${input.healed}` : ''}`
  })
  await client.rest.issues.update({ ...repo, issue_number: existing.number, state: 'closed', state_reason: 'completed' })
  return { action: 'closed', number: existing.number }
}
