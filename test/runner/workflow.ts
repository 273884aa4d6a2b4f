// A workflow run: validate (GitHub's parser, then this runner's refusals, before anything runs),
// decide whether the event triggers it, then run the jobs one at a time in dependency order (a job
// starts once every job it needs has finished; ties go to the order of the file). A job's `if:`
// is evaluated first (default success(): every needed job succeeded; failure(): a job it needs,
// directly or not, failed), then its strategy; a job that calls a reusable workflow runs the
// called workflow's jobs (reported as `<caller>/<job>`) with the caller's github context, the
// inputs and secrets it passes (or inherits), and maps on.workflow_call.outputs to its outputs.
import { randomInt } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import * as path from 'node:path'
import { mappedRepository, parseUses, resolveAction } from './actions.js'
import { Masker } from './commands.js'
import { recordOutput } from '../support/secret-hygiene.js'
import { baseEnv, refInfo } from './contexts.js'
import { UnsupportedError, WorkflowError, type Where } from './errors.js'
import { checkTrigger } from './events.js'
import {
  alwaysSucceeding,
  evaluateCondition,
  evaluateString,
  evaluateStringMap,
  evaluateToken,
  toStringValue,
  type Contexts,
  type Status
} from './expressions.js'
import { evaluateConcurrency, foreignLabel, runJob, type JobPlan } from './job.js'
import { buildStrategy } from './matrix.js'
import {
  hasExpression,
  isExpressionToken,
  isMappingToken,
  isSequenceToken,
  isStringToken,
  jobToken,
  keys,
  literalString,
  loadWorkflow,
  prop,
  where,
  type Job,
  type MappingToken,
  type ParsedWorkflow,
  type ReusableWorkflowJob,
  type TemplateToken
} from './parse.js'
import type { Run, WorkflowFrame } from './scope.js'
import { isRefusal } from './steps.js'
import type { JobConclusion, JobRun, RunWorkflowOptions, WorkflowRun } from './types.js'

const MAX_WORKFLOW_DEPTH = 10

