// Turns what ssh prints when it cannot connect into an error that says what failed and what to
// do. For host-key failures that means the key the host offered and how to pin it.
import { execFile } from 'node:child_process'
import { formatEndpoint, type SshEndpoint } from './target.js'

export type SshFailureKind = 'unknown-host-key' | 'changed-host-key' | 'refused' | 'unreachable' | 'timeout' | 'auth' | 'dns' | 'other'

export class SshError extends Error {
  constructor(
    readonly kind: SshFailureKind,
    message: string
  ) {
    super(message)
    this.name = 'SshError'
  }
}

export interface OfferedKey {
  /** e.g. ED25519 */
  type: string
  /** SHA256:... */
  fingerprint: string
}

export interface SshFailure {
  kind: SshFailureKind
  /** The host ssh named (the jump host or the target), as host or [host]:port. */
  where?: string
  /** The key type ssh negotiated, e.g. ED25519 (host-key failures). */
  keyType?: string
  /** Present when ssh printed it (a changed key). */
  offered?: OfferedKey
  /** ssh's own last lines, for the message. */
  detail: string
}

/** Reads ssh's stderr after exit status 255. */
export function classifySshFailure(stderr: string): SshFailure {
  const text = stderr.replace(/\r/g, '')
  const detail = text
    .split('\n')
    .map(l => l.trim())
    .filter(
      l =>
        l &&
        !l.startsWith('@@@') &&
        !/^(IT IS POSSIBLE|Someone could be|It is also possible|Please contact|Add correct host key|Offending|Host key verification failed)/.test(l)
    )
    .slice(-3)
    .join(' ')
  let m = /No (\S+) host key is known for (\S+) and you have requested strict checking/.exec(text)
  if (m) return { kind: 'unknown-host-key', keyType: m[1], where: m[2], detail }
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
    const offered = /The fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/=]+)/.exec(text)
    m = /Host key for (\S+) has changed/.exec(text)
    return {
      kind: 'changed-host-key',
      where: m?.[1],
      keyType: offered?.[1],
      offered: offered ? { type: offered[1], fingerprint: offered[2] } : undefined,
      detail
    }
  }
  if (/Host key verification failed/.test(text)) return { kind: 'unknown-host-key', detail }
  if (/Connection refused/.test(text)) return { kind: 'refused', detail }
  if (/Connection timed out|Operation timed out/.test(text)) return { kind: 'timeout', detail }
  if (/No route to host|Network is unreachable/.test(text)) return { kind: 'unreachable', detail }
  if (/Permission denied \(|Too many authentication failures/.test(text)) return { kind: 'auth', detail }
  if (/Could not resolve hostname/.test(text)) return { kind: 'dns', detail }
  return { kind: 'other', detail }
}

/** Fingerprints of the keys a host offers now, of one type, or [] when it cannot be asked. */
export async function scanHostKeys(host: string, port: number, type?: string, timeoutSeconds = 5): Promise<OfferedKey[]> {
  const args = ['-T', String(timeoutSeconds), '-p', String(port), ...(type ? ['-t', type.toLowerCase()] : []), '--', host]
  const scanned = await run('ssh-keyscan', args)
  if (!scanned.trim()) return []
  const listed = await run('ssh-keygen', ['-l', '-f', '-'], scanned)
  // "256 SHA256:abc... 127.0.0.31 (ED25519)"
  return listed
    .split('\n')
    .map(line => /^\d+ (SHA256:\S+) .* \((\S+)\)$/.exec(line.trim()))
    .flatMap(m => (m ? [{ fingerprint: m[1], type: m[2] }] : []))
}

/**
 * The error for a failed connection to `target` (through `jump`, if any). Host-key failures
 * show the offered key; for an unknown key it is fetched with ssh-keyscan, in this error path
 * only, and only when the host is directly reachable (the jump host or a target without one).
 */
