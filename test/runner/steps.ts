// Running the steps of a job or of a composite action, in the order actions/runner's StepsRunner
// does: the step's env (over the job's env and what GITHUB_ENV set), then its `if:` (with the
// status functions of the job, or of the composite), then the step; continue-on-error turns a
// failure into a success conclusion (the outcome stays failure). After each step its command
// files are read: outputs, env and PATH for the later steps, the summary for the job.
import { randomUUID } from 'node:crypto'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { runUsesStep } from './actions.js'
import { CommandProcessor } from './commands.js'
import { runtimeEnv } from './contexts.js'
import { UnsupportedError, WorkflowError } from './errors.js'
import { evaluateBoolean, evaluateCondition, evaluateNumber, evaluateString, evaluateStringMap, type Contexts } from './expressions.js'
import { createStepFiles, fileSize, parseEnvFile, readIfExists, SUMMARY_LIMIT, type StepFiles } from './files.js'
import { literalString, where, type StepDef } from './parse.js'
import { runProcess } from './process.js'
import { statusOf, stepContexts, type StepsScope } from './scope.js'
import type { Annotation, StepConclusion, StepRun } from './types.js'

/** What executing a step produced (before continue-on-error). */
export interface Execution {
  ok: boolean
  outputs: Record<string, string>
  stdout: string
  stderr: string
  annotations: Annotation[]
  steps?: StepRun[]
}