interface Called {
  workflow: ParsedWorkflow
  repoRoot: string
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function prefixOf(file: string, token: TemplateToken | undefined): string {
  return token?.line ? `${file} (Line: ${token.line}, Col: ${token.col ?? 1}): ` : `${file}: `
}

/** `<root>/.github/workflows/x.yml` -> `<root>` (GitHub only runs workflows from that directory). */
function repoRootOf(file: string): string {
  const dir = path.dirname(file)
  if (path.basename(dir) !== 'workflows' || path.basename(path.dirname(dir)) !== '.github') {
    throw new WorkflowError(`${file}: workflows live in .github/workflows/ of a repository`)
  }
  return path.dirname(path.dirname(dir))
}

function onEvent(workflow: ParsedWorkflow, event: string): TemplateToken | undefined {
  return prop(prop(workflow.root, 'on'), event)
}

/** Where `jobs.<id>.uses` points to. */
function resolveWorkflowRef(ref: string, from: Called, opts: RunWorkflowOptions, at: Where): string {
  if (ref.startsWith('./')) {
    if (!ref.startsWith('./.github/workflows/'))
      throw new WorkflowError(`${at.file}:${at.line}: uses: ${ref}: a local reusable workflow is ./.github/workflows/<file>`)
    return path.join(from.repoRoot, ref)
  }
  const parsed = parseUses(ref)
  if (!parsed || parsed.kind !== 'remote' || !parsed.subPath.startsWith('.github/workflows/')) {
    throw new WorkflowError(
      `${at.file}:${at.line}: uses: ${ref}: a reusable workflow is owner/repo/.github/workflows/<file>@ref or ./.github/workflows/<file>`
    )
  }
  const dir = mappedRepository(opts, `${parsed.owner}/${parsed.repo}`)
  if (dir === undefined) {
    throw new UnsupportedError(`uses: ${ref}`, `reusable workflow of ${parsed.owner}/${parsed.repo}: map it to a local directory in opts.actions`, at)
  }
  return path.join(dir, parsed.subPath)
}

/** The refusals that need no run: every job, step and called workflow is checked before the first job starts. */
async function preflight(called: Called, opts: RunWorkflowOptions, cache: Map<string, Called>, depth: number): Promise<void> {
  const { workflow } = called
  const file = workflow.file
  const wfShell = prop(prop(prop(workflow.root, 'defaults'), 'run'), 'shell')
  const refuseShell = (token: TemplateToken | undefined): void => {
    const shell = literalString(token)
    if (shell !== undefined && shell !== 'bash') {
      throw new UnsupportedError(`shell: ${shell}`, 'only bash runs here', where(file, token))
    }
  }
  refuseShell(wfShell)
  for (const job of workflow.template.jobs ?? []) {
    const id = job.id.value
    const token = jobToken(workflow, id)
    if (job.type === 'reusableWorkflowJob') {
      if (depth + 1 >= MAX_WORKFLOW_DEPTH)
        throw new WorkflowError(`${file}: jobs.${id}: reusable workflows nest deeper than ${MAX_WORKFLOW_DEPTH} levels`)
      const ref = (job as ReusableWorkflowJob).ref
      const target = resolveWorkflowRef(ref.value, called, opts, where(file, ref))
      let child = cache.get(target)
      if (!child) {
        child = { workflow: await loadWorkflow(target), repoRoot: repoRootOf(target) }
        cache.set(target, child)
        if (!onEvent(child.workflow, 'workflow_call') && !('workflow_call' in (child.workflow.template.events ?? {}))) {
          throw new WorkflowError(`${file}:${ref.line}: uses: ${ref.value}: ${target} is not a reusable workflow (no on.workflow_call)`)
        }
        await preflight(child, opts, cache, depth + 1)
      }
      const defs = prop(onEvent(child.workflow, 'workflow_call'), 'inputs')
      const secretDefs = prop(onEvent(child.workflow, 'workflow_call'), 'secrets')
      const withToken = prop(token, 'with')
      for (const key of keys(withToken)) {
        if (!keys(defs).includes(key))
          throw new WorkflowError(`${prefixOf(file, withToken)}Invalid input, ${key} is not defined in the referenced workflow.`)
      }
      for (const name of keys(defs)) {
        const def = prop(defs, name)
        if (prop(def, 'required') && evaluateToken(prop(def, 'required'), {}, alwaysSucceeding, file) === true && !keys(withToken).includes(name)) {
          throw new WorkflowError(`${prefixOf(file, token)}Input ${name} is required, but not provided while calling.`)
        }
      }
      const secretsToken = prop(token, 'secrets')
      if (isMappingToken(secretsToken)) {
        for (const key of keys(secretsToken)) {
          if (!keys(secretDefs).includes(key))
            throw new WorkflowError(`${prefixOf(file, secretsToken)}Invalid secret, ${key} is not defined in the referenced workflow.`)
        }
      }
      continue
    }
    const runsOn = prop(token, 'runs-on')
    if (runsOn && !hasExpression(runsOn)) {
      const foreign = foreignLabel(evaluateToken(runsOn, {}, alwaysSucceeding, file))
      if (foreign) throw new UnsupportedError(`runs-on: ${foreign}`, 'steps run on this Linux machine', where(file, runsOn))
    }
    for (const key of ['container', 'services', 'snapshot']) {
      if (prop(token, key))
        throw new UnsupportedError(
          `jobs.${id}.${key}`,
          `${key === 'snapshot' ? 'runner snapshots' : 'containers'} are not supported`,
          where(file, prop(token, key))
        )
    }
    if (prop(token, 'continue-on-error')) {
      throw new UnsupportedError(
        `jobs.${id}.continue-on-error`,
        'a job that may fail without failing the run is not supported',
        where(file, prop(token, 'continue-on-error'))
      )
    }
    refuseShell(prop(prop(prop(token, 'defaults'), 'run'), 'shell'))
    const steps = prop(token, 'steps')
    if (isSequenceToken(steps)) {
      for (const step of steps) {
        for (const key of ['background', 'wait', 'wait-all', 'cancel', 'parallel']) {
          if (prop(step, key))
            throw new UnsupportedError(`step ${key}:`, 'background and parallel steps are not supported', where(file, prop(step, key)))
        }
        refuseShell(prop(step, 'shell'))
        const uses = prop(step, 'uses')
        if (isStringToken(uses)) resolveAction(uses.value, where(file, uses), opts)
      }
    }
  }
}

type InputType = 'string' | 'boolean' | 'number' | 'choice' | 'environment'

interface InputDef {
  name: string
  type: InputType
  required: boolean
  default?: TemplateToken
  options?: string[]
}

function inputDefs(token: TemplateToken | undefined, file: string): InputDef[] {
  return keys(token).map(name => {
    const def = prop(token, name)
    const type = (literalString(prop(def, 'type')) ?? 'string') as InputType
    const required = evaluateToken(prop(def, 'required'), {}, alwaysSucceeding, file) === true
    const options = prop(def, 'options')
    return {
      name,
      type,
      required,
      default: prop(def, 'default'),
      options: isSequenceToken(options) ? (evaluateToken(options, {}, alwaysSucceeding, file) as unknown[]).map(String) : undefined
    }
  })
}

function zero(type: InputType): unknown {
  return type === 'boolean' ? false : type === 'number' ? 0 : ''
}

/** A value given as a string (the API's workflow_dispatch inputs; a top-level workflow_call) as its input type. */
function typedFromString(def: InputDef, value: string): unknown {
  if (def.type === 'boolean') {
    if (value !== 'true' && value !== 'false') throw new WorkflowError(`input ${def.name}: ${JSON.stringify(value)} is not a boolean (true or false)`)
    return value === 'true'
  }
  if (def.type === 'number') {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n)) throw new WorkflowError(`input ${def.name}: ${JSON.stringify(value)} is not a number`)
    return n
  }
  if (def.type === 'choice' && def.options && !def.options.includes(value)) {
    throw new WorkflowError(`input ${def.name}: ${JSON.stringify(value)} is not one of the options ${JSON.stringify(def.options)}`)
  }
  return value
}

