// `uses:` steps. Where an action comes from:
//   - `./path`: GITHUB_WORKSPACE (the job's checkout), also inside a composite action, whose
//     own files are at GITHUB_ACTION_PATH: GitHub resolves `./` against the caller's workspace;
//   - `owner/repo@ref`, `owner/repo/sub/dir@ref`: opts.actions['owner/repo'] (the directory as it
//     is; the ref is not checked out);
//   - `actions/checkout@<40-hex sha>`: built in (checkout.ts), unless opts.actions maps it.
// Anything else (another third-party action, docker://, a checkout by tag) is refused.
// What an action is: node20/node24 (`node <main>` with this runner's Node.js, inputs as
// INPUT_<NAME>, upper case, spaces to `_`, hyphens kept, with the defaults of action.yml; `pre:`
// and `post:` refused) or composite (its steps with the `inputs` context, GITHUB_ACTION_PATH, its
// own steps context and status, outputs mapped by their `value:` expressions). Docker and
// node12/node16 actions are refused.
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import type { ActionRunsComposite, ActionRunsNode } from '@actions/workflow-parser/actions/action-template'
import { checkoutUnexpectedInputs, runCheckout } from './checkout.js'
import { UnsupportedError, type Where } from './errors.js'
import { evaluateString, evaluateStringMap, type Contexts } from './expressions.js'
import { loadAction, prop, stepDefs, where, type ParsedAction, type StepDef } from './parse.js'
import { statusOf, stepContexts, type JobStatus, type StepsScope } from './scope.js'
import { isRefusal, runStepProcess, runSteps, type Execution } from './steps.js'
import type { Annotation, RunWorkflowOptions } from './types.js'

export type UsesRef =
  { kind: 'local'; path: string } | { kind: 'docker'; image: string } | { kind: 'remote'; owner: string; repo: string; subPath: string; ref: string }

export function parseUses(uses: string): UsesRef | undefined {
  if (uses.startsWith('docker://')) return { kind: 'docker', image: uses.slice('docker://'.length) }
  if (uses === '.' || uses.startsWith('./')) return { kind: 'local', path: uses }
  const m = /^([^/@\s]+)\/([^/@\s]+)((?:\/[^@\s]+)?)@(\S+)$/.exec(uses)
  if (!m) return undefined
  return { kind: 'remote', owner: m[1], repo: m[2], subPath: m[3].replace(/^\//, ''), ref: m[4] }
}

export function mappedRepository(opts: RunWorkflowOptions, repository: string): string | undefined {
  const key = Object.keys(opts.actions ?? {}).find(k => k.toLowerCase() === repository.toLowerCase())
  return key === undefined ? undefined : (opts.actions as Record<string, string>)[key]
}

export type ActionSource =
  { kind: 'local'; dir: string } | { kind: 'repository'; dir: string; repository: string; ref: string } | { kind: 'checkout'; sha: string }

/** Resolves a step's `uses:`; without a workspace it only checks that it could be resolved. */
export function resolveAction(uses: string, at: Where, opts: RunWorkflowOptions, workspace?: string): ActionSource | undefined {
  const ref = parseUses(uses)
  if (!ref) throw new UnsupportedError(`uses: ${uses}`, 'not ./path, owner/repo@ref or owner/repo/path@ref', at)
  if (ref.kind === 'docker') throw new UnsupportedError(`uses: ${uses}`, 'docker:// actions need a container engine', at)
  if (ref.kind === 'local') return workspace === undefined ? undefined : { kind: 'local', dir: path.resolve(workspace, ref.path) }
  const repository = `${ref.owner}/${ref.repo}`
  const dir = mappedRepository(opts, repository)
  if (dir !== undefined) return { kind: 'repository', dir: path.join(dir, ref.subPath), repository, ref: ref.ref }
  if (repository.toLowerCase() === 'actions/checkout' && ref.subPath === '') {
    if (!/^[0-9a-f]{40}$/.test(ref.ref)) {
      throw new UnsupportedError(
        `uses: ${uses}`,
        'the built-in actions/checkout is only used pinned to a full commit SHA (actions/checkout@<40 hex digits>)',
        at
      )
    }
    return { kind: 'checkout', sha: ref.ref }
  }
  throw new UnsupportedError(
    `uses: ${uses}`,
    `third-party action: map ${repository} to a local directory in opts.actions (only actions/checkout is built in)`,
    at
  )
}

function inputEnv(inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.replace(/ /g, '_').toUpperCase()}`] = value
  return env
}

/** The action's inputs: what `with:` gave, then each declared input's default (an expression is evaluated). */
export function actionInputs(
  action: ParsedAction,
  given: Record<string, string>,
  contexts: Contexts,
  scope: StepsScope,
  annotations: Annotation[]
): Record<string, string> {
  const declared = action.template.inputs ?? []
  const result: Record<string, string> = { ...given }
  const givenKeys = new Set(Object.keys(given).map(k => k.toLowerCase()))
  for (const input of declared) {
    if (givenKeys.has(input.id.toLowerCase())) {
      if (input.deprecationMessage)
        annotations.push({ level: 'warning', message: `Input '${input.id}' has been deprecated with message: ${input.deprecationMessage}` })
      continue
    }
    result[input.id] = input.default ? evaluateString(input.default, contexts, statusOf(scope.status), action.file) : ''
  }
  const valid = declared.map(i => i.id)
  const unexpected = Object.keys(given).filter(k => !valid.some(v => v.toLowerCase() === k.toLowerCase()))
  if (unexpected.length) {
    annotations.push({ level: 'warning', message: `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${valid.join("', '")}']` })
  }
  return result
}

const MAX_COMPOSITE_DEPTH = 9

