// One SshConnection per observer host, in the environment's order, through the jump host the
// action was given or the environment's: shared by deploy-observers and drift detection.
import type { Observers } from '../environment/types.js'
import type { SshClientConfig } from '../ssh/client-config.js'
import { SshConnection } from '../ssh/connection.js'
import type { SshEndpoint } from '../ssh/target.js'

/**
 * Hosts compared and uploaded to at once unless told otherwise. bench/RESULTS.md: on loopback the
 * SSH handshakes are CPU-bound, so 4 and 20 tie at 20 VMs, while 5 and 10 VMs ran 1.2-1.6x faster
 * with one connection per host; over a real network each host waits ~14 round trips, which only
 * concurrency hides. 8, not more: through a bastion every host is a handshake with it, and sshd's
 * default MaxStartups (10:30:100) starts dropping unauthenticated connections at 10. Restarts stay
 * one at a time (max-unavailable).
 */
export const DEFAULT_CONCURRENCY = 8

/** A jump host given to the action; a missing user is the environment's jump host user, else observers.ssh.user. */
export interface JumpHostOverride {
  host: string
  port: number
  user?: string
}

export function observerConnections(observers: Observers, config: SshClientConfig, override?: JumpHostOverride): SshConnection[] {
  const jumpHost: SshEndpoint | undefined = override
    ? { host: override.host, port: override.port, user: override.user ?? observers.ssh.jumpHost?.user ?? observers.ssh.user }
    : observers.ssh.jumpHost
  return observers.hosts.map(
    (host, i) => new SshConnection(config, { host: host.host, port: observers.ssh.port, user: observers.ssh.user, jumpHost }, i)
  )
}
