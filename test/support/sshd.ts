// Real OpenSSH servers standing in for observer VMs. Each listens on its own loopback address
// with its own host key and authorized_keys (never /etc/ssh), and runs in its own mount
// namespace where the VM's private root directory is bind-mounted at a path shared by all VMs:
// so `observers.directory`, one path in the environment, is a different directory on each
// "VM", as on real machines.
//
// Sessions get the compose shim first in PATH (sshd_config SetEnv, which OpenSSH 9.2 applies
// after its own PATH) and their own HOME: the machine's root ~/.bashrc (sourced by bash for
// ssh commands) runs pyenv init, ~200 ms per session, which real observer VMs do not have.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import * as path from 'node:path'
import { COMPOSE_SHIM_DIR } from './compose-shim/shim.js'
import { registerSecret, watchDirectory } from './secret-hygiene.js'
import { logTail, ownerEnv, spawnTracked, stopTracked, type TrackedProcess } from './processes.js'

export interface KeyPair {
  privateKeyFile: string
  privateKey: string
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string
}

/** A new ed25519 key pair in dir/name (no passphrase). */
export function generateKey(dir: string, name: string): KeyPair {
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file])
  const privateKey = readFileSync(file, 'utf8')
  registerSecret(`SSH private key ${name}`, privateKey, [file])
  return { privateKeyFile: file, privateKey, publicKey: readFileSync(`${file}.pub`, 'utf8').trim() }
}

/** SHA256:... of a public key line, as ssh prints it. */
export function fingerprint(publicKey: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: `${publicKey}\n`, encoding: 'utf8' })
  return out.split(' ')[1]
}

/** The known_hosts line for a host key served at address:port. */
export function knownHostsLine(address: string, port: number, publicKey: string): string {
  const [type, key] = publicKey.split(' ')
  return `${port === 22 ? address : `[${address}]:${port}`} ${type} ${key}`
}

export interface Sshd {
  readonly name: string
  readonly address: string
  readonly port: number
  readonly dir: string
  readonly hostKey: KeyPair
  /** This VM's known_hosts line. */
  readonly knownHosts: string
  /** Backing directory of the VM's private root (bind-mounted at `rootMount` inside the VM). */
  readonly root: string
  /** The shim's state directory (ZK_SHIM_STATE): its containers' pidfiles and logs. */
  readonly shimState: string
  readonly process: TrackedProcess
  stop(): Promise<void>
}

export interface StartSshdOptions {
  name: string
  address: string
  /** 22 unless taken on that address (see sshPortFor). */
  port: number
  /** Holds sshd_config, host key, authorized_keys, log, home, root and shim state. */
  dir: string
  authorizedKeys: string[]
  /** Where this VM's private root appears inside its mount namespace; omit for no namespace (a bastion). */
  rootMount?: string
  /** Extra variables for every session, e.g. ZK_SHIM_COMPOSE_V1_ONLY. */
  sessionEnv?: Record<string, string>
}

/** Starts sshd -D -e on address:port and resolves once it sends its SSH banner. */
export async function startSshd(opts: StartSshdOptions): Promise<Sshd> {
  // sshd's privilege separation, mount namespaces and logins as the test user all need it.
  if (process.getuid?.() !== 0) throw new Error('test VMs (sshd, mount namespaces) need root: run the integration tests as root, e.g. with sudo')
  const dir = opts.dir
  const home = path.join(dir, 'home')
  const root = path.join(dir, 'root')
  const shimState = path.join(dir, 'docker')
  for (const d of [dir, home, root, shimState]) mkdirSync(d, { recursive: true })
  watchDirectory(dir) // sshd's log, the session's home, the files written to the "VM"
  // sshd's privilege separation directory; it exists on any host with openssh-server.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const hostKey = generateKey(dir, 'ssh_host_ed25519_key')
  const authorizedKeys = path.join(dir, 'authorized_keys')
  writeFileSync(authorizedKeys, `${opts.authorizedKeys.join('\n')}\n`, { mode: 0o600 })
  const env = {
    PATH: `${COMPOSE_SHIM_DIR}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    ZK_SHIM_STATE: shimState,
    ...ownerEnv(), // sshd clears a session's environment; the reaper finds observers by this
    ...opts.sessionEnv
  }
  for (const [k, v] of Object.entries(env))
    if (!/^[A-Za-z0-9_./:=-]*$/.test(v)) throw new Error(`session variable ${k}=${v}: keep it free of spaces and quotes (sshd_config SetEnv)`)
  const config = path.join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `ListenAddress ${opts.address}:${opts.port}`,
      `HostKey ${hostKey.privateKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes', // a bastion forwards with -W
      'X11Forwarding no',
      'PrintMotd no',
      'UseDNS no',
      'LogLevel VERBOSE',
      // As Debian's sshd_config: scp (SFTP protocol since OpenSSH 9) and ansible's copy use it.
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      `SetEnv ${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      ''
    ].join('\n')
  )
  execFileSync('/usr/sbin/sshd', ['-t', '-f', config])
  const logFile = path.join(dir, 'sshd.log')
  const sshd = ['/usr/sbin/sshd', '-D', '-e', '-f', config]
  const proc = opts.rootMount
    ? await spawnTracked(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          'mkdir -p "$1" && mount --bind "$2" "$1" && shift 2 && exec "$@"',
          'vm',
          opts.rootMount,
          root,
          ...sshd
        ],
        { logFile, name: `sshd-${opts.name}` }
      )
    : await spawnTracked(sshd[0], sshd.slice(1), { logFile, name: `sshd-${opts.name}` })
  try {
    await waitForBanner(proc, opts.address, opts.port)
  } catch (error) {
    await stopTracked(proc)
    throw error
  }
  return {
    name: opts.name,
    address: opts.address,
    port: opts.port,
    dir,
    hostKey,
    knownHosts: knownHostsLine(opts.address, opts.port, hostKey.publicKey),
    root,
    shimState,
    process: proc,
    stop: () => stopTracked(proc)
  }
}

/** 22 when every address has it free, else the first free port from 10022 up. */
export async function sshPortFor(addresses: readonly string[]): Promise<number> {
  for (const port of [22, ...Array.from({ length: 50 }, (_, i) => 10022 + i)]) {
    const free = await Promise.all(addresses.map(a => canBind(a, port)))
    if (free.every(Boolean)) return port
  }
  throw new Error(`no common free SSH port on ${addresses.join(', ')}`)
}

function canBind(address: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

async function waitForBanner(proc: TrackedProcess, address: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const exit = proc.exitStatus()
    if (exit) throw new Error(`${proc.name} exited (code ${exit.code}) before listening on ${address}:${port}:\n${logTail(proc)}`)
    const banner = await new Promise<string>(resolve => {
      const socket = connect({ host: address, port })
      socket.setTimeout(1000)
      socket.once('data', data => {
        socket.destroy()
        resolve(data.toString('utf8'))
      })
      socket.once('timeout', () => {
        socket.destroy()
        resolve('')
      })
      socket.once('error', () => resolve(''))
    })
    if (banner.startsWith('SSH-2.0-')) return
    if (Date.now() > deadline) throw new Error(`${proc.name} did not answer on ${address}:${port} within 10 s:\n${logTail(proc)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
