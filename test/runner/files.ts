// The files a step writes its results to, created empty before each step and read after it, as
// actions/runner's FileCommandManager does: GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE (NAME=VALUE
// lines or NAME<<DELIMITER heredocs), GITHUB_PATH (one directory a line) and GITHUB_STEP_SUMMARY
// (markdown, at most 1 MiB a step).
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'

/** Parses a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file (actions/runner EnvFileKeyValuePairs). */
export function parseEnvFile(text: string): [string, string][] {
  const pairs: [string, string][] = []
  let index = 0
  const readLine = (): { line: string; newline: boolean } | undefined => {
    if (index >= text.length) return undefined
    const lf = text.indexOf('\n', index)
    if (lf < 0) {
      const line = text.slice(index)
      index = text.length
      return { line, newline: false }
    }
    const line = text.slice(index, lf)
    index = lf + 1
    return { line, newline: true }
  }
  let next = readLine()
  while (next) {
    const line = next.line
    if (line !== '') {
      const eq = line.indexOf('=')
      const hd = line.indexOf('<<')
      if (eq >= 0 && (hd < 0 || eq < hd)) {
        const key = line.slice(0, eq)
        if (!key) throw new Error(`Invalid format '${line}'. Name must not be empty`)
        pairs.push([key, line.slice(eq + 1)])
      } else if (hd >= 0 && (eq < 0 || hd < eq)) {
        const key = line.slice(0, hd)
        const delimiter = line.slice(hd + 2)
        if (!key || !delimiter) throw new Error(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`)
        const start = index
        let end = index
        let value = readLine()
        while (!value || value.line !== delimiter) {
          if (!value) throw new Error(`Invalid value. Matching delimiter not found '${delimiter}'`)
          if (!value.newline) throw new Error('Invalid value. EOF marker missing new line.')
          end = index - 1
          value = readLine()
        }
        pairs.push([key, end > start ? text.slice(start, end) : ''])
      } else {
        throw new Error(`Invalid format '${line}'`)
      }
    }
    next = readLine()
  }
  return pairs
}

export const SUMMARY_LIMIT = 1024 * 1024

export interface StepFiles {
  output: string
  env: string
  path: string
  state: string
  summary: string
}

export function createStepFiles(runnerTemp: string): StepFiles {
  const dir = path.join(runnerTemp, '_runner_file_commands')
  mkdirSync(dir, { recursive: true })
  const suffix = randomUUID()
  const files: StepFiles = {
    output: path.join(dir, `set_output_${suffix}`),
    env: path.join(dir, `set_env_${suffix}`),
    path: path.join(dir, `add_path_${suffix}`),
    state: path.join(dir, `save_state_${suffix}`),
    summary: path.join(dir, `step_summary_${suffix}`)
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  return files
}

export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}

export function fileSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0
}
