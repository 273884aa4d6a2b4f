import * as core from '@actions/core'
import { convergeFollowing } from '../../../workflows-lib/src/ensemble/between-steps.js'
import { chartRoots, runAction, withSecretFiles } from '../../../workflows-lib/src/runner/index.js'
import { formatSizes } from '../../../workflows-lib/src/scaling/plan.js'
import { writeSummary } from '../../../workflows-lib/src/github/summary.js'
import { withLockedCluster } from '../../../workflows-lib/src/runner/locked-cluster.js'
import { rollBack } from '../../../workflows-lib/src/ensemble/converge.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('deploy-chart', async () => {
    const settings = getSettings()
    // Joins the root composite's lock when it holds it (same holder), else takes its own.
    await withLockedCluster(settings, async ({ env, helm, kubectl }) => {
      if (settings.rollbackTo !== undefined) {
        const restarted = await rollBack({ env, helm, kubectl, revision: settings.rollbackTo })
        core.setOutput('restarted', restarted.join(','))
        await writeSummary(
          `deploy-chart: ${env.name} rolled back`,
          ['release', 'namespace', 'revision'],
          [[env.kubernetes.release, env.kubernetes.namespace, settings.rollbackTo]]
        )
        return
      }
      // Changed servers restart in ZooKeeper order when the StatefulSet is OnDelete (the bundled
      // chart's). A scale of several steps needs the observers' SSH inputs for between the steps.
      const {
        chart: r,
        restarted,
        scaling
      } = await withSecretFiles(secretFiles =>
        convergeFollowing({
          env,
          helm,
          kubectl,
          roots: chartRoots(import.meta.url),
          ...(settings.credentials ? { ssh: { credentials: settings.credentials, secretFiles } } : {})
        })
      )
      core.setOutput('release', r.release)
      core.setOutput('revision', r.revision)
      core.setOutput('previous-revision', r.previousRevision ?? '')
      core.setOutput('chart-version', r.chartVersion)
      core.setOutput('statefulset', r.statefulSet)
      core.setOutput('replicas', r.replicas)
      core.setOutput('changed', r.changed)
      core.setOutput('restarted', restarted.join(','))
      core.setOutput('scaled', scaling ? formatSizes(scaling) : '')
      await writeSummary(
        `deploy-chart: ${env.name}`,
        ['release', 'namespace', 'revision', 'chart', 'StatefulSet', 'servers', 'changed', 'restarted'],
        [
          [
            r.release,
            r.namespace,
            r.previousRevision && r.changed ? `${r.previousRevision} → ${r.revision}` : r.revision,
            r.chartVersion,
            r.statefulSet,
            scaling ? formatSizes(scaling) : r.replicas,
            r.changed ? 'yes' : 'no',
            restarted.join(', ') || 'none'
          ]
        ]
      )
    })
  })
}
