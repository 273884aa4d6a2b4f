// Reads and checks every input before anything connects anywhere.
import type { HealMode } from '../../../workflows-lib/src/drift/index.js'
import {
  booleanInput,
  getKubeSettings,
  InputError,
  jumpHostInput,
  optionalInput,
  requiredInput,
  secretInput,
  type KubeSettings
} from '../../../workflows-lib/src/runner/index.js'
import type { JumpHostOverride } from '../../../workflows-lib/src/observers/connections.js'
import type { SshCredentials } from '../../../workflows-lib/src/ssh/client-config.js'

export interface DetectDriftSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
  /** Undefined unless both key and known_hosts are given: the observers are then unchecked. */
  credentials?: SshCredentials
  jumpHost?: JumpHostOverride
  heal: HealMode
  githubToken?: string
  failOnDrift: boolean
}

export function getSettings(): DetectDriftSettings {
  const privateKey = secretInput('ssh-private-key', { required: false })
  const knownHosts = optionalInput('known-hosts')
  if ((privateKey === undefined) !== (knownHosts === undefined))
    throw new InputError(privateKey === undefined ? 'ssh-private-key' : 'known-hosts', 'is required with the other (host keys are always verified)')
  const heal = optionalInput('heal') ?? 'none'
  if (heal !== 'none' && heal !== 'observers') throw new InputError('heal', 'must be none or observers')
  return {
    environment: requiredInput('environment'),
    kube: getKubeSettings(),
    credentials: privateKey !== undefined && knownHosts !== undefined ? { privateKey, knownHosts } : undefined,
    jumpHost: jumpHostInput('jump-host'),
    heal,
    githubToken: secretInput('github-token', { required: false }),
    failOnDrift: booleanInput('fail-on-drift', false)
  }
}
