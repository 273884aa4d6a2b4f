// detect-drift: read inputs, compare through workflows-lib (read-only), heal when asked and safe,
// keep the environment's drift issue, publish the report.
import * as core from '@actions/core'
import {
  detectDrift,
  driftStatus,
  formatDriftMarkdown,
  formatDriftText,
  healDecision,
  healObservers
} from '../../../workflows-lib/src/drift/index.js'
import { currentRepository, githubClient, runUrl } from '../../../workflows-lib/src/github/client.js'
import { syncDriftIssue } from '../../../workflows-lib/src/github/drift-issue.js'
import { writeMarkdownSummary } from '../../../workflows-lib/src/github/summary.js'
import * as log from '../../../workflows-lib/src/output/log.js'
import { chartRoots, loadActionEnvironment, runAction, withKubeClients, withSecretFiles } from '../../../workflows-lib/src/runner/index.js'
import { deployFailureMessage } from '../../../workflows-lib/src/steps/deploy-observers.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('detect-drift', async () => {
    const settings = getSettings()
    const env = await loadActionEnvironment(settings.environment)
    const roots = chartRoots(import.meta.url)
    const { drift, healNote, healFailed } = await withKubeClients(settings.kube, ({ kubectl, helm }) =>
      withSecretFiles(async secretFiles => {
        const ssh = settings.credentials ? { credentials: settings.credentials, secretFiles, jumpHost: settings.jumpHost } : undefined
        let found = await detectDrift({ env, helm, kubectl, roots, ssh })
        const decision = healDecision(settings.heal, found)
        let note: string | undefined
        if (driftStatus(found) === 'drift' && settings.heal !== 'none') {
          if (decision.heal && ssh) {
            const healed = await healObservers({ env, drift: found, ...ssh, log: line => log.info(line) })
            note = healed.ok
              ? `Healed: the observers were redeployed with the current LoadBalancer addresses and verified (Mode: observer).`
              : `Healing failed: ${deployFailureMessage(healed)}`
            core.setOutput('healed', String(healed.ok))
            found = await detectDrift({ env, helm, kubectl, roots, ssh })
          } else note = `Not healed: ${decision.why}.`
          log.info(note)
        }
        return { drift: found, healNote: note, healFailed: note?.startsWith('Healing failed') === true }
      })
    )
    const status = driftStatus(drift)
    log.info(formatDriftText(drift).trimEnd())
    const markdown = `${formatDriftMarkdown(drift, { runUrl: runUrl() })}${healNote ? `\n${healNote}\n` : ''}`
    core.setOutput('status', status)
    core.setOutput('report', JSON.stringify({ status, ...drift }))
    await writeMarkdownSummary(markdown)
    if (settings.githubToken) {
      const issue = await syncDriftIssue(githubClient(settings.githubToken), currentRepository(), {
        environment: env.name,
        status,
        markdown,
        runUrl: runUrl(),
        ...(healNote && !healFailed ? { healed: healNote } : {})
      })
      if (issue.action !== 'none') {
        core.setOutput('issue', String(issue.number))
        log.info(`drift issue #${issue.number}: ${issue.action}`)
      }
    }
    // A heal that failed was rolled back where it could be; the step says so by failing.
    if (healFailed) throw new Error(healNote!)
    if (status === 'unchecked') throw new Error(`could not check: ${drift.unchecked.map(u => `${u.subject}: ${u.why}`).join('; ')}`)
    if (status === 'drift' && settings.failOnDrift) throw new Error(`environment ${env.name} drifted from Git: ${drift.items.length} difference(s)`)
  })
}