function defaultOf(def: InputDef, contexts: Contexts, file: string): unknown {
  if (!def.default) return zero(def.type)
  const value = evaluateToken(def.default, contexts, alwaysSucceeding, file)
  if (typeof value === 'string' && def.type !== 'string' && def.type !== 'choice' && def.type !== 'environment') return typedFromString(def, value)
  return value ?? zero(def.type)
}

/** The inputs context of a workflow_dispatch or a top-level workflow_call. */
function eventInputs(workflow: ParsedWorkflow, opts: RunWorkflowOptions, contexts: Contexts): Record<string, unknown> {
  const given = opts.inputs ?? {}
  if (opts.event.name !== 'workflow_dispatch' && opts.event.name !== 'workflow_call') {
    if (Object.keys(given).length) throw new WorkflowError(`inputs were given, but a ${opts.event.name} event has none`)
    return {}
  }
  const defs = inputDefs(prop(onEvent(workflow, opts.event.name), 'inputs'), workflow.file)
  const unknown = Object.keys(given).filter(k => !defs.some(d => d.name === k))
  if (unknown.length) throw new WorkflowError(`Unexpected inputs provided: ${JSON.stringify(unknown)}`)
  const result: Record<string, unknown> = {}
  for (const def of defs) {
    if (def.name in given) result[def.name] = typedFromString(def, given[def.name])
    else if (def.required && !def.default) throw new WorkflowError(`Required input '${def.name}' not provided`)
    else result[def.name] = defaultOf(def, contexts, workflow.file)
  }
  if (opts.event.name === 'workflow_call') {
    for (const name of keys(prop(onEvent(workflow, 'workflow_call'), 'secrets'))) {
      const def = prop(prop(onEvent(workflow, 'workflow_call'), 'secrets'), name)
      const required = evaluateToken(prop(def, 'required'), {}, alwaysSucceeding, workflow.file) === true
      if (required && !(opts.secrets ?? {})[name]) throw new WorkflowError(`Secret ${name} is required, but not provided while calling.`)
    }
  }
  return result
}

function workflowName(workflow: ParsedWorkflow): string {
  const name = literalString(prop(workflow.root, 'name'))
  return name ?? path.relative(repoRootOf(workflow.file), workflow.file)
}

