// One job (one matrix combination): what GitHub evaluates before the steps (environment, runs-on,
// concurrency, env, defaults, timeout-minutes), the steps, then the job's outputs (empty ones and
// ones holding a secret are dropped, as the runner does) and the environment's url.
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { runnerArch } from './contexts.js'
import { UnsupportedError } from './errors.js'
import { alwaysSucceeding, evaluateBoolean, evaluateNumber, evaluateString, evaluateStringMap, evaluateToken, type Contexts } from './expressions.js'
import { isMappingToken, prop, stepDefs, where, type Job, type MappingToken, type TemplateToken } from './parse.js'
import type { JobScope, StepsScope, WorkflowFrame } from './scope.js'
import { stepContexts } from './scope.js'
import { killOrphans } from './process.js'
import { isRefusal, runSteps } from './steps.js'
import type { JobRun, StepRun } from './types.js'

export interface JobPlan {
  job: Job
  token: MappingToken
  id: string
  name: string
  matrix: Record<string, unknown> | undefined
  strategy: Record<string, unknown>
  strategyInfo?: JobRun['strategy']
  needs: Record<string, unknown>
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export function evaluateConcurrency(token: TemplateToken | undefined, contexts: Contexts, file: string): JobRun['concurrency'] {
  if (!token) return undefined
  const value = evaluateToken(token, contexts, alwaysSucceeding, file)
  if (typeof value === 'string') return { group: value, cancelInProgress: false }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const group = evaluateString(prop(token, 'group'), contexts, alwaysSucceeding, file)
    const cancel = prop(token, 'cancel-in-progress')
    return { group, cancelInProgress: evaluateBoolean(cancel, contexts, alwaysSucceeding, file, false) }
  }
  return undefined
}

function runsOnLabels(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.map(String)
  if (value && typeof value === 'object') {
    const labels = (value as { labels?: unknown }).labels
    return labels === undefined ? [] : runsOnLabels(labels)
  }
  return []
}

/** A runs-on label of a machine other than Linux. */
export function foreignLabel(runsOn: unknown): string | undefined {
  return runsOnLabels(runsOn).find(l => /windows|macos|mac-|osx/i.test(l))
}

function defaultsRun(token: TemplateToken | undefined): { shell?: TemplateToken; wd?: TemplateToken } {
  const run = prop(prop(token, 'defaults'), 'run')
  return { shell: prop(run, 'shell'), wd: prop(run, 'working-directory') }
}

