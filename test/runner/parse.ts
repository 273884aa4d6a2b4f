// Reading workflows and actions with GitHub's own parser (@actions/workflow-parser): parseWorkflow
// validates against the workflow schema (expressions included, with the contexts each key allows)
// and convertWorkflowTemplate adds the semantic checks (needs cycles, unknown jobs, ...). Every
// error it reports refuses the file. The converted model drops some keys (a step's `with`, `shell`,
// `working-directory`; a job's `permissions`, `defaults`), so the runner reads those from the
// parsed token tree, which carries a line and column for everything.
import { existsSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { convertActionTemplate, parseAction, type ActionTemplate } from '@actions/workflow-parser/actions/index'
import type { Job, ReusableWorkflowJob, Step, WorkflowTemplate } from '@actions/workflow-parser/model/workflow-template'
import type { BasicExpressionToken, MappingToken, SequenceToken, StringToken, TemplateToken } from '@actions/workflow-parser/templates/tokens/index'
import { TokenType } from '@actions/workflow-parser/templates/tokens/types'
import { isScalar, LineCounter, parseDocument, visit } from 'yaml'
import { WorkflowError, type Where } from './errors.js'

export type { ActionTemplate, Job, ReusableWorkflowJob, Step, WorkflowTemplate }
export type { BasicExpressionToken, MappingToken, SequenceToken, StringToken, TemplateToken }
export { TokenType }

export interface ParsedWorkflow {
  /** Absolute path. */
  file: string
  root: MappingToken
  template: WorkflowTemplate
}

export interface ParsedAction {
  /** Absolute path of action.yml (or action.yaml). */
  file: string
  /** The action's directory (GITHUB_ACTION_PATH). */
  dir: string
  root: MappingToken
  template: ActionTemplate
}

export function where(file: string, token: TemplateToken | undefined): Where {
  return { file, line: token?.line, col: token?.col }
}

export function isMappingToken(token: TemplateToken | undefined): token is MappingToken {
  return token?.templateTokenType === TokenType.Mapping
}

export function isSequenceToken(token: TemplateToken | undefined): token is SequenceToken {
  return token?.templateTokenType === TokenType.Sequence
}

export function isStringToken(token: TemplateToken | undefined): token is StringToken {
  return token?.templateTokenType === TokenType.String
}

export function isExpressionToken(token: TemplateToken | undefined): token is BasicExpressionToken {
  return token?.templateTokenType === TokenType.BasicExpression
}

/** Whether a token tree holds an expression anywhere. */
export function hasExpression(token: TemplateToken | undefined): boolean {
  if (!token) return false
  if (token.templateTokenType === TokenType.BasicExpression || token.templateTokenType === TokenType.InsertExpression) return true
  if (isMappingToken(token)) {
    for (const pair of token) if (hasExpression(pair.key) || hasExpression(pair.value)) return true
  }
  if (isSequenceToken(token)) for (const item of token) if (hasExpression(item)) return true
  return false
}

/** The value of `key` in a mapping token (keys are literal strings in workflows and actions). */
export function prop(mapping: TemplateToken | undefined, key: string): TemplateToken | undefined {
  if (!isMappingToken(mapping)) return undefined
  for (const pair of mapping) {
    if (isStringToken(pair.key) && pair.key.value === key) return pair.value
  }
  return undefined
}

export function keys(mapping: TemplateToken | undefined): string[] {
  if (!isMappingToken(mapping)) return []
  const result: string[] = []
  for (const pair of mapping) if (isStringToken(pair.key)) result.push(pair.key.value)
  return result
}

/** The key token of `key` (for a line number). */
export function keyToken(mapping: TemplateToken | undefined, key: string): TemplateToken | undefined {
  if (!isMappingToken(mapping)) return undefined
  for (const pair of mapping) if (isStringToken(pair.key) && pair.key.value === key) return pair.key
  return undefined
}

/** A literal string value, or undefined (absent or an expression). */
export function literalString(token: TemplateToken | undefined): string | undefined {
  return isStringToken(token) ? token.value : undefined
}

// @actions/workflow-parser builds the format() expression of a multi-line string (a `run: |`
// block with ${{ }} in it) from the YAML *source* (indentation, a folded scalar's line breaks,
// a quoted scalar's escapes) instead of the string's value, as GitHub's runner uses. So the runner
// keeps the real value of every multi-line string scalar holding ${{, by file and start position,
// and rebuilds such expressions from it (expressions.ts).
const multiLineValues = new Map<string, Map<string, string>>()

export function positionKey(line: number, col: number): string {
  return `${line}:${col}`
}

/** The value of the multi-line string scalar that starts at line:col in `file`. */
export function multiLineValue(file: string, line: number | undefined, col: number | undefined): string | undefined {
  if (line === undefined || col === undefined) return undefined
  return multiLineValues.get(file)?.get(positionKey(line, col))
}

function recordMultiLineValues(file: string, content: string): void {
  const lineCounter = new LineCounter()
  const doc = parseDocument(content, { lineCounter, keepSourceTokens: true, uniqueKeys: false })
  const values = new Map<string, string>()
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string' || !node.range || !node.value.includes('${{')) return
      const start = lineCounter.linePos(node.range[0])
      const end = lineCounter.linePos(node.range[1])
      if (start.line !== end.line) values.set(positionKey(start.line, start.col), node.value)
    }
  })
  multiLineValues.set(file, values)
}

