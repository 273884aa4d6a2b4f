import * as core from '@actions/core'
import type { Environment } from '../../../workflows-lib/src/environment/types.js'
import { writeSummary } from '../../../workflows-lib/src/github/summary.js'
import { formatDiagnostics } from '../../../workflows-lib/src/kube/diagnostics.js'
import type { Kubectl } from '../../../workflows-lib/src/kube/kubectl.js'
import { joinEnvironmentLockIfHeld } from '../../../workflows-lib/src/lock/index.js'
import { loadActionEnvironment, runAction, withKubeClients } from '../../../workflows-lib/src/runner/index.js'
import { waitReady, waitReadyOptions, WaitReadyError } from '../../../workflows-lib/src/steps/wait-ready.js'
import { getSettings, type WaitReadySettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('wait-ready', async () => {
    const settings = getSettings()
    const env = await loadActionEnvironment(settings.environment)
    // Changes nothing, but a rollout waits here longest: joining the root action's lock keeps
    // it renewed meanwhile. Standalone, no lock is taken.
    await withKubeClients(settings.kube, ({ kubectl }) => joinEnvironmentLockIfHeld(env, kubectl, () => waitAndReport(env, kubectl, settings)))
  })
}

async function waitAndReport(env: Environment, kubectl: Kubectl, settings: WaitReadySettings): Promise<void> {
  try {
    const ready = await waitReady(
      waitReadyOptions({
        kubectl,
        env,
        statefulSet: settings.statefulSet,
        podTimeoutMs: settings.podTimeoutMs,
        overallTimeoutMs: settings.overallTimeoutMs
      })
    )
    core.setOutput('pods', JSON.stringify(ready.map(r => r.pod)))
    core.setOutput('times', JSON.stringify(Object.fromEntries(ready.map(r => [r.pod, Number((r.waitedMs / 1000).toFixed(3))]))))
    await writeSummary(
      `wait-ready: ${env.name}`,
      ['pod', 'Ready after (s)'],
      ready.map(r => [r.pod, (r.waitedMs / 1000).toFixed(1)])
    )
  } catch (error) {
    if (error instanceof WaitReadyError && error.diagnostics) {
      const d = error.diagnostics
      await writeSummary(
        `wait-ready: ${env.name} failed at ${d.pod}`,
        ['pod', 'phase', 'restarts', 'conditions', 'containers'],
        [[d.pod, d.phase, d.restarts, d.conditions.join('\n'), d.containers.join('\n')]],
        formatDiagnostics(d)
      )
    }
    throw error
  }
}
