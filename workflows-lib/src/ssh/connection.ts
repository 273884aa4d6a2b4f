// One SSH connection per host, shared by every command sent to it: the first command opens an
// OpenSSH ControlMaster whose socket lives in the private SecretFiles directory, later commands
// ride on it (no new handshake), and close() ends it. The system ssh client is used so
// known_hosts, jump hosts and key handling are OpenSSH's own.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { CONTROL_SOCKET_NAME_LENGTH, type SshClientConfig } from './client-config.js'
import { describeSshFailure } from './failures.js'
import { shellQuote } from './quote.js'
import { formatEndpoint, type SshEndpoint, type SshTarget } from './target.js'
import { checkDelay, setSafeTimeout } from '../util/timer.js'

export interface SshRunResult {
  /** The remote command's exit status. */
  code: number
  stdout: string
  stderr: string
}

export interface SshRunOptions {
  /** Called with each line the remote command (or ssh) writes to stderr, as it arrives. */
  onStderrLine?: (line: string) => void
  /** The session is killed after this long. */
  timeoutMs: number
}

// The master stays up this long after its last session, so a host waiting for its turn in a
// rolling restart usually keeps its connection; if it does time out, the next command simply
// opens a new one (host key checked again).
const CONTROL_PERSIST_SECONDS = 120
// The remote shell reads its program from stdin; the command line itself is a constant, so the
// login shell on the VM (whatever it is) never parses a value of ours.
const REMOTE_COMMAND = 'sh -s'
const SSH_FAILED = 255

export class SshConnection {
  private readonly controlPath: string
  private readonly jumpLog: string

  constructor(
    private readonly config: SshClientConfig,
    readonly target: SshTarget,
    slot: number
  ) {
    const name = `c${slot.toString(36).padStart(CONTROL_SOCKET_NAME_LENGTH - 1, '0')}`
    if (name.length !== CONTROL_SOCKET_NAME_LENGTH) throw new Error(`too many SSH connections (${slot + 1})`)
    this.controlPath = path.join(config.controlDirectory, name)
    this.jumpLog = path.join(config.controlDirectory, `${name}.jump.log`)
  }

  get description(): string {
    return `${formatEndpoint(this.target)}${this.target.jumpHost ? ` via ${formatEndpoint(this.target.jumpHost)}` : ''}`
  }

  /**
   * Runs `sh -s` on the host with `program` on its stdin. Resolves with the remote exit status
   * and output; rejects with an SshError when ssh itself fails (cannot connect, host key
   * refused, connection lost), or when the session outlives timeoutMs.
   */
  async run(program: string, opts: SshRunOptions): Promise<SshRunResult> {
    const { jumpHost } = this.target
    const args = [
      ...this.baseArgs(),
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
      '-p',
      String(this.target.port),
      '-l',
      this.target.user,
      ...(jumpHost ? ['-o', `ProxyCommand=${this.proxyCommand(jumpHost)}`] : []),
      '--',
      this.target.host,
      REMOTE_COMMAND
    ]
    if (jumpHost) writeFileSync(this.jumpLog, '')
    const result = await runSsh(args, program, opts)
    if (result.timedOut)
      throw new Error(`${this.description}: the remote command did not finish within ${Math.round(opts.timeoutMs / 1000)} s and was stopped`)
    if (result.code === SSH_FAILED) {
      const jumpErrors = jumpHost ? readFileSync(this.jumpLog, 'utf8') : ''
      throw await describeSshFailure(`${jumpErrors}\n${result.stderr}`, this.target, jumpHost)
    }
    if (result.code === null) throw new Error(`${this.description}: ssh was killed by ${result.signal}`)
    return { code: result.code, stdout: result.stdout, stderr: result.stderr }
  }

  /** Ends the shared connection, if one is open. */
  async close(): Promise<void> {
    await runSsh([...this.baseArgs(), '-O', 'exit', '--', this.target.host], '', { timeoutMs: 10_000 })
  }

  // What ProxyJump does (`ssh -W` through the jump host, with the same -F config, so the same
  // host-key rules), written out because of one difference: ssh sends a ProxyJump process's
  // stderr to /dev/null when ControlPersist is on, which would hide why the jump host was
  // refused. Here it goes to a log file that a failure message reads.
  private proxyCommand(jump: SshEndpoint): string {
    const words = [this.config.configFile, jump.user, jump.host, this.jumpLog]
    // ssh expands %-tokens in ProxyCommand before /bin/sh parses it.
    if (words.some(w => w.includes('%')))
      throw new Error(`jump host ${formatEndpoint(jump)}: "%" is not allowed in its user, host or the temporary directory`)
    return [
      // ssh itself prepends "exec".
      'ssh -F',
      shellQuote(this.config.configFile),
      '-l',
      shellQuote(jump.user),
      '-p',
      String(jump.port),
      "-W '[%h]:%p' --",
      shellQuote(jump.host),
      `2>>${shellQuote(this.jumpLog)}`
    ].join(' ')
  }

  private baseArgs(): string[] {
    return ['-F', this.config.configFile, '-o', `ControlPath=${this.controlPath}`]
  }
}

interface RawResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

function runSsh(args: string[], input: string, opts: SshRunOptions): Promise<RawResult> {
  // Refused before ssh starts, so no child outlives a delay the timer cannot hold.
  checkDelay(opts.timeoutMs, 'ssh session timeout')
  return new Promise((resolve, reject) => {
    // ssh runs ProxyCommand with $SHELL: make that POSIX sh, whose quoting shellQuote targets.
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' } })
    const stdout: Buffer[] = []
    let stderr = ''
    let partial = ''
    let timedOut = false
    const timer = setSafeTimeout(
      () => {
        timedOut = true
        child.kill('SIGTERM')
      },
      opts.timeoutMs,
      'ssh session timeout'
    )
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk
      partial += chunk
      const lines = partial.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) opts.onStderrLine?.(line.replace(/\r$/, ''))
    })
    child.on('error', error => {
      clearTimeout(timer)
      reject(new Error(`could not run ssh: ${error.message}; the OpenSSH client must be installed on the runner`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (partial) opts.onStderrLine?.(partial)
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr, timedOut })
    })
    // A host that fails before reading all of stdin closes the pipe: that is reported through
    // the exit status, not as a write error.
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}
