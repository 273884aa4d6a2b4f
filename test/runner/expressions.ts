// `${{ }}` evaluation with @actions/expressions, GitHub's own expression engine: contexts are plain
// JavaScript values converted to its data model; the status functions (success(), failure(),
// cancelled(), always()) are supplied by the caller, as the runner does per job or composite.
// A template token (the parser's model of a YAML value, where "a ${{ b }} c" is already
// format('a {0} c', b)) is evaluated to a JavaScript value, or coerced to a string where the
// workflow syntax wants one.
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import type { FunctionDefinition, FunctionInfo } from '@actions/expressions/funcs/info'
import { TokenType as LexerTokenType } from '@actions/expressions/lexer'
import { truthy } from '@actions/expressions/result'
import { UnsupportedError, type Where } from './errors.js'
import {
  isExpressionToken,
  isMappingToken,
  isSequenceToken,
  isStringToken,
  multiLineValue,
  TokenType,
  type BasicExpressionToken,
  type MappingToken,
  type TemplateToken
} from './parse.js'

export type Contexts = Record<string, unknown>

export interface Status {
  success(): boolean
  failure(): boolean
  cancelled(): boolean
}

export const alwaysSucceeding: Status = { success: () => true, failure: () => false, cancelled: () => false }

/** An error while evaluating an expression at run time: fails the step or job, as on GitHub. */
export class EvaluationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EvaluationError'
  }
}

type ExpressionData = data.ExpressionData

export function toData(value: unknown): ExpressionData {
  if (value === null || value === undefined) return new data.Null()
  if (typeof value === 'boolean') return new data.BooleanData(value)
  if (typeof value === 'number') return new data.NumberData(value)
  if (typeof value === 'string') return new data.StringData(value)
  if (Array.isArray(value)) return new data.Array(...value.map(toData))
  if (typeof value === 'object') {
    return new data.Dictionary(...Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: toData(v) })))
  }
  return new data.StringData(String(value))
}

export function fromData(d: ExpressionData | undefined): unknown {
  if (d === undefined) return null
  switch (d.kind) {
    case data.Kind.Null:
      return null
    case data.Kind.Boolean:
      return (d as data.BooleanData).value
    case data.Kind.Number:
      return d.number()
    case data.Kind.String:
      return d.coerceString()
    case data.Kind.Array:
      return (d as data.Array).values().map(fromData)
    default: {
      const result: Record<string, unknown> = {}
      for (const pair of (d as data.Dictionary).pairs()) result[pair.key] = fromData(pair.value)
      return result
    }
  }
}

const functionInfos: FunctionInfo[] = [
  { name: 'success', minArgs: 0, maxArgs: 0 },
  { name: 'failure', minArgs: 0, maxArgs: 0 },
  { name: 'cancelled', minArgs: 0, maxArgs: 0 },
  { name: 'always', minArgs: 0, maxArgs: 0 },
  { name: 'hashFiles', minArgs: 1, maxArgs: 255 }
]

function functions(status: Status, at: Where): Map<string, FunctionDefinition> {
  const fn = (name: string, call: () => boolean): [string, FunctionDefinition] => [
    name.toLowerCase(),
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(call()) }
  ]
  return new Map([
    fn('success', () => status.success()),
    fn('failure', () => status.failure()),
    fn('cancelled', () => status.cancelled()),
    fn('always', () => true),
    [
      'hashfiles',
      {
        name: 'hashFiles',
        minArgs: 1,
        maxArgs: 255,
        call: () => {
          throw new UnsupportedError('hashFiles()', 'the local runner does not implement hashFiles', at)
        }
      }
    ]
  ])
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function prefix(at: Where): string {
  return at.file ? `${at.file}${at.line ? ` (Line: ${at.line}, Col: ${at.col ?? 1})` : ''}: ` : ''
}

// @actions/expressions 0.3.61 unescapes only the first '' of a string literal
// (`value.replace("''", "'")`); GitHub unescapes every one. Re-derive each string token's value.
function lex(expression: string): ReturnType<Lexer['lex']>['tokens'] {
  const tokens = new Lexer(expression).lex().tokens
  for (const t of tokens) {
    if (t.type === LexerTokenType.STRING && t.lexeme.length >= 2) t.value = t.lexeme.slice(1, -1).replace(/''/g, "'")
  }
  return tokens
}

/**
 * A multi-line string with ${{ }} in it, rebuilt from its value (see parse.ts): literal segments
 * and expressions split as the parser does, joined with format().
 */
