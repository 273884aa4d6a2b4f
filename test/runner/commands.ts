// Workflow commands on a step's stdout/stderr, parsed as actions/runner does
// (src/Runner.Common/ActionCommand.cs): `::name k=v,k2=v2::data` after leading whitespace, and the
// legacy `##[name k=v;k2=v2]data` anywhere in a line. Only registered names are commands; any
// other line is plain output. The secret masker replaces every registered value (and its JSON,
// URL and base64 encodings, as the runner's masker does) with ***.
import type { Annotation } from './types.js'

export class Masker {
  private readonly values = new Set<string>()

  constructor(values: Iterable<string> = []) {
    for (const v of values) this.add(v)
  }

  clone(): Masker {
    return new Masker(this.values)
  }

  /** Registers a secret: the whole value and, for a multi-line one, each of its lines. */
  add(value: string | undefined): void {
    if (!value) return
    const candidates = [value, ...value.split(/\r?\n/).map(l => l.trim())]
    for (const c of candidates) {
      if (!c) continue
      this.values.add(c)
      const json = JSON.stringify(c).slice(1, -1)
      if (json !== c) this.values.add(json)
      const uri = encodeURIComponent(c)
      if (uri !== c) this.values.add(uri)
      const b64 = Buffer.from(c, 'utf8').toString('base64')
      if (b64.length >= 4) {
        this.values.add(b64)
        this.values.add(b64.replace(/=+$/, ''))
      }
    }
  }

  has(text: string): boolean {
    return this.mask(text) !== text
  }

  mask(text: string): string {
    if (!text || this.values.size === 0) return text
    let result = text
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) {
      if (result.includes(v)) result = result.split(v).join('***')
    }
    return result
  }
}

export interface ParsedCommand {
  command: string
  properties: Record<string, string>
  data: string
}

const registered = new Set([
  'add-mask',
  'debug',
  'notice',
  'warning',
  'error',
  'group',
  'endgroup',
  'echo',
  'stop-commands',
  'set-output',
  'set-env',
  'add-path',
  'save-state',
  'add-matcher',
  'remove-matcher'
])

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

function unescapeProperty(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%')
}

function unescapeV1(s: string): string {
  return s.replace(/%3B/g, ';').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%5D/g, ']').replace(/%25/g, '%')
}

export function parseCommand(line: string, extra: ReadonlySet<string> = new Set()): ParsedCommand | undefined {
  const isRegistered = (name: string): boolean => registered.has(name.toLowerCase()) || extra.has(name.toLowerCase())
  const trimmed = line.trimStart()
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2)
    if (end >= 0) {
      const info = trimmed.slice(2, end)
      const space = info.indexOf(' ')
      const command = space < 0 ? info : info.slice(0, space)
      if (isRegistered(command)) {
        const properties: Record<string, string> = {}
        if (space > 0) {
          for (const p of info
            .slice(space + 1)
            .trim()
            .split(',')
            .filter(Boolean)) {
            const eq = p.indexOf('=')
            if (eq > 0 && eq < p.length - 1) properties[p.slice(0, eq)] = unescapeProperty(p.slice(eq + 1))
          }
        }
        return { command: command.toLowerCase(), properties, data: unescapeData(trimmed.slice(end + 2)) }
      }
    }
  }
  const prefixAt = line.indexOf('##[')
  if (prefixAt >= 0) {
    const rb = line.indexOf(']', prefixAt)
    if (rb < 0) return undefined
    const info = line.slice(prefixAt + 3, rb)
    const space = info.indexOf(' ')
    const command = space < 0 ? info : info.slice(0, space)
    if (!isRegistered(command)) return undefined
    const properties: Record<string, string> = {}
    if (space > 0) {
      for (const p of info
        .slice(space + 1)
        .split(';')
        .filter(Boolean)) {
        const eq = p.indexOf('=')
        if (eq > 0 && eq < p.length - 1) properties[p.slice(0, eq)] = unescapeV1(p.slice(eq + 1))
      }
    }
    return { command: command.toLowerCase(), properties, data: unescapeV1(line.slice(rb + 1)) }
  }
  return undefined
}

export interface CommandOutcome {
  /** The line as the log shows it (masked), or undefined when the runner hides it. */
  display: string | undefined
}

/**
 * Processes a step's output lines: records annotations, registers masks, and collects the
 * commands this runner refuses (reported once the process has ended).
 */
export class CommandProcessor {
  readonly annotations: Annotation[] = []
  readonly refused: string[] = []
  private stopToken: string | undefined

  constructor(
    private readonly masker: Masker,
    private readonly debug: boolean,
    private readonly log: (line: string) => void
  ) {}

  line(raw: string): string {
    const extra = this.stopToken ? new Set([this.stopToken.toLowerCase()]) : new Set<string>()
    const cmd = parseCommand(raw, extra)
    if (this.stopToken) {
      if (cmd && cmd.command === this.stopToken.toLowerCase()) this.stopToken = undefined
      return this.emit(raw)
    }
    if (!cmd) return this.emit(raw)
    switch (cmd.command) {
      case 'add-mask':
        this.masker.add(cmd.data.trim())
        return this.masker.mask(raw)
      case 'stop-commands':
        if (!cmd.data || registered.has(cmd.data.toLowerCase())) {
          this.refused.push(`::stop-commands:: with the token ${JSON.stringify(cmd.data)} (the runner refuses it)`)
        } else {
          this.stopToken = cmd.data
          this.masker.add(cmd.data.length > 6 ? cmd.data : undefined)
        }
        return this.emit(raw)
      case 'error':
      case 'warning':
      case 'notice': {
        const p = cmd.properties
        const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined)
        const annotation: Annotation = { level: cmd.command, message: this.masker.mask(cmd.data) }
        if (p.title !== undefined) annotation.title = this.masker.mask(p.title)
        if (p.file !== undefined) annotation.file = p.file
        if (num(p.line) !== undefined) annotation.line = num(p.line)
        if (num(p.endLine) !== undefined) annotation.endLine = num(p.endLine)
        if (num(p.col) !== undefined) annotation.col = num(p.col)
        if (num(p.endColumn) !== undefined) annotation.endColumn = num(p.endColumn)
        this.annotations.push(annotation)
        return this.emit(raw, `${cmd.command === 'notice' ? 'Notice' : cmd.command === 'error' ? 'Error' : 'Warning'}: ${cmd.data}`)
      }
      case 'debug':
        return this.emit(raw, this.debug ? `##[debug]${cmd.data}` : null)
      case 'group':
        return this.emit(raw, `▸ ${cmd.data}`)
      case 'endgroup':
      case 'echo':
        return this.emit(raw, null)
      case 'set-output':
        this.refused.push('::set-output (deprecated: write name=value to $GITHUB_OUTPUT)')
        return this.emit(raw)
      case 'save-state':
        this.refused.push('::save-state (deprecated: write name=value to $GITHUB_STATE)')
        return this.emit(raw)
      case 'set-env':
      case 'add-path':
        this.refused.push(`::${cmd.command} (disabled on GitHub: use $GITHUB_${cmd.command === 'set-env' ? 'ENV' : 'PATH'})`)
        return this.emit(raw)
      default:
        this.refused.push(`::${cmd.command}`)
        return this.emit(raw)
    }
  }

  /** Masks the raw line for the captured output; logs the display form (null: nothing). */
  private emit(raw: string, display: string | null = raw): string {
    const masked = this.masker.mask(raw)
    if (display !== null) this.log(this.masker.mask(display))
    return masked
  }
}
