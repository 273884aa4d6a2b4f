// deploy-observers: read inputs, deploy through workflows-lib, publish outputs and the summary.
import * as core from '@actions/core'
import { runAction } from '../../../workflows-lib/src/action/run-action.js'
import { withSecretFiles } from '../../../workflows-lib/src/action/secret-file.js'
import { loadEnvironment } from '../../../workflows-lib/src/environment/load.js'
import { deployObservers } from '../../../workflows-lib/src/observers/deploy.js'
import type { DeployReport } from '../../../workflows-lib/src/observers/results.js'
import { deploySummaryMarkdown } from '../../../workflows-lib/src/observers/summary.js'
import { getInputs } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('deploy-observers', async () => {
    const settings = getInputs()
    const environment = await loadEnvironment(settings.environment)
    const ssh = environment.observers?.ssh
    const jumpHost = settings.jumpHost && {
      host: settings.jumpHost.host,
      port: settings.jumpHost.port,
      user: settings.jumpHost.user ?? ssh?.jumpHost?.user ?? ssh?.user ?? 'deploy'
    }
    const report = await withSecretFiles(secretFiles =>
      deployObservers({
        environment,
        servers: settings.servers,
        credentials: settings.credentials,
        secretFiles,
        concurrency: settings.concurrency,
        maxUnavailable: settings.maxUnavailable,
        joinTimeoutMs: settings.joinTimeoutMs,
        dryRun: settings.dryRun,
        jumpHost,
        log: line => core.info(line)
      })
    )
    core.setOutput('results', JSON.stringify(report.results))
    core.setOutput('changed', String(report.changed))
    core.setOutput('rolled-back', JSON.stringify(report.rolledBack))
    await core.summary.addRaw(deploySummaryMarkdown(report)).write()
    if (!report.ok) throw new Error(failureMessage(report))
    core.info(
      `${report.results.length} observer(s) of ${report.environment}: ${report.results.filter(r => r.changed).length} ${report.dryRun ? 'would change' : 'changed'}, ` +
        `${report.results.filter(r => r.verified).length} verified, in ${(report.durationMs / 1000).toFixed(1)} s`
    )
  })
}

function failureMessage(report: DeployReport): string {
  const failed = report.results.filter(r => r.status === 'failed')
  const skipped = report.results.filter(r => r.status === 'skipped')
  return (
    `${failed.length} of ${report.results.length} observers failed` +
    (skipped.length > 0 ? `, ${skipped.length} not restarted because the rollout stopped` : '') +
    ':\n' +
    failed.map(r => `  ${r.id} (${r.host}): ${r.message}`).join('\n')
  )
}
