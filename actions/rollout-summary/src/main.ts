import * as core from '@actions/core'
import * as path from 'node:path'
import { rolloutSummaryMarkdown } from '../../../workflows-lib/src/github/rollout-summary.js'
import { summaryInputFromSteps } from '../../../workflows-lib/src/github/rollout-steps.js'
import { loadActionEnvironment, runAction } from '../../../workflows-lib/src/runner/index.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('rollout-summary', async () => {
    const settings = getSettings()
    // The namespace is a nicety: an environment that does not load still gets its summary.
    const namespace = await loadActionEnvironment(settings.environment).then(
      env => env.kubernetes.namespace,
      () => undefined
    )
    const input = summaryInputFromSteps(path.basename(settings.environment), settings.steps, namespace)
    core.setOutput('failed-step', input.failed?.step ?? '')
    await core.summary.addRaw(rolloutSummaryMarkdown(input), true).write()
  })
}
