// The private OpenSSH client configuration every connection uses. It lives with the key and the
// known_hosts file in a SecretFiles directory (0700, files 0600), and is passed with -F so no
// user or system ssh_config takes part. The jump host connection (ssh -W) reads the same file,
// so the jump host gets exactly the same host-key and authentication rules.
import type { SecretFiles } from '../runner/secret-file.js'

export interface SshCredentials {
  /** Private key in OpenSSH or PEM format. */
  privateKey: string
  /** known_hosts lines for every observer VM and the jump host. */
  knownHosts: string
}

export interface SshClientConfig {
  configFile: string
  knownHostsFile: string
  /** Where per-host ControlMaster sockets go (the private directory). */
  controlDirectory: string
}

// ssh expands '%' and '~' in file options, ssh_config splits on spaces and quotes, and the jump
// host's ProxyCommand (which names the -F file) goes through a shell: plain paths only.
const PLAIN_PATH = /^\/[A-Za-z0-9._/-]+$/
// sun_path holds 108 bytes; ssh adds ".<16 random chars>" while it creates the socket.
const MAX_CONTROL_PATH = 108 - 18

export const CONTROL_SOCKET_NAME_LENGTH = 4

export function writeSshClientConfig(files: SecretFiles, credentials: SshCredentials): SshClientConfig {
  const dir = files.directory
  if (!PLAIN_PATH.test(dir)) throw new Error(`the temporary directory ${dir} holds characters ssh would interpret: set RUNNER_TEMP to a plain path`)
  if (dir.length + 1 + CONTROL_SOCKET_NAME_LENGTH > MAX_CONTROL_PATH)
    throw new Error(`the temporary directory ${dir} is too long for an ssh control socket: set RUNNER_TEMP to a shorter path`)
  const key = files.write('id_observers', normalizeKey(credentials.privateKey))
  const knownHostsFile = files.write('known_hosts', checkKnownHosts(credentials.knownHosts))
  const configFile = files.write(
    'ssh_config',
    [
      'Host *',
      // Never prompt, never fall back to passwords or an agent: the given key or nothing.
      '  BatchMode yes',
      '  IdentitiesOnly yes',
      `  IdentityFile ${key}`,
      '  IdentityAgent none',
      '  PasswordAuthentication no',
      '  KbdInteractiveAuthentication no',
      // Host keys: only the known-hosts input counts, unknown or changed keys are refused, and
      // nothing is ever added to it.
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile ${knownHostsFile}`,
      '  GlobalKnownHostsFile /dev/null',
      '  UpdateHostKeys no',
      '  CheckHostIP no',
      '  ConnectTimeout 15',
      // A VM that vanishes mid-deploy is noticed within a minute instead of hanging the job.
      '  ServerAliveInterval 15',
      '  ServerAliveCountMax 4',
      '  ForwardAgent no',
      '  ForwardX11 no',
      '  ClearAllForwardings yes',
      '  RequestTTY no',
      '  LogLevel ERROR',
      ''
    ].join('\n')
  )
  return { configFile, knownHostsFile, controlDirectory: dir }
}

// Keys pasted through a browser often gain CRLF line ends, which OpenSSH rejects as
// "invalid format".
function normalizeKey(key: string): string {
  const text = key.replace(/\r\n/g, '\n').trim()
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n/.test(text))
    throw new Error('input "ssh-private-key" is not a private key (expected a "-----BEGIN ... PRIVATE KEY-----" block)')
  return `${text}\n`
}

function checkKnownHosts(text: string): string {
  const lines = text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map(l => l.trim())
  const entries = lines.filter(l => l !== '' && !l.startsWith('#'))
  if (entries.length === 0)
    throw new Error('input "known-hosts" has no entries: add the observer VMs\' host keys (ssh-keyscan -p PORT HOST, checked out-of-band)')
  entries.forEach((line, i) => {
    // [marker] hostnames keytype base64-key [comment]
    const fields = line.split(/\s+/)
    const offset = fields[0].startsWith('@') ? 1 : 0
    if (fields.length < offset + 3 || !/^[A-Za-z0-9+/]+=*$/.test(fields[offset + 2]))
      throw new Error(`input "known-hosts" entry ${i + 1} is not a known_hosts line ("host keytype key"): ${line.slice(0, 60)}`)
  })
  return `${lines.join('\n').trim()}\n`
}