export function isRefusal(e: unknown): boolean {
  return e instanceof UnsupportedError || e instanceof WorkflowError
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export function defaultStepName(def: StepDef): string {
  if (def.uses) return `Run ${def.uses.value}`
  const run = literalString(def.run) ?? (def.run as { source?: string } | undefined)?.source ?? ''
  const first = run.trim().split('\n')[0] ?? ''
  return `Run ${first}`
}

export async function runSteps(defs: StepDef[], scope: StepsScope): Promise<StepRun[]> {
  const results: StepRun[] = []
  for (const def of defs) results.push(await runStep(def, scope))
  return results
}

function failed(message: string): Execution {
  return { ok: false, outputs: {}, stdout: '', stderr: '', annotations: [{ level: 'error', message }] }
}

async function runStep(def: StepDef, scope: StepsScope): Promise<StepRun> {
  const job = scope.job
  const status = statusOf(scope.status)
  let name = defaultStepName(def)
  const finish = (outcome: StepConclusion, conclusion: StepConclusion, exec: Execution): StepRun => {
    name = job.masker.mask(name)
    for (const a of exec.annotations) a.message = job.masker.mask(a.message)
    const run: StepRun = {
      ...(def.id !== undefined ? { id: def.id } : {}),
      name,
      conclusion,
      outcome,
      outputs: exec.outputs,
      stdout: exec.stdout,
      stderr: exec.stderr,
      annotations: exec.annotations,
      ...(def.uses ? { uses: def.uses.value } : {}),
      ...(exec.steps ? { steps: exec.steps } : {})
    }
    scope.steps[def.contextName] = { outputs: exec.outputs, outcome, conclusion }
    if (conclusion === 'failure') scope.status.failed = true
    const mark = conclusion === 'success' ? '✓' : conclusion === 'skipped' ? '-' : '✗'
    job.run.log(`${scope.label}${mark} ${name}${outcome !== conclusion ? ` (outcome ${outcome})` : ''}`)
    for (const a of exec.annotations) if (a.level === 'error') job.run.log(`${scope.label}  ${a.level}: ${a.message}`)
    return run
  }

  // env: the job's, the composite caller's, then the step's own.
  let env: Record<string, string> = { ...job.env, ...scope.envOverrides }
  let overrides: Record<string, string> = { ...scope.envOverrides }
  try {
    const own = evaluateStringMap(def.env, stepContexts(scope, env), status, def.file)
    env = { ...env, ...own }
    overrides = { ...overrides, ...own }
  } catch (e) {
    if (isRefusal(e)) throw e
    return finish('failure', 'failure', failed(errorText(e)))
  }
  const contexts = stepContexts(scope, env)

  let run: boolean
  try {
    run = evaluateCondition(def.if, contexts, status, def.file)
  } catch (e) {
    if (isRefusal(e)) throw e
    return finish('failure', 'failure', failed(errorText(e)))
  }
  if (def.name) {
    try {
      name = evaluateString(def.name, contexts, status, def.file) || name
    } catch (e) {
      if (isRefusal(e)) throw e
    }
  }
  if (!run) return finish('skipped', 'skipped', { ok: true, outputs: {}, stdout: '', stderr: '', annotations: [] })
  job.run.log(`${scope.label}▶ ${job.masker.mask(name)}`)

  let exec: Execution
  try {
    const timeoutMinutes = evaluateNumber(def.timeoutMinutes, contexts, status, def.file)
    if (def.run) exec = await runScript(def, scope, env, contexts, timeoutMinutes, name)
    else if (def.uses) exec = await runUsesStep(def, scope, env, overrides, contexts, timeoutMinutes, name)
    else throw new UnsupportedError('step', 'a step needs run: or uses:', where(def.file, def.token))
  } catch (e) {
    if (isRefusal(e)) throw e
    exec = failed(errorText(e))
  }
  let conclusion: StepConclusion = exec.ok ? 'success' : 'failure'
  const outcome = conclusion
  if (!exec.ok) {
    try {
      if (evaluateBoolean(def.continueOnError, stepContexts(scope, env), status, def.file, false)) conclusion = 'success'
    } catch (e) {
      if (isRefusal(e)) throw e
      exec.annotations.push({ level: 'error', message: errorText(e) })
    }
  }
  return finish(outcome, conclusion, exec)
}

/** The step's process timeout: its timeout-minutes, capped by what is left of the job's. */
export function timeoutFor(scope: StepsScope, minutes: number | undefined): { ms: number; byJob: boolean } {
  const left = Math.max(1, scope.job.deadline - Date.now())
  const own = minutes !== undefined && minutes > 0 ? minutes * 60_000 : Infinity
  return own <= left ? { ms: own, byJob: false } : { ms: left, byJob: true }
}

export interface ProcessSpec {
  command: string
  args: string[]
  cwd: string
  /** The env context of the step (job env, GITHUB_ENV, the step's env). */
  env: Record<string, string>
  /** Variables that win over the env context (a JavaScript action's INPUT_*). */
  extra?: Record<string, string>
  timeoutMinutes?: number
  name: string
  /** github context keys of this step (action, action_path, ...). */
  github?: Record<string, unknown>
}

/** Runs a step's process with fresh command files; reads them afterwards into the job. */
export async function runStepProcess(scope: StepsScope, spec: ProcessSpec, at: StepDef): Promise<Execution> {
  const job = scope.job
  const files = createStepFiles(job.runnerTemp)
  const github = {
    ...job.contexts.github,
    ...scope.github,
    ...(spec.github ?? {}),
    env: files.env,
    output: files.output,
    path: files.path,
    state: files.state,
    step_summary: files.summary
  }
  const base = job.run.baseEnv
  const prepend = [...job.prependPath].reverse().join(':')
  const currentPath = spec.env.PATH ?? base.PATH ?? ''
  const processEnv: Record<string, string> = {
    ...base,
    ...spec.env,
    ...(spec.extra ?? {}),
    ...runtimeEnv(github, job.contexts.runner)
  }
  processEnv.PATH = prepend ? (currentPath ? `${prepend}:${currentPath}` : prepend) : currentPath
  processEnv.RUNNER_TRACKING_ID = job.trackingId
  if (!existsSync(spec.cwd) || !statSync(spec.cwd).isDirectory()) {
    return {
      ok: false,
      outputs: {},
      stdout: '',
      stderr: '',
      annotations: [
        {
          level: 'error',
          message: `An error occurred trying to start process '${spec.command}' with working directory '${spec.cwd}'. No such file or directory`
        }
      ]
    }
  }
  const commands = new CommandProcessor(job.masker, job.debug, line => job.run.log(`${scope.label}  ${line}`))
  const out = { stdout: [] as string[], stderr: [] as string[] }
  const timeout = timeoutFor(scope, spec.timeoutMinutes)
  const result = await runProcess(spec.command, spec.args, {
    cwd: spec.cwd,
    env: processEnv,
    timeoutMs: Number.isFinite(timeout.ms) ? timeout.ms : undefined,
    onLine: (stream, line) => out[stream].push(commands.line(line))
  })
  if (commands.refused.length > 0) {
    throw new UnsupportedError(`workflow command ${commands.refused[0]}`, `printed by step ${JSON.stringify(spec.name)}`, where(at.file, at.token))
  }
  const annotations = commands.annotations
  let ok = result.exitCode === 0 && !result.timedOut
  if (result.timedOut) {
    if (timeout.byJob) {
      job.status.cancelled = true
      annotations.push({ level: 'error', message: `The job has exceeded the maximum execution time of ${job.timeoutMinutes}m0s` })
    } else {
      annotations.push({ level: 'error', message: `The action '${spec.name}' has timed out after ${spec.timeoutMinutes} minutes.` })
    }
  } else if (result.exitCode !== 0) {
    annotations.push({ level: 'error', message: `Process completed with exit code ${result.exitCode}.` })
  }
  const outputs: Record<string, string> = {}
  try {
    processFiles(scope, files, outputs, annotations)
  } catch (e) {
    ok = false
    annotations.push({ level: 'error', message: `Unable to process file command: ${errorText(e)}` })
  }
  return { ok, outputs, stdout: joinLines(out.stdout), stderr: joinLines(out.stderr), annotations }
}

function joinLines(lines: string[]): string {
  return lines.length ? lines.join('\n') + '\n' : ''
}

function processFiles(scope: StepsScope, files: StepFiles, outputs: Record<string, string>, annotations: Annotation[]): void {
  const job = scope.job
  for (const line of readIfExists(files.path).split('\n')) {
    if (line === '') continue
    const i = job.prependPath.indexOf(line)
    if (i >= 0) job.prependPath.splice(i, 1)
    job.prependPath.push(line)
  }
  for (const [key, value] of parseEnvFile(readIfExists(files.env))) {
    if (key.toUpperCase() === 'NODE_OPTIONS') {
      annotations.push({ level: 'error', message: "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command." })
      continue
    }
    job.env[key] = value
  }
  for (const [key, value] of parseEnvFile(readIfExists(files.output))) outputs[key] = value
  const size = fileSize(files.summary)
  if (size > SUMMARY_LIMIT) {
    annotations.push({
      level: 'error',
      message: `$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of ${SUMMARY_LIMIT / 1024}k, got ${Math.floor(size / 1024)}k.`
    })
  } else if (size > 0) {
    job.summary.push(
      readIfExists(files.summary)
        .split('\n')
        .map(l => job.masker.mask(l))
        .join('\n')
    )
  }
}

/** The shells GitHub's runner uses on Linux (ScriptHandlerHelpers): none given = `bash -e {0}`. */
function shellArgs(shell: string | undefined, def: StepDef, scope: StepsScope): string[] {
  if (shell === undefined || shell === '') return ['-e']
  if (shell === 'bash') return ['--noprofile', '--norc', '-e', '-o', 'pipefail']
  const at = def.shell ? where(def.file, def.shell) : scope.job.defaults.at
  throw new UnsupportedError(
    `shell: ${shell}`,
    'only bash runs here (a step without shell runs `bash -e {0}`, shell: bash `bash --noprofile --norc -eo pipefail {0}`)',
    at
  )
}

async function runScript(
  def: StepDef,
  scope: StepsScope,
  env: Record<string, string>,
  contexts: Contexts,
  timeoutMinutes: number | undefined,
  name: string
): Promise<Execution> {
  const job = scope.job
  const status = statusOf(scope.status)
  const script = evaluateString(def.run, contexts, status, def.file)
  const shell = def.shell ? evaluateString(def.shell, contexts, status, def.file) : scope.composite ? undefined : job.defaults.shell
  const args = shellArgs(shell, def, scope)
  const wd = def.workingDirectory
    ? evaluateString(def.workingDirectory, contexts, status, def.file)
    : scope.composite
      ? undefined
      : job.defaults.workingDirectory
  const file = path.join(job.runnerTemp, `${randomUUID()}.sh`)
  writeFileSync(file, script)
  return runStepProcess(
    scope,
    {
      command: 'bash',
      args: [...args, file],
      cwd: wd ? path.resolve(job.workspace, wd) : job.workspace,
      env,
      timeoutMinutes,
      name,
      github: { action: def.contextName }
    },
    def
  )
}
