// Runs kubectl and helm through @actions/exec and turns failures into errors that say which
// command failed and what it printed.
import * as log from '../output/log.js'
import { getExecOutput } from '@actions/exec'
import { execFile } from 'node:child_process'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n')
    super(`${command} failed (exit ${result.exitCode})${detail ? `:\n${detail}` : ''}`)
    this.name = 'CommandError'
  }
}

export interface RunOptions {
  input?: string
  /** Exit codes that are answers, not failures (e.g. 1 for "not found" checks). */
  allowExitCodes?: number[]
  /** Not retried on a transient error: for a request whose repetition would do harm (a pod deletion). */
  once?: boolean
  /**
   * Kill the command after this long. For what --request-timeout does not bound: an exec whose
   * protocol upgrade never completes (a proxy that drops it) waits forever otherwise.
   */
  timeoutMs?: number
}

/** `shown` is how the command appears in logs and errors: never a secret or a kubeconfig path. */
export async function runCommand(tool: string, args: string[], shown: string, opts: RunOptions = {}): Promise<CommandResult> {
  log.debug(`running: ${shown}`)
  const result =
    opts.timeoutMs === undefined
      ? await getExecOutput(tool, args, {
          silent: true,
          ignoreReturnCode: true,
          ...(opts.input !== undefined ? { input: Buffer.from(opts.input) } : {})
        })
      : await runWithTimeout(tool, args, opts.timeoutMs, opts.input)
  if (result.exitCode !== 0 && !(opts.allowExitCodes ?? []).includes(result.exitCode)) throw new CommandError(shown, result)
  return result
}

// @actions/exec cannot stop a command; child_process can. A timeout reads as exit code 124, like
// coreutils timeout(1), with a stderr that says so (not a transient error: it is not retried).
function runWithTimeout(tool: string, args: string[], timeoutMs: number, input?: string): Promise<CommandResult> {
  return new Promise(resolve => {
    const child = execFile(
      tool,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 << 20, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr })
        if (error.killed && error.signal === 'SIGKILL')
          return resolve({ exitCode: 124, stdout, stderr: `${stderr}no answer within ${timeoutMs / 1000} s: stopped\n` })
        resolve({ exitCode: typeof error.code === 'number' ? error.code : 1, stdout, stderr: stderr || error.message })
      }
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}