export async function runJob(frame: WorkflowFrame, plan: JobPlan): Promise<JobRun> {
  const run = frame.run
  const opts = run.opts
  const file = frame.workflow.file
  const token = plan.token
  const seq = ++run.jobSeq
  const jobRoot = path.join(run.root, `${seq}-${plan.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`)
  const repoName = opts.repository.split('/')[1] ?? 'repo'
  const workspace = path.join(jobRoot, 'work', repoName, repoName)
  const runnerTemp = path.join(jobRoot, 'temp')
  const toolCache = path.join(jobRoot, 'tool-cache')
  for (const d of [workspace, runnerTemp, toolCache]) mkdirSync(d, { recursive: true })
  const eventPath = path.join(runnerTemp, '_github_workflow', 'event.json')
  mkdirSync(path.dirname(eventPath), { recursive: true })
  writeFileSync(eventPath, JSON.stringify(run.github.event, null, 2))

  const jobRun: JobRun = {
    id: `${frame.idPrefix}${plan.id}`,
    name: plan.name,
    ...(plan.matrix ? { matrix: plan.matrix } : {}),
    conclusion: 'success',
    outputs: {},
    steps: [],
    summary: '',
    ...(plan.strategyInfo ? { strategy: plan.strategyInfo } : {})
  }
  const github: Record<string, unknown> = { ...run.github, job: plan.id, workspace, event_path: eventPath, action: '', action_path: '' }
  const runner: Record<string, unknown> = {
    name: 'local-runner',
    os: 'Linux',
    arch: runnerArch(),
    temp: runnerTemp,
    tool_cache: toolCache,
    workspace: path.dirname(workspace),
    environment: 'github-hosted'
  }
  const token0 = opts.token ?? ''
  let secrets: Record<string, string> = { ...frame.secrets, GITHUB_TOKEN: token0 }
  let vars: Record<string, string> = { ...(opts.vars ?? {}) }
  const contexts = (): Contexts => ({
    github,
    needs: plan.needs,
    strategy: plan.strategy,
    matrix: plan.matrix ?? null,
    vars,
    secrets,
    inputs: frame.inputs,
    runner,
    job: { status: 'success' },
    env: {}
  })

  let scope: JobScope
  let urlToken: TemplateToken | undefined
  try {
    const envToken = prop(token, 'environment')
    if (envToken) {
      const nameToken = isMappingToken(envToken) ? prop(envToken, 'name') : envToken
      urlToken = isMappingToken(envToken) ? prop(envToken, 'url') : undefined
      const name = evaluateString(nameToken, contexts(), alwaysSucceeding, file)
      if (name) {
        jobRun.environment = name
        const environment = opts.environments?.[name]
        if (!environment)
          run.log(
            `[${plan.name}] environment ${JSON.stringify(name)} is not in opts.environments: it has no secrets or variables (GitHub creates it empty)`
          )
        secrets = { ...frame.secrets, ...(environment?.secrets ?? {}), GITHUB_TOKEN: token0 }
        vars = { ...(opts.vars ?? {}), ...(environment?.vars ?? {}) }
      }
    }
    const runsOn = evaluateToken(prop(token, 'runs-on'), contexts(), alwaysSucceeding, file)
    jobRun.runsOn = runsOn
    const foreign = foreignLabel(runsOn)
    if (foreign) throw new UnsupportedError(`runs-on: ${foreign}`, 'steps run on this Linux machine', where(file, prop(token, 'runs-on')))
    const concurrency = evaluateConcurrency(prop(token, 'concurrency'), contexts(), file)
    if (concurrency) jobRun.concurrency = concurrency
    const permissions = prop(token, 'permissions') ?? prop(frame.workflow.root, 'permissions')
    if (permissions) jobRun.permissions = evaluateToken(permissions, contexts(), alwaysSucceeding, file)

    const workflowEnv = evaluateStringMap(frame.workflow.template.env, contexts(), alwaysSucceeding, file)
    const jobEnv = evaluateStringMap(plan.job.env, { ...contexts(), env: workflowEnv }, alwaysSucceeding, file)
    const wf = defaultsRun(frame.workflow.root)
    const jd = defaultsRun(token)
    const shellToken = jd.shell ?? wf.shell
    const wdToken = jd.wd ?? wf.wd
    const timeoutMinutes = evaluateNumber(prop(token, 'timeout-minutes'), contexts(), alwaysSucceeding, file) ?? 360
    const debug = secrets.ACTIONS_STEP_DEBUG === 'true' || vars.ACTIONS_STEP_DEBUG === 'true'
    if (debug) runner.debug = '1'
    // A job's masks are the secrets it can read: the repository's (and the token), and its own
    // GitHub Environment's, never another environment's (GitHub sends a job only its secrets).
    const masker = run.masker.clone()
    for (const value of Object.values(secrets)) masker.add(value)
    scope = {
      run,
      frame,
      jobId: plan.id,
      name: plan.name,
      workspace,
      runnerTemp,
      masker,
      env: { ...workflowEnv, ...jobEnv },
      prependPath: [],
      summary: [],
      defaults: {
        shell: shellToken ? evaluateString(shellToken, contexts(), alwaysSucceeding, file) : undefined,
        workingDirectory: wdToken ? evaluateString(wdToken, contexts(), alwaysSucceeding, file) : undefined,
        at: where(file, shellToken)
      },
      deadline: Date.now() + timeoutMinutes * 60_000,
      timeoutMinutes,
      status: { failed: false, cancelled: false },
      trackingId: `github_${randomUUID()}`,
      contexts: { github, vars, secrets, inputs: frame.inputs, needs: plan.needs, matrix: plan.matrix ?? null, strategy: plan.strategy, runner },
      debug
    }
  } catch (e) {
    if (isRefusal(e)) throw e
    jobRun.conclusion = 'failure'
    jobRun.error = run.masker.mask(errorText(e))
    run.log(`[${plan.name}] ✗ ${jobRun.error}`)
    return jobRun
  }

  run.log(`[${plan.name}] job started${plan.matrix ? ` (matrix ${JSON.stringify(plan.matrix)})` : ''}`)
  const steps: StepsScope = {
    job: scope,
    file,
    steps: {},
    status: scope.status,
    inputs: frame.inputs,
    github: {},
    envOverrides: {},
    depth: 0,
    composite: false,
    label: `[${plan.name}] `
  }
  const defs = stepDefs(file, prop(token, 'steps'), plan.job.steps)
  let results: StepRun[]
  try {
    results = await runSteps(defs, steps)
  } finally {
    const killed = await killOrphans(scope.trackingId)
    if (killed) run.log(`[${plan.name}] Cleaning up orphan processes: ${killed} killed`)
  }
  jobRun.steps = results
  jobRun.summary = scope.summary.join('')

  const final = stepContexts(steps, scope.env)
  if (plan.job.outputs && isMappingToken(plan.job.outputs)) {
    try {
      const outputs = evaluateStringMap(plan.job.outputs, final, alwaysSucceeding, file)
      for (const [key, value] of Object.entries(outputs)) {
        if (value === '') continue
        if (scope.masker.has(value)) {
          run.log(`[${plan.name}] Skip output '${key}' since it may contain secret.`)
          continue
        }
        jobRun.outputs[key] = value
      }
    } catch (e) {
      if (isRefusal(e)) throw e
      scope.status.failed = true
      jobRun.error = scope.masker.mask(`Fail to evaluate job outputs: ${errorText(e)}`)
    }
  }
  if (urlToken) {
    try {
      const url = evaluateString(urlToken, final, alwaysSucceeding, file)
      if (url) jobRun.environmentUrl = url
    } catch (e) {
      if (isRefusal(e)) throw e
      jobRun.error = errorText(e)
    }
  }
  if (scope.status.cancelled && !jobRun.error) jobRun.error = `The job has exceeded the maximum execution time of ${scope.timeoutMinutes} minutes`
  jobRun.conclusion = scope.status.failed || scope.status.cancelled ? 'failure' : 'success'
  run.log(`[${plan.name}] job ${jobRun.conclusion}`)
  return jobRun
}