export function formatExpression(value: string): string {
  const format: string[] = []
  const args: string[] = []
  let i = 0
  while (i < value.length) {
    const start = value.indexOf('${{', i)
    if (start < 0) {
      format.push(value.slice(i))
      break
    }
    let end = -1
    let inString = false
    for (let j = start + 3; j < value.length; j++) {
      if (value[j] === "'") inString = !inString
      else if (!inString && value[j] === '}' && value[j - 1] === '}') {
        end = j
        break
      }
    }
    if (end < 0) throw new UnsupportedError('expression', 'an unclosed ${{ (the parser should have refused it)')
    format.push(value.slice(i, start))
    format.push(`\uE000${args.length}\uE000`)
    args.push(value.slice(start + 3, end - 1).trim())
    i = end + 1
  }
  // The whole value is one expression: the expression itself (its value need not be a string).
  if (args.length === 1 && format.join('') === '\uE0000\uE000') return args[0]
  const text = format
    .join('')
    .replace(/'/g, "''")
    .replace(/\{/g, '{{')
    .replace(/\}/g, '}}')
    .replace(/\uE000(\d+)\uE000/g, '{$1}')
  return `format('${text}'${args.map(a => `, ${a}`).join('')})`
}

/** Evaluates one expression (without ${{ }}). Syntax errors are refusals: the parser should have caught them. */
export function evaluateExpression(expression: string, contexts: Contexts, status: Status, at: Where = {}): ExpressionData {
  let ast
  try {
    ast = new Parser(lex(expression), Object.keys(contexts), functionInfos).parse()
  } catch (e) {
    throw new UnsupportedError('expression', `${JSON.stringify(expression)} does not parse: ${message(e)}`, at)
  }
  const dictionary = new data.Dictionary(...Object.entries(contexts).map(([key, value]) => ({ key, value: toData(value) })))
  try {
    return new Evaluator(ast, dictionary, functions(status, at)).evaluate()
  } catch (e) {
    if (e instanceof UnsupportedError) throw e
    throw new EvaluationError(`${prefix(at)}Error evaluating ${JSON.stringify(expression)}: ${message(e)}`)
  }
}

function at(file: string, token: TemplateToken | undefined): Where {
  return { file, line: token?.line, col: token?.col }
}

/** Evaluates a token tree to a JavaScript value. */
export function evaluateToken(token: TemplateToken | undefined, contexts: Contexts, status: Status, file: string): unknown {
  if (!token) return undefined
  switch (token.templateTokenType) {
    case TokenType.String:
      return (token as unknown as { value: string }).value
    case TokenType.Number:
      return (token as unknown as { value: number }).value
    case TokenType.Boolean:
      return (token as unknown as { value: boolean }).value
    case TokenType.Null:
      return null
    case TokenType.BasicExpression: {
      const expression = token as BasicExpressionToken
      const range = expression.range
      const value = range && range.start.line !== range.end.line ? multiLineValue(file, range.start.line, range.start.column) : undefined
      return fromData(evaluateExpression(value !== undefined ? formatExpression(value) : expression.expression, contexts, status, at(file, token)))
    }
    case TokenType.InsertExpression:
      throw new UnsupportedError('${{ insert }}', 'insert expressions are not supported', at(file, token))
    case TokenType.Sequence: {
      const result: unknown[] = []
      if (isSequenceToken(token)) for (const item of token) result.push(evaluateToken(item, contexts, status, file))
      return result
    }
    case TokenType.Mapping: {
      const result: Record<string, unknown> = {}
      for (const pair of token as MappingToken) {
        const key = evaluateToken(pair.key, contexts, status, file)
        result[toStringValue(key, file, pair.key)] = evaluateToken(pair.value, contexts, status, file)
      }
      return result
    }
    default:
      throw new UnsupportedError('token', `unexpected token type ${token.templateTokenType}`, at(file, token))
  }
}

/** GitHub's string coercion of a primitive; a mapping or sequence where a string is expected is an error. */
export function toStringValue(value: unknown, file: string, token: TemplateToken | undefined): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') {
    throw new EvaluationError(`${prefix(at(file, token))}A ${Array.isArray(value) ? 'sequence' : 'mapping'} was not expected`)
  }
  return toData(value).coerceString()
}

export function evaluateString(token: TemplateToken | undefined, contexts: Contexts, status: Status, file: string): string {
  return toStringValue(evaluateToken(token, contexts, status, file), file, token)
}

/** A mapping of strings (env:, with:, outputs:). */
export function evaluateStringMap(token: TemplateToken | undefined, contexts: Contexts, status: Status, file: string): Record<string, string> {
  const result: Record<string, string> = {}
  if (!token) return result
  if (isExpressionToken(token)) {
    const value = evaluateToken(token, contexts, status, file)
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new EvaluationError(`${prefix(at(file, token))}A mapping was expected`)
    for (const [key, v] of Object.entries(value)) result[key] = toStringValue(v, file, token)
    return result
  }
  if (!isMappingToken(token)) throw new EvaluationError(`${prefix(at(file, token))}A mapping was expected`)
  for (const pair of token) {
    const key = isStringToken(pair.key) ? pair.key.value : evaluateString(pair.key, contexts, status, file)
    result[key] = evaluateString(pair.value, contexts, status, file)
  }
  return result
}

/** A condition (the converted `if:`, already wrapped in success() && (...) when it has no status function). */
export function evaluateCondition(token: BasicExpressionToken | undefined, contexts: Contexts, status: Status, file: string): boolean {
  if (!token) return status.success()
  return truthy(evaluateExpression(token.expression, contexts, status, at(file, token)))
}

/** A boolean setting (continue-on-error, fail-fast, cancel-in-progress) that may be an expression. */
export function evaluateBoolean(
  token: boolean | TemplateToken | undefined,
  contexts: Contexts,
  status: Status,
  file: string,
  fallback: boolean
): boolean {
  if (token === undefined) return fallback
  if (typeof token === 'boolean') return token
  const value = evaluateToken(token, contexts, status, file)
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  if (value === null || value === undefined || value === '') return fallback
  throw new EvaluationError(`${prefix(at(file, token))}Unexpected value ${JSON.stringify(value)}: a boolean was expected`)
}

export function evaluateNumber(token: TemplateToken | undefined, contexts: Contexts, status: Status, file: string): number | undefined {
  if (!token) return undefined
  const value = evaluateToken(token, contexts, status, file)
  if (value === null || value === undefined || value === '') return undefined
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isFinite(n)) throw new EvaluationError(`${prefix(at(file, token))}Unexpected value ${JSON.stringify(value)}: a number was expected`)
  return n
}

/** GitHub's `==` (case-insensitive strings, type coercion), for matrix include/exclude filters. */
export { equals as expressionEquals } from '@actions/expressions/result'
