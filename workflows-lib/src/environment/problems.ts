// A configuration problem names the file, the field path and the line and column, so a user
// can jump straight to it (and GitHub can annotate it).
import * as path from 'node:path'
import { oneLine, quoted } from '../output/printable.js'

export interface ConfigProblem {
  file: string
  /** Field path such as observers.hosts[1].id ('' for the whole file). */
  field: string
  line: number
  column: number
  message: string
}

/** One line per problem: the path too is escaped, since a directory name can hold a line break. */
export function formatProblem(p: ConfigProblem, cwd = process.cwd()): string {
  const where = `${oneLine(path.relative(cwd, p.file) || p.file)}:${p.line}:${p.column}`
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

/** observers.hosts[1].id; a key with anything but printable ASCII is shown quoted: expose.annotations["a\nb"]. */
export function formatField(segments: FieldPath): string {
  return segments.reduce<string>((out, s) => {
    if (typeof s === 'number') return `${out}[${s}]`
    if (!/^[\x21-\x7e]+$/.test(s)) return `${out}[${quoted(s)}]`
    return out ? `${out}.${s}` : s
  }, '')
}
