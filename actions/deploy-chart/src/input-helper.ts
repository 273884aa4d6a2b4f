import { LOCK_WAIT_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import {
  durationInput,
  getKubeSettings,
  integerInput,
  InputError,
  optionalInput,
  requiredInput,
  secretInput,
  type KubeSettings
} from '../../../workflows-lib/src/runner/index.js'
import type { SshCredentials } from '../../../workflows-lib/src/ssh/index.js'

export interface DeployChartSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
  /** Roll back to this revision instead of deploying. */
  rollbackTo?: number
  /** How long to wait for the rollout lock; undefined: the library's default. */
  lockTimeoutMs?: number
  /** For the observers between the steps of a scale; undefined unless both inputs are given. */
  credentials?: SshCredentials
}

export function getSettings(): DeployChartSettings {
  return {
    environment: requiredInput('environment'),
    kube: getKubeSettings(),
    rollbackTo: integerInput('rollback-to', { min: 1, max: 1_000_000 }),
    lockTimeoutMs: durationInput('lock-timeout', LOCK_WAIT_DURATION),
    credentials: sshCredentials()
  }
}

function sshCredentials(): SshCredentials | undefined {
  const privateKey = secretInput('ssh-private-key', { required: false })
  const knownHosts = optionalInput('known-hosts')
  if ((privateKey === undefined) !== (knownHosts === undefined))
    throw new InputError(privateKey === undefined ? 'ssh-private-key' : 'known-hosts', 'is required with the other SSH input')
  return privateKey !== undefined && knownHosts !== undefined ? { privateKey, knownHosts } : undefined
}
