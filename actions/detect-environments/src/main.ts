// detect-environments: read the event, decide which environments to roll out, publish them as
// outputs (a strategy.matrix among them) and the job summary.
import * as core from '@actions/core'
import { detectEnvironments } from '../../../workflows-lib/src/detect/detect-environments.js'
import { readEventPayload } from '../../../workflows-lib/src/detect/event-payload.js'
import { detectionMatrix, detectionSummaryMarkdown } from '../../../workflows-lib/src/detect/report.js'
import * as log from '../../../workflows-lib/src/output/log.js'
import { quoted } from '../../../workflows-lib/src/output/printable.js'
import { runAction } from '../../../workflows-lib/src/runner/run-action.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('detect-environments', async () => {
    const settings = getSettings()
    const detection = await detectEnvironments({
      repository: settings.repositoryPath,
      eventName: settings.eventName,
      payload: settings.eventPath ? await readEventPayload(settings.eventPath) : {},
      environmentsRoot: settings.environmentsRoot,
      shared: settings.shared,
      select: settings.select
    })
    for (const warning of detection.warnings) log.warning(warning)
    log.info(`selection: ${detection.basis}`)
    for (const name of detection.environments) log.info(`selected ${quoted(name)}: ${detection.reasons[name]}`)
    if (detection.environments.length === 0) log.info('no environment selected: the matrix is empty and the output any is false')
    core.setOutput('environments', JSON.stringify(detection.environments))
    core.setOutput('matrix', JSON.stringify(detectionMatrix(detection)))
    core.setOutput('any', String(detection.environments.length > 0))
    core.setOutput('deleted', JSON.stringify(detection.deleted))
    core.setOutput('reasons', JSON.stringify(detection.reasons))
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(detectionSummaryMarkdown(detection)).write()
  })
}
