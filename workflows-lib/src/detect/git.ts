// Git plumbing for change detection: argument vectors to execFile, never a shell string, and
// only commit ids checked by isCommitId (a payload is data: "--upload-pack=..." must never
// reach git as an option). Output is read NUL-separated, so any file name comes through as is.
import { execFile } from 'node:child_process'
import * as log from '../output/log.js'

export interface GitResult {
  exitCode: number
  stdout: string
  stderr: string
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly result: GitResult
  ) {
    super(`git ${args.join(' ')} failed (exit ${result.exitCode}): ${lastLine(result.stderr) || 'no message'}`)
    this.name = 'GitError'
  }
}

/** A full SHA-1 or SHA-256 commit id, as payloads carry them. */
export const isCommitId = (value: unknown): value is string => typeof value === 'string' && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(value)

/** All zeros: the "before" of a new branch, the "after" of a deleted one. */
export const isZeroId = (value: string): boolean => /^0+$/.test(value)

export const shortId = (id: string): string => id.slice(0, 7)

export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean)
  return lines[lines.length - 1] ?? ''
}

export class Git {
  constructor(
    readonly repository: string,
    private readonly timeoutMs = 600_000
  ) {}

  run(args: string[], opts: { allowExitCodes?: number[] } = {}): Promise<GitResult> {
    log.debug(`running: git ${args.join(' ')}`)
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['-C', this.repository, ...args],
        {
          timeout: this.timeoutMs,
          maxBuffer: 256 * 1024 * 1024,
          // Never wait for a password prompt; messages in English, as they are matched nowhere but read by people.
          env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }
        },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') {
            reject(new Error(`git ${args.join(' ')}: ${error.message}`))
            return
          }
          const result = { exitCode: error ? (error.code as number) : 0, stdout, stderr }
          if (result.exitCode !== 0 && !(opts.allowExitCodes ?? []).includes(result.exitCode)) reject(new GitError(args, result))
          else resolve(result)
        }
      )
    })
  }

  async hasCommit(id: string): Promise<boolean> {
    return (await this.run(['cat-file', '-e', `${id}^{commit}`], { allowExitCodes: [1, 128] })).exitCode === 0
  }

  async isShallow(): Promise<boolean> {
    return (await this.run(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true'
  }

  async hasRemote(name: string): Promise<boolean> {
    return (await this.run(['remote'])).stdout.split('\n').includes(name)
  }

  /** Fetches commits by id; `depth` (a shallow clone) or `deepen` (more history below the boundary). */
  async fetch(remote: string, ids: string[], opts: { depth?: number; deepen?: number } = {}): Promise<GitResult> {
    const args = ['fetch', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--quiet']
    if (opts.depth !== undefined) args.push(`--depth=${opts.depth}`)
    if (opts.deepen !== undefined) args.push(`--deepen=${opts.deepen}`)
    return this.run([...args, remote, ...ids], { allowExitCodes: [1, 128] })
  }

  /** The best common ancestor, or undefined when the history here holds none. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const result = await this.run(['merge-base', a, b], { allowExitCodes: [1] })
    return result.exitCode === 0 ? result.stdout.trim() : undefined
  }

  /** Files that differ between two commits' trees, with their status (A, M, D, T...). */
  async changedFiles(base: string, head: string): Promise<ChangedFile[]> {
    const out = (await this.run(['diff', '--name-status', '--no-renames', '-z', base, head, '--'])).stdout
    const fields = out.split('\0')
    const files: ChangedFile[] = []
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === '') break
      files.push({ status: fields[i][0], path: fields[i + 1] })
    }
    return files
  }

  /** Every file path of a commit's tree under `directory`. */
  async listFiles(commit: string, directory: string): Promise<string[]> {
    const out = (await this.run(['ls-tree', '-r', '--name-only', '-z', commit, '--', `${directory}/`])).stdout
    return out.split('\0').filter(Boolean)
  }
}

export interface ChangedFile {
  /** git's status letter: A added, M modified, D deleted, T type changed. */
  status: string
  path: string
}
