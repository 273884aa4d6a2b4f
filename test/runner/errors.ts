// What the local runner throws. A refusal (UnsupportedError) names the construct and where it is:
// the runner never skips what it cannot run the way GitHub would.

export interface Where {
  file?: string
  line?: number
  col?: number
}

export function formatWhere(where: Where): string {
  if (!where.file) return ''
  return `${where.file}${where.line ? `:${where.line}${where.col ? `:${where.col}` : ''}` : ''}`
}

/** A construct the local runner does not support. */
export class UnsupportedError extends Error {
  readonly construct: string
  readonly file?: string
  readonly line?: number
  readonly col?: number
  constructor(construct: string, detail: string, where: Where = {}) {
    const at = formatWhere(where)
    super(`${at ? `${at}: ` : ''}${construct}: not supported by the local runner: ${detail}`)
    this.name = 'UnsupportedError'
    this.construct = construct
    this.file = where.file
    this.line = where.line
    this.col = where.col
  }
}

/** The workflow or action file is not valid (the parser's errors, one per line), or the run cannot start as asked. */
export class WorkflowError extends Error {
  readonly errors: string[]
  constructor(message: string, errors: string[] = []) {
    super(errors.length ? `${message}\n${errors.map(e => `  ${e}`).join('\n')}` : message)
    this.name = 'WorkflowError'
    this.errors = errors
  }
}
