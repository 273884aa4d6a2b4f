import * as core from '@actions/core'
import { runAction } from '../../../workflows-lib/src/runner/index.js'
import { writeSummary } from '../../../workflows-lib/src/github/summary.js'
import { withLockedCluster } from '../../../workflows-lib/src/runner/locked-cluster.js'
import { exposeServers } from '../../../workflows-lib/src/steps/expose-servers.js'
import { getSettings } from './input-helper.js'

export async function run(): Promise<void> {
  await runAction('expose-servers', async () => {
    const settings = getSettings()
    // Joins the root composite's lock when it holds it (same holder), else takes its own.
    await withLockedCluster(settings, async ({ env, kubectl }) => {
      const r = await exposeServers({ kubectl, env, statefulSet: settings.statefulSet, timeoutMs: settings.timeoutMs })
      core.setOutput('addresses', JSON.stringify(r.addresses))
      core.setOutput('servers', r.serverLines.join('\n'))
      core.setOutput('services', JSON.stringify(r.services.map(s => s.name)))
      core.setOutput('changed', r.outcome.changed.length + r.outcome.deleted.length > 0)
      await writeSummary(
        `expose-servers: ${env.name}`,
        ['ordinal', 'Service', env.expose.addressKind === 'ip' ? 'IP' : 'hostname', 'zoo.cfg line'],
        r.services.map((s, i) => [s.ordinal, s.name, s.address, r.serverLines[i]])
      )
    })
  })
}
