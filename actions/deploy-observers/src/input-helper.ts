// Reads and checks every input before anything connects anywhere.
import { parseDuration } from '../../../workflows-lib/src/environment/duration.js'
import { isHostOrIp, isUserName } from '../../../workflows-lib/src/environment/rules.js'
import {
  booleanInput,
  InputError,
  integerInput,
  optionalInput,
  requiredInput,
  secretInput,
  stringListInput
} from '../../../workflows-lib/src/action/inputs.js'
import type { SshCredentials } from '../../../workflows-lib/src/ssh/client-config.js'

export interface JumpHostInput {
  host: string
  /** Undefined: the environment's jump host user, else its observers.ssh.user. */
  user?: string
  port: number
}

export interface DeployObserversSettings {
  /** Environment directory. */
  environment: string
  servers: string[]
  credentials: SshCredentials
  jumpHost?: JumpHostInput
  concurrency: number
  maxUnavailable: number
  /** Undefined: the environment's timeouts.observerJoin. */
  joinTimeoutMs?: number
  dryRun: boolean
}

export function getInputs(): DeployObserversSettings {
  const privateKey = secretInput('ssh-private-key', { required: true }) as string
  const servers = stringListInput('servers')
  if (!servers || servers.length === 0) throw new InputError('servers', 'is required: the server addresses in ordinal order')
  const joinTimeout = optionalInput('join-timeout')
  return {
    environment: requiredInput('environment'),
    servers,
    credentials: { privateKey, knownHosts: requiredInput('known-hosts') },
    jumpHost: parseJumpHost(optionalInput('jump-host')),
    concurrency: integerInput('concurrency', 4, { min: 1, max: 64 }),
    maxUnavailable: integerInput('max-unavailable', 1, { min: 1, max: 1000 }),
    joinTimeoutMs: joinTimeout === undefined ? undefined : duration('join-timeout', joinTimeout),
    dryRun: booleanInput('dry-run', false)
  }
}

/** "[user@]host[:port]", IPv6 in brackets. */
export function parseJumpHost(value: string | undefined): JumpHostInput | undefined {
  if (value === undefined) return undefined
  const m = /^(?:([^@]+)@)?(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(value)
  const host = m?.[2] ?? m?.[3]
  if (!m || host === undefined || !isHostOrIp(host)) throw new InputError('jump-host', `"${value}" is not [user@]host[:port]`)
  const user = m[1]
  if (user !== undefined && !isUserName(user)) throw new InputError('jump-host', `"${user}" is not a valid login name`)
  const port = m[4] === undefined ? 22 : Number(m[4])
  if (port < 1 || port > 65535) throw new InputError('jump-host', `port ${m[4]} is out of range`)
  return { host, user, port }
}

function duration(name: string, value: string): number {
  try {
    return parseDuration(value)
  } catch (error) {
    throw new InputError(name, (error as Error).message)
  }
}
