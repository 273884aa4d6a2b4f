// Runs an action's built dist/index.js the way a GitHub runner does: inputs as INPUT_* env
// vars, outputs and the step summary through the files named by GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { repoRoot } from './environments.js'
import { ownerEnv } from './processes.js'
import { recordOutput, watchDirectory } from './secret-hygiene.js'

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** Its RUNNER_TEMP (which a real runner empties at the end of the job). */
  runnerTemp: string
  /** The signal that ended it, when one did. */
  signal?: NodeJS.Signals
}

/** Parses the GITHUB_OUTPUT file format (name=value lines and name<<DELIMITER blocks). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1)
      if (end < 0) throw new Error(`unterminated output ${heredoc[1]}`)
      outputs[heredoc[1]] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return outputs
}

export async function runActionDist(
  action: string,
  inputs: Record<string, string>,
  opts: {
    env?: Record<string, string>
    cwd?: string
    timeoutMs?: number
    /** A bundle other than actions/<action>/dist/index.js (one a test built itself). */
    entry?: string
    /** Run it as its own process group (a runner's job), so a test can kill the group. */
    detached?: boolean
    /** Options for node before the bundle, e.g. ['-r', preload] (the benchmarks' memory probe). */
    nodeArgs?: string[]
    /** Called once the process runs, e.g. to kill it at a chosen moment. */
    onStart?: (child: ChildProcess) => void
  } = {}
): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `zk-action-${action}-`))
  const outputFile = path.join(dir, 'output')
  const summaryFile = path.join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.cwd ?? repoRoot,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: dir,
    ...ownerEnv(),
    ...opts.env
  }
  // The runner upper-cases names and keeps dashes: input "known-hosts" -> INPUT_KNOWN-HOSTS.
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  const entry = opts.entry ?? path.join(repoRoot, 'actions', action, 'dist', 'index.js')
  return new Promise(resolve => {
    // spawn, not execFile: execFile does not pass `detached` on, and a detached run is its own group.
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), entry], { env, cwd: opts.cwd ?? repoRoot, detached: opts.detached ?? false })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 300_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      recordOutput(`${action} stdout`, stdout)
      recordOutput(`${action} stderr`, stderr)
      watchDirectory(dir) // its outputs file, step summary and RUNNER_TEMP
      resolve({
        exitCode: code ?? 1,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
        runnerTemp: dir,
        ...(signal ? { signal } : {})
      })
    })
    opts.onStart?.(child)
  })
}