export async function describeSshFailure(stderr: string, target: SshEndpoint, jump?: SshEndpoint): Promise<SshError> {
  const failure = classifySshFailure(stderr)
  const who = `${formatEndpoint(target)}${jump ? ` (through jump host ${formatEndpoint(jump)})` : ''}`
  const failingHost = failure.where === undefined ? (jump ?? target) : endpointNamed(failure.where, target, jump)
  const pin = (e: SshEndpoint, type?: string): string => `ssh-keyscan -p ${e.port}${type ? ` -t ${type.toLowerCase()}` : ''} ${e.host}`
  const checkOutOfBand = (type?: string): string =>
    `compare it out-of-band with the VM's own key (on its console: ssh-keygen -lf /etc/ssh/ssh_host_${type ? type.toLowerCase() : '*'}_key.pub)`

  switch (failure.kind) {
    case 'unknown-host-key': {
      // Only a host the runner reaches directly can be scanned: the jump host, or a target without one.
      const reachable = failingHost !== undefined && (jump === undefined || failingHost === jump)
      const offered = reachable ? await scanHostKeys(failingHost.host, failingHost.port, failure.keyType).catch(() => []) : []
      const name = failingHost ? formatEndpoint(failingHost) : (failure.where ?? who)
      const offer =
        offered.length > 0
          ? `it offers ${offered.map(k => `${k.type} key ${k.fingerprint}`).join(', ')}`
          : failingHost === target && jump !== undefined
            ? 'it is behind the jump host, so its key cannot be fetched from the runner: run the ssh-keyscan below on the jump host'
            : 'its key could not be fetched with ssh-keyscan'
      return new SshError(
        'unknown-host-key',
        `${who}: host key verification failed: the known-hosts input has no ${failure.keyType ?? ''}${failure.keyType ? ' ' : ''}key for ${name}; ${offer}. ` +
          `Nothing was sent to it. To pin it: run \`${failingHost ? pin(failingHost, failure.keyType) : 'ssh-keyscan -p PORT HOST'}\`, ${checkOutOfBand(failure.keyType)}, and add the line to the known-hosts secret.`
      )
    }
    case 'changed-host-key': {
      const name = failingHost ? formatEndpoint(failingHost) : (failure.where ?? who)
      const offer = failure.offered ? `it offered ${failure.offered.type} key ${failure.offered.fingerprint}, which` : 'its key'
      return new SshError(
        'changed-host-key',
        `${who}: host key verification failed: ${offer} differs from the key pinned for ${name} in the known-hosts input. ` +
          'Either the VM was rebuilt or someone is intercepting the connection; nothing was sent to it. ' +
          `If the VM was rebuilt, ${checkOutOfBand(failure.keyType)}, then replace its line in the known-hosts secret with the output of \`${failingHost ? pin(failingHost, failure.keyType) : 'ssh-keyscan -p PORT HOST'}\`.`
      )
    }
    case 'refused':
      return new SshError(
        'refused',
        `${who}: connection refused: nothing listens on the SSH port; check that sshd runs and observers.ssh.port is right (${failure.detail})`
      )
    case 'timeout':
      return new SshError('timeout', `${who}: connection timed out: the VM is down or a firewall drops SSH from the runner (${failure.detail})`)
    case 'unreachable':
      return new SshError('unreachable', `${who}: no route to the VM from the runner; check the address and the network path (${failure.detail})`)
    case 'auth':
      return new SshError(
        'auth',
        `${who}: the ssh-private-key is not accepted for user "${target.user}": add its public key to that user's ~/.ssh/authorized_keys on the VM (${failure.detail})`
      )
    case 'dns':
      return new SshError('dns', `${who}: the host name does not resolve from the runner (${failure.detail})`)
    default:
      return new SshError('other', `${who}: ssh failed: ${failure.detail || 'no message (exit status 255)'}`)
  }
}

function endpointNamed(where: string, target: SshEndpoint, jump?: SshEndpoint): SshEndpoint | undefined {
  const m = /^\[(.+)\]:(\d+)$/.exec(where)
  const host = m ? m[1] : where
  const port = m ? Number(m[2]) : 22
  for (const e of [jump, target]) if (e && e.host.toLowerCase() === host.toLowerCase() && e.port === port) return e
  return undefined
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (error, stdout) => (error && !stdout ? reject(error) : resolve(stdout)))
    if (input !== undefined) child.stdin?.end(input)
  })
}