function checkOptions(opts: RunWorkflowOptions): void {
  for (const key of ['workflowFile', 'repositoryDir', 'tempDir'] as const) {
    if (!path.isAbsolute(opts[key])) throw new WorkflowError(`opts.${key} must be an absolute path, got ${JSON.stringify(opts[key])}`)
  }
  if (!/^[^/\s]+\/[^/\s]+$/.test(opts.repository))
    throw new WorkflowError(`opts.repository must be owner/name, got ${JSON.stringify(opts.repository)}`)
  if (!/^[0-9a-f]{40}$/.test(opts.sha)) throw new WorkflowError(`opts.sha must be a full commit SHA, got ${JSON.stringify(opts.sha)}`)
  for (const [name, dir] of Object.entries(opts.actions ?? {})) {
    if (!path.isAbsolute(dir)) throw new WorkflowError(`opts.actions[${JSON.stringify(name)}] must be an absolute path`)
  }
}

export async function runWorkflow(opts: RunWorkflowOptions): Promise<WorkflowRun> {
  checkOptions(opts)
  const workflow = await loadWorkflow(opts.workflowFile)
  const top: Called = { workflow, repoRoot: repoRootOf(opts.workflowFile) }
  const cache = new Map<string, Called>([[opts.workflowFile, top]])
  await preflight(top, opts, cache, 0)
  const name = workflowName(workflow)
  const trigger = checkTrigger(workflow, opts)
  // Every line the run logs is scanned for registered secrets after the test file.
  const log = (line: string): void => {
    recordOutput(`workflow "${name}" log`, line)
    opts.log?.(line)
  }
  if (!trigger.triggered) {
    log(`${name}: not triggered: ${trigger.reason}`)
    return { conclusion: 'success', jobs: [], triggered: false, reason: trigger.reason, name }
  }

  const runId = String(randomInt(1_000_000_000, 9_999_999_999))
  const apiUrl = opts.env?.GITHUB_API_URL ?? 'https://api.github.com'
  const payload = { ...opts.event.payload }
  const owner = opts.repository.split('/')[0]
  const sender = (payload.sender as { login?: string } | undefined)?.login ?? owner
  const github: Record<string, unknown> = {
    event: payload,
    event_name: opts.event.name,
    sha: opts.sha,
    ref: opts.ref,
    ...refInfo(opts.ref, opts.event.name, payload),
    ref_protected: false,
    repository: opts.repository,
    repository_owner: owner,
    run_id: runId,
    run_number: '1',
    run_attempt: '1',
    retention_days: '90',
    server_url: opts.env?.GITHUB_SERVER_URL ?? 'https://github.com',
    api_url: apiUrl,
    graphql_url: `${apiUrl.replace(/\/$/, '')}/graphql`,
    actor: sender,
    triggering_actor: sender,
    workflow: name,
    workflow_ref: `${opts.repository}/${path.relative(top.repoRoot, opts.workflowFile)}@${opts.ref}`,
    workflow_sha: opts.sha,
    token: opts.token ?? '',
    secret_source: 'Actions'
  }
  const inputs = eventInputs(workflow, opts, { github, inputs: {}, vars: opts.vars ?? {} })
  if (opts.event.name === 'workflow_dispatch' && payload.inputs === undefined) {
    payload.inputs = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)]))
  }
  // Environment secrets are masked only in the jobs that use their environment (job.ts).
  const masker = new Masker([...Object.values(opts.secrets ?? {}), ...(opts.token ? [opts.token] : [])])
  const root = path.join(opts.tempDir, `run-${runId}`)
  mkdirSync(root, { recursive: true })
  const run: Run = { opts, runId, runNumber: '1', log, jobSeq: 0, masker, baseEnv: baseEnv(opts), github, root }
  const frame: WorkflowFrame = {
    run,
    workflow,
    repoRoot: top.repoRoot,
    inputs,
    secrets: { ...(opts.secrets ?? {}) },
    idPrefix: '',
    namePrefix: '',
    depth: 0
  }

  const contexts: Contexts = { github, inputs, vars: opts.vars ?? {} }
  const result: WorkflowRun = { conclusion: 'success', jobs: [], triggered: true, name }
  const runNameToken = prop(workflow.root, 'run-name')
  if (runNameToken) result.runName = evaluateString(runNameToken, contexts, alwaysSucceeding, workflow.file)
  const concurrency = evaluateConcurrency(prop(workflow.root, 'concurrency'), contexts, workflow.file)
  if (concurrency) result.concurrency = concurrency
  const permissions = prop(workflow.root, 'permissions')
  if (permissions) result.permissions = evaluateToken(permissions, contexts, alwaysSucceeding, workflow.file)

  log(`${name}: ${opts.event.name} on ${opts.ref} (${opts.sha.slice(0, 7)})`)
  const { jobs } = await runJobs(frame, cache)
  result.jobs = jobs
  result.conclusion = jobs.some(j => j.conclusion === 'failure' || j.conclusion === 'cancelled') ? 'failure' : 'success'
  log(`${name}: ${result.conclusion}`)
  return result
}