export async function runUsesStep(
  def: StepDef,
  scope: StepsScope,
  env: Record<string, string>,
  overrides: Record<string, string>,
  contexts: Contexts,
  timeoutMinutes: number | undefined,
  name: string
): Promise<Execution> {
  const job = scope.job
  const opts = job.run.opts
  const uses = (def.uses as { value: string }).value
  const at = where(def.file, def.uses)
  const source = resolveAction(uses, at, opts, job.workspace) as ActionSource
  const given = evaluateStringMap(def.with, contexts, statusOf(scope.status), def.file)

  if (source.kind === 'checkout') {
    const annotations: Annotation[] = []
    const unexpected = checkoutUnexpectedInputs(given)
    if (unexpected.length) annotations.push({ level: 'warning', message: `Unexpected input(s) '${unexpected.join("', '")}'` })
    const github = job.contexts.github
    try {
      const result = runCheckout({
        inputs: given,
        repository: opts.repository,
        repositoryDir: opts.repositoryDir,
        workspace: job.workspace,
        sha: String(github.sha),
        ref: String(github.ref),
        at,
        env: { ...job.run.baseEnv, GIT_TERMINAL_PROMPT: '0' }
      })
      for (const line of result.stdout.trimEnd().split('\n')) job.run.log(`${scope.label}  ${line}`)
      return { ok: true, outputs: result.outputs, stdout: job.masker.mask(result.stdout), stderr: '', annotations }
    } catch (e) {
      if (isRefusal(e)) throw e
      annotations.push({ level: 'error', message: job.masker.mask(e instanceof Error ? e.message : String(e)) })
      return { ok: false, outputs: {}, stdout: '', stderr: '', annotations }
    }
  }

  if (!['action.yml', 'action.yaml'].some(f => existsSync(path.join(source.dir, f)))) {
    const hint = source.kind === 'local' ? ' Did you forget to run actions/checkout before running your local action?' : ''
    return {
      ok: false,
      outputs: {},
      stdout: '',
      stderr: '',
      annotations: [{ level: 'error', message: `Can't find 'action.yml' or 'action.yaml' under '${source.dir}'.${hint}` }]
    }
  }
  const action = loadAction(source.dir, uses, at)
  const annotations: Annotation[] = []
  const inputs = actionInputs(action, given, contexts, scope, annotations)
  const runs = action.template.runs
  const actionAt = where(action.file, prop(prop(action.root, 'runs'), 'using'))
  const github: Record<string, unknown> =
    source.kind === 'repository' ? { action_repository: source.repository, action_ref: source.ref } : { action_repository: '', action_ref: '' }
  let exec: Execution
  if (runs.using === 'node20' || runs.using === 'node24') {
    const node = runs as ActionRunsNode
    if (node.pre) throw new UnsupportedError('runs.pre', `${uses}: pre: scripts are not run by the local runner`, actionAt)
    if (node.post) throw new UnsupportedError('runs.post', `${uses}: post: scripts are not run by the local runner`, actionAt)
    exec = await runStepProcess(
      scope,
      {
        command: process.execPath,
        args: [path.join(action.dir, node.main)],
        cwd: job.workspace,
        env,
        extra: inputEnv(inputs),
        timeoutMinutes,
        name,
        github: { ...github, action: def.contextName }
      },
      def
    )
  } else if (runs.using === 'composite') {
    exec = await runComposite(action, runs as ActionRunsComposite, scope, inputs, overrides, github, def)
  } else {
    throw new UnsupportedError(`runs.using: ${runs.using}`, `${uses}: only node20, node24 and composite actions run here`, actionAt)
  }
  return { ...exec, annotations: [...annotations, ...exec.annotations] }
}

async function runComposite(
  action: ParsedAction,
  runs: ActionRunsComposite,
  scope: StepsScope,
  inputs: Record<string, string>,
  overrides: Record<string, string>,
  github: Record<string, unknown>,
  def: StepDef
): Promise<Execution> {
  const job = scope.job
  if (scope.depth + 1 > MAX_COMPOSITE_DEPTH) {
    return {
      ok: false,
      outputs: {},
      stdout: '',
      stderr: '',
      annotations: [{ level: 'error', message: `Composite action depth exceeded max depth ${MAX_COMPOSITE_DEPTH}` }]
    }
  }
  const jobStatus = job.status
  const status: JobStatus = {
    failed: false,
    get cancelled() {
      return jobStatus.cancelled
    },
    set cancelled(v: boolean) {
      jobStatus.cancelled = v
    }
  }
  const child: StepsScope = {
    job,
    file: action.file,
    steps: {},
    status,
    inputs: { ...inputs },
    github: { ...github, action_path: action.dir, action: def.contextName },
    envOverrides: overrides,
    depth: scope.depth + 1,
    composite: true,
    label: `${scope.label}  `
  }
  const defs = stepDefs(action.file, prop(prop(action.root, 'runs'), 'steps'), runs.steps)
  const steps = await runSteps(defs, child)
  const outputs: Record<string, string> = {}
  const annotations: Annotation[] = steps.flatMap(s => s.annotations)
  let ok = !status.failed
  try {
    const contexts = stepContexts(child, { ...job.env, ...overrides })
    for (const output of action.template.outputs ?? []) {
      outputs[output.id] = output.value ? evaluateString(output.value, contexts, statusOf(status), action.file) : ''
    }
  } catch (e) {
    if (isRefusal(e)) throw e
    ok = false
    annotations.push({ level: 'error', message: e instanceof Error ? e.message : String(e) })
  }
  return {
    ok,
    outputs,
    stdout: steps.map(s => s.stdout).join(''),
    stderr: steps.map(s => s.stderr).join(''),
    annotations,
    steps
  }
}
