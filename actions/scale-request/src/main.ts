// scale-request: propose the new ensemble size as a one-line pull request.
import * as core from '@actions/core'
import { requestScale } from '../../../workflows-lib/src/github/scale-request.js'
import { writeSummary } from '../../../workflows-lib/src/github/summary.js'
import { runAction, workspace } from '../../../workflows-lib/src/runner/index.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('scale-request', async () => {
    const settings = getSettings()
    const result = await requestScale({ ...settings, workspace: workspace() })
    core.setOutput('pull-request-number', String(result.pullRequest.number))
    core.setOutput('pull-request-url', result.pullRequest.url)
    core.setOutput('branch', result.branch)
    const pr = `[#${result.pullRequest.number}](${result.pullRequest.url})${result.pullRequest.created ? '' : ' (already open)'}`
    await writeSummary(
      `scale-request: ${settings.environment}`,
      ['from', 'to', 'branch', 'pull request'],
      [[result.from, result.to, result.branch, pr]]
    )
  })
}
