// deploy-observers: read inputs, deploy through workflows-lib, publish outputs and the summary.
import * as log from '../../../workflows-lib/src/output/log.js'
import * as core from '@actions/core'
import { joinEnvironmentLockIfHeld } from '../../../workflows-lib/src/lock/index.js'
import type { DeployReport } from '../../../workflows-lib/src/observers/results.js'
import { withKubeClients } from '../../../workflows-lib/src/runner/kube-clients.js'
import { InputError } from '../../../workflows-lib/src/runner/inputs.js'
import { runAction } from '../../../workflows-lib/src/runner/run-action.js'
import { withSecretFiles } from '../../../workflows-lib/src/runner/secret-file.js'
import { loadActionEnvironment } from '../../../workflows-lib/src/runner/paths.js'
import { deployFailureMessage, deployObservers } from '../../../workflows-lib/src/steps/deploy-observers.js'
import { writeMarkdownSummary } from '../../../workflows-lib/src/github/summary.js'
import { deploySummaryMarkdown } from '../../../workflows-lib/src/observers/summary.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('deploy-observers', async () => {
    const settings = getSettings()
    const environment = await loadActionEnvironment(settings.environment)
    // The pair is needed only when there are observers (host keys are always verified).
    if (environment.observers && !settings.credentials) {
      const missing = settings.sshInputs.key ? 'known-hosts' : 'ssh-private-key'
      throw new InputError(missing, `is required: environment ${environment.name} has observers (pass ssh-private-key and known-hosts)`)
    }
    const deploy = (): Promise<DeployReport> =>
      withSecretFiles(secretFiles =>
        deployObservers({
          environment,
          servers: settings.servers,
          credentials: settings.credentials,
          secretFiles,
          concurrency: settings.concurrency,
          maxUnavailable: settings.maxUnavailable,
          joinTimeoutMs: settings.joinTimeoutMs,
          dryRun: settings.dryRun,
          jumpHost: settings.jumpHost,
          log: line => log.info(line)
        })
      )
    // With cluster credentials (the root action passes them), join the environment's rollout
    // lock while the observers deploy, so it stays renewed; the VMs themselves need none.
    const report =
      settings.kube.kubeconfig !== undefined || process.env.KUBECONFIG
        ? await withKubeClients(settings.kube, ({ kubectl }) => joinEnvironmentLockIfHeld(environment, kubectl, deploy))
        : await deploy()
    core.setOutput('results', JSON.stringify(report.results))
    core.setOutput('changed', String(report.changed))
    core.setOutput('rolled-back', JSON.stringify(report.rolledBack))
    await writeMarkdownSummary(deploySummaryMarkdown(report))
    if (!report.ok) throw new Error(deployFailureMessage(report))
    log.info(
      `${report.results.length} observer(s) of ${report.environment}: ${report.results.filter(r => r.changed).length} ${report.dryRun ? 'would change' : 'changed'}, ` +
        `${report.results.filter(r => r.verified).length} verified, in ${(report.durationMs / 1000).toFixed(1)} s`
    )
  })
}