function parserErrors(context: { errors: { getErrors(): { message: string }[] } }): string[] {
  return context.errors.getErrors().map(e => e.message)
}

/** Parses and validates a workflow file; throws WorkflowError with the parser's errors (file, line, column) when it is invalid. */
export async function loadWorkflow(file: string): Promise<ParsedWorkflow> {
  if (!path.isAbsolute(file)) throw new WorkflowError(`workflow file must be an absolute path: ${JSON.stringify(file)}`)
  if (!existsSync(file)) throw new WorkflowError(`workflow file not found: ${file}`)
  const content = readFileSync(file, 'utf8')
  const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter())
  recordMultiLineValues(file, content)
  if (parsed.context.errors.getErrors().length > 0 || !parsed.value) {
    throw new WorkflowError(`invalid workflow ${file}`, parserErrors(parsed.context))
  }
  const template = await convertWorkflowTemplate(parsed.context, parsed.value)
  if (template.errors?.length)
    throw new WorkflowError(
      `invalid workflow ${file}`,
      template.errors.map(e => e.Message)
    )
  if (!isMappingToken(parsed.value)) throw new WorkflowError(`invalid workflow ${file}: not a mapping`)
  return { file, root: parsed.value, template }
}

/** Finds action.yml / action.yaml in `dir`, parses and validates it. */
export function loadAction(dir: string, uses: string, at: Where): ParsedAction {
  const file = ['action.yml', 'action.yaml'].map(name => path.join(dir, name)).find(f => existsSync(f))
  if (!file) {
    const hint = existsSync(path.join(dir, 'Dockerfile')) ? ' (a Dockerfile action, which this runner does not run)' : ''
    throw new WorkflowError(
      `${at.file ?? ''}${at.line ? `:${at.line}` : ''}: uses: ${uses}: can't find 'action.yml' or 'action.yaml' under '${dir}'${hint}. ` +
        `Did you forget to run actions/checkout before running your local action?`
    )
  }
  const content = readFileSync(file, 'utf8')
  const parsed = parseAction({ name: file, content }, new NoOperationTraceWriter())
  recordMultiLineValues(file, content)
  if (parsed.context.errors.getErrors().length > 0 || !parsed.value) throw new WorkflowError(`invalid action ${file}`, parserErrors(parsed.context))
  const template = convertActionTemplate(parsed.context, parsed.value)
  const errors = parserErrors(parsed.context)
  if (errors.length) throw new WorkflowError(`invalid action ${file}`, errors)
  if (!isMappingToken(parsed.value)) throw new WorkflowError(`invalid action ${file}: not a mapping`)
  return { file, dir, root: parsed.value, template }
}

/** A step of a job or of a composite action, from the converted model and the raw tokens. */
export interface StepDef {
  file: string
  token: MappingToken
  /** The steps-context name: the `id`, or a generated `__run`, `__actions_checkout`, ... */
  contextName: string
  /** The explicit `id:`. */
  id?: string
  name?: TemplateToken
  if: BasicExpressionToken
  continueOnError?: boolean | TemplateToken
  env?: MappingToken
  run?: TemplateToken
  uses?: StringToken
  with?: TemplateToken
  shell?: TemplateToken
  workingDirectory?: TemplateToken
  timeoutMinutes?: TemplateToken
}

export function stepDefs(file: string, raw: TemplateToken | undefined, converted: Step[]): StepDef[] {
  const items: MappingToken[] = []
  if (isSequenceToken(raw)) for (const item of raw) if (isMappingToken(item)) items.push(item)
  if (items.length !== converted.length) throw new WorkflowError(`${file}: the parser returned ${converted.length} steps for ${items.length}`)
  return converted.map((step, i) => {
    const token = items[i]
    const s = step as Step & { if?: BasicExpressionToken; env?: MappingToken; run?: TemplateToken; uses?: StringToken }
    return {
      file,
      token,
      contextName: step.id,
      id: literalString(prop(token, 'id')),
      name: step.name,
      if: s.if as BasicExpressionToken,
      continueOnError: step['continue-on-error'] as boolean | TemplateToken | undefined,
      env: s.env,
      run: s.run,
      uses: s.uses,
      with: prop(token, 'with'),
      shell: prop(token, 'shell'),
      workingDirectory: prop(token, 'working-directory'),
      timeoutMinutes: prop(token, 'timeout-minutes')
    }
  })
}

/** The raw mapping of job `id` in a workflow. */
export function jobToken(workflow: ParsedWorkflow, id: string): MappingToken {
  const token = prop(prop(workflow.root, 'jobs'), id)
  if (!isMappingToken(token)) throw new WorkflowError(`${workflow.file}: job ${id} is not a mapping`)
  return token
}
