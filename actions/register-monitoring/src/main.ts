import * as core from '@actions/core'
import { runAction } from '../../../workflows-lib/src/runner/index.js'
import { writeSummary } from '../../../workflows-lib/src/github/summary.js'
import { withLockedCluster } from '../../../workflows-lib/src/runner/locked-cluster.js'
import { registerMonitoring } from '../../../workflows-lib/src/steps/register-monitoring.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('register-monitoring', async () => {
    const settings = getSettings()
    // Joins the root composite's lock when it holds it (same holder), else takes its own.
    await withLockedCluster(settings, async ({ env, kubectl }) => {
      const r = await registerMonitoring(kubectl, env)
      core.setOutput('targets', JSON.stringify(r.targets))
      core.setOutput('service-monitor', r.serviceMonitor)
      core.setOutput('changed', r.outcome.changed.length + r.outcome.deleted.length > 0)
      await writeSummary(
        `register-monitoring: ${env.name}`,
        ['object', 'result'],
        [
          ...r.outcome.changed.map(o => [o, 'created or changed']),
          ...r.outcome.unchanged.map(o => [o, 'unchanged']),
          ...r.outcome.deleted.map(o => [o, 'removed']),
          ['ServiceMonitor', r.serviceMonitor]
        ]
      )
    })
  })
}
