// Reads and checks every input before anything connects anywhere.
import {
  booleanInput,
  durationInput,
  InputError,
  integerInput,
  jumpHostInput,
  optionalInput,
  requiredInput,
  secretInput,
  stringListInput
} from '../../../workflows-lib/src/runner/inputs.js'
import { getKubeSettings, type KubeSettings } from '../../../workflows-lib/src/runner/kube-clients.js'
import type { SshCredentials } from '../../../workflows-lib/src/ssh/client-config.js'
import type { JumpHostOverride } from '../../../workflows-lib/src/steps/deploy-observers.js'

export interface DeployObserversSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  servers: string[]
  /** Undefined unless both key and known_hosts are given; only an environment with observers needs them. */
  credentials?: SshCredentials
  /** Which of the two was given, to say which is missing. */
  sshInputs: { key: boolean; knownHosts: boolean }
  jumpHost?: JumpHostOverride
  /** Undefined: the library's default (DEFAULT_CONCURRENCY, 8). */
  concurrency?: number
  /** Undefined: the library's default (1). */
  maxUnavailable?: number
  /** Cluster credentials, only to join the root action's rollout lock while deploying. */
  kube: KubeSettings
  /** Undefined: the environment's timeouts.observerJoin. */
  joinTimeoutMs?: number
  dryRun: boolean
}

export function getSettings(): DeployObserversSettings {
  const privateKey = secretInput('ssh-private-key', { required: false })
  const knownHosts = optionalInput('known-hosts')
  const servers = stringListInput('servers')
  if (!servers || servers.length === 0) throw new InputError('servers', 'is required: the server addresses in ordinal order')
  return {
    environment: requiredInput('environment'),
    servers,
    credentials: privateKey !== undefined && knownHosts !== undefined ? { privateKey, knownHosts } : undefined,
    sshInputs: { key: privateKey !== undefined, knownHosts: knownHosts !== undefined },
    jumpHost: jumpHostInput('jump-host'),
    concurrency: integerInput('concurrency', { min: 1, max: 64 }),
    maxUnavailable: integerInput('max-unavailable', { min: 1, max: 1000 }),
    joinTimeoutMs: durationInput('join-timeout'),
    kube: getKubeSettings(),
    dryRun: booleanInput('dry-run', false)
  }
}
