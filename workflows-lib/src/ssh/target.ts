// Where an ssh connection goes: the environment's observers.ssh settings plus one host.
import type { SshEndpoint } from '../environment/types.js'

export type { SshEndpoint }

export interface SshTarget extends SshEndpoint {
  /** Bastion the connection goes through (ssh -W); its key must be in the same known_hosts. */
  jumpHost?: SshEndpoint
}

/** user@host:port, with IPv6 addresses in brackets, for messages. */
export function formatEndpoint(e: SshEndpoint): string {
  return `${e.user}@${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`
}