interface JobResult {
  result: JobConclusion
  outputs: Record<string, string>
}

async function runJobs(frame: WorkflowFrame, cache: Map<string, Called>): Promise<{ jobs: JobRun[]; results: Map<string, JobResult> }> {
  const results = new Map<string, JobResult>()
  const jobs: JobRun[] = []
  const pending = [...(frame.workflow.template.jobs ?? [])]
  const needsOf = new Map(pending.map(j => [j.id.value, (j.needs ?? []).map(n => n.value)]))
  while (pending.length) {
    const index = pending.findIndex(j => (j.needs ?? []).every(n => results.has(n.value)))
    if (index < 0) throw new WorkflowError(`${frame.workflow.file}: jobs ${pending.map(j => j.id.value).join(', ')} can never start`)
    const [job] = pending.splice(index, 1)
    const { runs, result } = await runWorkflowJob(frame, job, results, needsOf, cache)
    jobs.push(...runs)
    results.set(job.id.value, result)
  }
  return { jobs, results }
}

function ancestors(id: string, needsOf: Map<string, string[]>, seen = new Set<string>()): Set<string> {
  for (const n of needsOf.get(id) ?? []) {
    if (seen.has(n)) continue
    seen.add(n)
    ancestors(n, needsOf, seen)
  }
  return seen
}

function aggregate(runs: JobRun[]): JobConclusion {
  if (runs.some(r => r.conclusion === 'failure')) return 'failure'
  if (runs.some(r => r.conclusion === 'cancelled')) return 'cancelled'
  if (runs.length > 0 && runs.every(r => r.conclusion === 'skipped')) return 'skipped'
  return 'success'
}

