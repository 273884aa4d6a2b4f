// deployment: open a GitHub Deployment of the environment (start) or set its final status (finish).
import * as core from '@actions/core'
import { finishDeployment, startDeployment } from '../../../workflows-lib/src/github/deployments.js'
import { runAction } from '../../../workflows-lib/src/runner/run-action.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('deployment', async () => {
    const settings = getSettings()
    if (settings.mode === 'start') {
      const deployment = await startDeployment(settings)
      core.setOutput('deployment-id', String(deployment.id))
      core.setOutput('state', 'in_progress')
      return
    }
    const finished = await finishDeployment(settings)
    core.setOutput('deployment-id', String(settings.deploymentId))
    core.setOutput('state', finished.state)
  })
}
