// A configuration problem names the file, the field path and the line and column, so a user
// can jump straight to it (and GitHub can annotate it).
import * as path from 'node:path'

export interface ConfigProblem {
  file: string
  /** Field path such as observers.hosts[1].id ('' for the whole file). */
  field: string
  line: number
  column: number
  message: string
}

export function formatProblem(p: ConfigProblem, cwd = process.cwd()): string {
  const where = `${path.relative(cwd, p.file) || p.file}:${p.line}:${p.column}`
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `${problems.length === 1 ? 'invalid configuration' : `${problems.length} configuration problems`}:\n` +
        problems.map(p => `  ${formatProblem(p)}`).join('\n')
    )
    this.name = 'ConfigError'
  }
}

export type FieldPath = (string | number)[]

export function formatField(segments: FieldPath): string {
  return segments.reduce<string>((out, s) => (typeof s === 'number' ? `${out}[${s}]` : out ? `${out}.${s}` : s), '')
}