async function runWorkflowJob(
  frame: WorkflowFrame,
  job: Job | ReusableWorkflowJob,
  results: Map<string, JobResult>,
  needsOf: Map<string, string[]>,
  cache: Map<string, Called>
): Promise<{ runs: JobRun[]; result: JobResult }> {
  const run = frame.run
  const file = frame.workflow.file
  const id = job.id.value
  const token = jobToken(frame.workflow, id)
  const direct = needsOf.get(id) ?? []
  const needs: Record<string, unknown> = {}
  for (const n of direct) needs[n] = { result: results.get(n)?.result, outputs: results.get(n)?.outputs ?? {} }
  const status: Status = {
    success: () => direct.every(n => results.get(n)?.result === 'success'),
    failure: () => [...ancestors(id, needsOf)].some(n => results.get(n)?.result === 'failure'),
    cancelled: () => false
  }
  const nameToken = prop(token, 'name')
  const baseName = literalString(nameToken) || id
  const fullId = `${frame.idPrefix}${id}`
  const display = (n: string): string => `${frame.namePrefix}${n}`
  const failedRun = (message: string, name = display(baseName)): { runs: JobRun[]; result: JobResult } => {
    const error = run.masker.mask(message)
    run.log(`[${name}] ✗ ${error}`)
    return {
      runs: [{ id: fullId, name, conclusion: 'failure', outputs: {}, steps: [], summary: '', error }],
      result: { result: 'failure', outputs: {} }
    }
  }
  const contexts: Contexts = { github: { ...run.github, job: id }, needs, vars: run.opts.vars ?? {}, inputs: frame.inputs }

  let go: boolean
  try {
    go = evaluateCondition(job.if, contexts, status, file)
  } catch (e) {
    if (isRefusal(e)) throw e
    return failedRun(`Error when evaluating 'if' for job '${id}'. ${errorText(e)}`)
  }
  if (!go) {
    run.log(`[${display(baseName)}] skipped`)
    return {
      runs: [{ id: fullId, name: display(baseName), conclusion: 'skipped', outputs: {}, steps: [], summary: '' }],
      result: { result: 'skipped', outputs: {} }
    }
  }

  let strategy
  try {
    const strategyToken = prop(token, 'strategy')
    const value = strategyToken ? evaluateToken(strategyToken, contexts, alwaysSucceeding, file) : undefined
    strategy = buildStrategy(value, prefixOf(file, prop(strategyToken, 'matrix') ?? strategyToken))
  } catch (e) {
    if (isRefusal(e)) throw e
    return failedRun(`Error when evaluating 'strategy' for job '${id}'. ${errorText(e)}`)
  }

  const runs: JobRun[] = []
  const outputs: Record<string, string> = {}
  const total = strategy.configs.length
  const hasStrategy = prop(token, 'strategy') !== undefined
  for (const [index, config] of strategy.configs.entries()) {
    const strategyContext = {
      'fail-fast': strategy.failFast,
      'job-index': index,
      'job-total': total,
      'max-parallel': strategy.maxParallel && strategy.maxParallel > 0 ? strategy.maxParallel : total
    }
    let name = config.segments.length ? `${baseName} (${config.segments.join(', ')})` : baseName
    if (name.length > 100) name = `${name.slice(0, 97)}...`
    if (isExpressionToken(nameToken)) {
      try {
        name = evaluateString(nameToken, { ...contexts, matrix: config.matrix ?? null, strategy: strategyContext }, alwaysSucceeding, file) || id
      } catch (e) {
        if (isRefusal(e)) throw e
        runs.push(failedRun(`Error when evaluating 'name' for job '${id}'. ${errorText(e)}`).runs[0])
        continue
      }
    }
    const strategyInfo = hasStrategy
      ? { failFast: strategy.failFast, ...(strategy.maxParallel ? { maxParallel: strategy.maxParallel } : {}), jobIndex: index, jobTotal: total }
      : undefined
    if (strategy.failFast && runs.some(r => r.conclusion === 'failure')) {
      run.log(`[${display(name)}] cancelled (fail-fast: another job of the matrix failed)`)
      runs.push({
        id: fullId,
        name: display(name),
        ...(config.matrix ? { matrix: config.matrix } : {}),
        conclusion: 'cancelled',
        outputs: {},
        steps: [],
        summary: '',
        ...(strategyInfo ? { strategy: strategyInfo } : {})
      })
      continue
    }
    const plan: JobPlan = { job: job as Job, token, id, name: display(name), matrix: config.matrix, strategy: strategyContext, strategyInfo, needs }
    const jobRuns =
      job.type === 'reusableWorkflowJob' ? await callWorkflow(frame, job as ReusableWorkflowJob, plan, cache) : [await runJob(frame, plan)]
    runs.push(...jobRuns)
    const own = jobRuns[jobRuns.length - 1]
    for (const [k, v] of Object.entries(own.outputs)) outputs[k] = v
  }
  const mine = runs.filter(r => r.id === fullId)
  return { runs, result: { result: aggregate(mine), outputs } }
}

