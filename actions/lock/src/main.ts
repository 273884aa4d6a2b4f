import * as core from '@actions/core'
import { loadActionEnvironment, runAction, withKubeClients } from '../../../workflows-lib/src/runner/index.js'
import { randomUUID } from 'node:crypto'
import { acquireEnvironmentLock, HOLDER_ENV, holderIdentity, leaseName, releaseLease } from '../../../workflows-lib/src/lock/index.js'
import { getSettings } from './input-helper.js'

/**
 * The lease this step leaves held. Renewal stops when this step's process exits, so it must
 * outlast the gap until the next step joins and renews it; 60 s does, and a dead run still frees
 * the environment a minute after its last renewal.
 */
const HANDOVER_LEASE_SECONDS = 60

export async function run(): Promise<void> {
  await runAction('lock', async () => {
    const settings = getSettings()
    const env = await loadActionEnvironment(settings.environment)
    // A fresh acquire gets a holder of its own: every leg of a matrix job shares run, attempt and
    // job, and two legs must never join each other's lock. Later steps pass the `holder` output back.
    const holder = settings.mode === 'acquire' && !process.env[HOLDER_ENV] ? `${holderIdentity()} #${randomUUID().slice(0, 8)}` : holderIdentity()
    await withKubeClients(settings.kube, async ({ kubectl }) => {
      if (settings.mode === 'acquire') {
        const lock = await acquireEnvironmentLock(env, kubectl, {
          holder,
          leaseDurationSeconds: HANDOVER_LEASE_SECONDS,
          waitTimeoutMs: settings.lockTimeoutMs
        })
        await lock.stopRenewing()
      } else {
        await releaseLease({ kubectl, namespace: env.kubernetes.namespace, name: leaseName(env.kubernetes.release), holder })
      }
      core.setOutput('holder', holder)
    })
  })
}
