// Runs kubectl and helm through @actions/exec and turns failures into errors that say which
// command failed and what it printed.
import * as log from '../output/log.js'
import { getExecOutput } from '@actions/exec'

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
}

/** `shown` is how the command appears in logs and errors: never a secret or a kubeconfig path. */
export async function runCommand(tool: string, args: string[], shown: string, opts: RunOptions = {}): Promise<CommandResult> {
  log.debug(`running: ${shown}`)
  const result = await getExecOutput(tool, args, {
    silent: true,
    ignoreReturnCode: true,
    ...(opts.input !== undefined ? { input: Buffer.from(opts.input) } : {})
  })
  if (result.exitCode !== 0 && !(opts.allowExitCodes ?? []).includes(result.exitCode)) throw new CommandError(shown, result)
  return result
}