/** A job that calls a reusable workflow (one matrix combination). */
async function callWorkflow(frame: WorkflowFrame, job: ReusableWorkflowJob, plan: JobPlan, cache: Map<string, Called>): Promise<JobRun[]> {
  const run = frame.run
  const file = frame.workflow.file
  const token = plan.token
  const fullId = `${frame.idPrefix}${plan.id}`
  const ref = job.ref.value
  const caller: Called = { workflow: frame.workflow, repoRoot: frame.repoRoot }
  const target = resolveWorkflowRef(ref, caller, run.opts, where(file, job.ref))
  const called = cache.get(target) as Called
  const jobRun: JobRun = {
    id: fullId,
    name: plan.name,
    ...(plan.matrix ? { matrix: plan.matrix } : {}),
    conclusion: 'success',
    outputs: {},
    steps: [],
    summary: '',
    uses: ref,
    ...(plan.strategyInfo ? { strategy: plan.strategyInfo } : {})
  }
  const contexts: Contexts = {
    github: { ...run.github, job: plan.id },
    needs: plan.needs,
    strategy: plan.strategy,
    matrix: plan.matrix ?? null,
    vars: run.opts.vars ?? {},
    inputs: frame.inputs,
    secrets: { ...frame.secrets, GITHUB_TOKEN: run.opts.token ?? '' }
  }
  const callEvent = onEvent(called.workflow, 'workflow_call')
  let inputs: Record<string, unknown>
  let secrets: Record<string, string>
  try {
    const concurrency = evaluateConcurrency(prop(token, 'concurrency'), contexts, file)
    if (concurrency) jobRun.concurrency = concurrency
    const permissions = prop(token, 'permissions') ?? prop(frame.workflow.root, 'permissions')
    if (permissions) jobRun.permissions = evaluateToken(permissions, contexts, alwaysSucceeding, file)
    const given: Record<string, unknown> = {}
    const withToken = job['input-values'] as MappingToken | undefined
    if (withToken)
      for (const pair of withToken)
        given[(pair.key as unknown as { value: string }).value] = evaluateToken(pair.value, contexts, alwaysSucceeding, file)
    inputs = {}
    for (const def of inputDefs(prop(callEvent, 'inputs'), called.workflow.file)) {
      if (!(def.name in given) || given[def.name] === null) {
        inputs[def.name] = defaultOf(def, { github: run.github, inputs: {}, vars: run.opts.vars ?? {} }, called.workflow.file)
        continue
      }
      const v = given[def.name]
      if (def.type === 'boolean') {
        if (typeof v !== 'boolean')
          throw new Error(`${prefixOf(file, withToken)}Unexpected value '${String(v)}' for input ${def.name}: a boolean was expected`)
        inputs[def.name] = v
      } else if (def.type === 'number') {
        const n = typeof v === 'number' ? v : Number(v)
        if (typeof v === 'boolean' || !Number.isFinite(n) || (typeof v === 'string' && v.trim() === '')) {
          throw new Error(`${prefixOf(file, withToken)}Unexpected value '${String(v)}' for input ${def.name}: a number was expected`)
        }
        inputs[def.name] = n
      } else {
        inputs[def.name] = toStringValue(v, file, withToken)
      }
    }
    if (job['inherit-secrets']) secrets = { ...frame.secrets }
    else secrets = evaluateStringMap(job['secret-values'], contexts, alwaysSucceeding, file)
    for (const name of keys(prop(callEvent, 'secrets'))) {
      const required = evaluateToken(prop(prop(prop(callEvent, 'secrets'), name), 'required'), {}, alwaysSucceeding, called.workflow.file) === true
      if (required && !secrets[name]) throw new Error(`${prefixOf(file, token)}Secret ${name} is required, but not provided while calling.`)
    }
  } catch (e) {
    if (isRefusal(e)) throw e
    jobRun.conclusion = 'failure'
    jobRun.error = errorText(e)
    run.log(`[${plan.name}] ✗ ${jobRun.error}`)
    return [jobRun]
  }

  if (frame.depth + 1 >= MAX_WORKFLOW_DEPTH) {
    jobRun.conclusion = 'failure'
    jobRun.error = `${ref}: reusable workflows nest deeper than ${MAX_WORKFLOW_DEPTH} levels`
    return [jobRun]
  }
  run.log(`[${plan.name}] calls ${ref}`)
  const child: WorkflowFrame = {
    run,
    workflow: called.workflow,
    repoRoot: called.repoRoot,
    inputs,
    secrets,
    idPrefix: `${fullId}/`,
    namePrefix: `${plan.name} / `,
    depth: frame.depth + 1
  }
  const { jobs, results } = await runJobs(child, cache)
  const jobsContext: Record<string, unknown> = {}
  for (const [jid, r] of results) jobsContext[jid] = { result: r.result, outputs: r.outputs }
  const outputsToken = prop(callEvent, 'outputs')
  try {
    for (const name of keys(outputsToken)) {
      const value = prop(prop(outputsToken, name), 'value')
      const v = evaluateString(
        value,
        { github: run.github, inputs, vars: run.opts.vars ?? {}, jobs: jobsContext },
        alwaysSucceeding,
        called.workflow.file
      )
      if (v !== '') jobRun.outputs[name] = v
    }
  } catch (e) {
    if (isRefusal(e)) throw e
    jobRun.conclusion = 'failure'
    jobRun.error = errorText(e)
  }
  if (jobs.some(j => j.conclusion === 'failure' || j.conclusion === 'cancelled')) jobRun.conclusion = 'failure'
  run.log(`[${plan.name}] ${jobRun.conclusion}`)
  return [...jobs, jobRun]
}
