// plan: plan the pull request's environments (against the live releases when given read-only
// cluster credentials), comment, summarise; fail last when one is invalid.
import * as core from '@actions/core'
import { planFailureMessage, planPullRequest, withLiveDiffer } from '../../../workflows-lib/src/github/plan-comment.js'
import { chartRoots, runAction, workspace } from '../../../workflows-lib/src/runner/index.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('plan', async () => {
    const { kube, ...settings } = getSettings()
    const roots = chartRoots(import.meta.url)
    const result = await withLiveDiffer(kube, roots, live => planPullRequest({ ...settings, roots, workspace: workspace(), live }))
    core.setOutput('comment-id', result.comment ? String(result.comment.id) : '')
    core.setOutput('comment-url', result.comment?.url ?? '')
    core.setOutput('invalid', JSON.stringify(result.invalid))
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(result.summary).write()
    // After the comment: the author sees the problems there, the red check keeps it from merging.
    if (result.invalid.length > 0) throw new Error(planFailureMessage(result.invalid))
  })
}
