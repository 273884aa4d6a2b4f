// detect-drift: read inputs, compare through workflows-lib (read-only), heal when asked and safe,
// keep the environment's drift issue, publish the report.
import * as core from '@actions/core'
import {
  detectAndHeal,
  driftStatus,
  formatDriftMarkdown,
  formatDriftText,
  formatHealMarkdown,
  healNote
} from '../../../workflows-lib/src/drift/index.js'
import { currentRepository, githubClient, runUrl } from '../../../workflows-lib/src/github/client.js'
import { syncDriftIssue } from '../../../workflows-lib/src/github/drift-issue.js'
import { writeMarkdownSummary } from '../../../workflows-lib/src/github/summary.js'
import * as log from '../../../workflows-lib/src/output/log.js'
import { chartRoots, loadActionEnvironment, runAction, withKubeClients, withSecretFiles } from '../../../workflows-lib/src/runner/index.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('detect-drift', async () => {
    const settings = getSettings()
    const env = await loadActionEnvironment(settings.environment)
    const roots = chartRoots(import.meta.url)
    const { drift, heal } = await withKubeClients(settings.kube, ({ kubectl, helm }) =>
      withSecretFiles(secretFiles => {
        const ssh = settings.credentials ? { credentials: settings.credentials, secretFiles, jumpHost: settings.jumpHost } : undefined
        return detectAndHeal({ env, helm, kubectl, roots, ssh, heal: settings.heal, log: line => log.info(line) })
      })
    )
    if (heal?.report) core.setOutput('healed', String(heal.report.ok))
    const note = healNote(heal)
    const status = driftStatus(drift)
    log.info(formatDriftText(drift).trimEnd())
    const markdown = `${formatDriftMarkdown(drift, { runUrl: runUrl() })}${note ? `\n${formatHealMarkdown(note)}` : ''}`
    core.setOutput('status', status)
    core.setOutput('report', JSON.stringify({ status, ...drift }))
    await writeMarkdownSummary(markdown)
    if (settings.githubToken) {
      const issue = await syncDriftIssue(githubClient(settings.githubToken), currentRepository(), {
        environment: env.name,
        status,
        markdown,
        runUrl: runUrl(),
        ...(note && heal?.report?.ok ? { healed: note.text } : {})
      })
      if (issue.action !== 'none') {
        core.setOutput('issue', String(issue.number))
        log.info(`drift issue #${issue.number}: ${issue.action}`)
      }
    }
    // A heal that failed was rolled back where it could be; the step says so by failing.
    if (note?.failed) throw new Error(`${note.text}\n${note.detail}`)
    // A rollout in progress is not a failure to check: the next scheduled run compares.
    if (drift.inProgress !== undefined) {
      log.warning(`environment ${env.name}: not compared, ${drift.unchecked[0].why}`)
      return
    }
    if (status === 'unchecked') throw new Error(`could not check: ${drift.unchecked.map(u => `${u.subject}: ${u.why}`).join('; ')}`)
    if (status === 'drift' && settings.failOnDrift) throw new Error(`environment ${env.name} drifted from Git: ${drift.items.length} difference(s)`)
  })
}
