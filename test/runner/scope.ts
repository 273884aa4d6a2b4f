// The state a run, a job and a list of steps (a job's or a composite action's) carry.
import type { Masker } from './commands.js'
import type { Contexts, Status } from './expressions.js'
import type { Where } from './errors.js'
import type { ParsedWorkflow } from './parse.js'
import type { RunWorkflowOptions } from './types.js'

export interface Run {
  opts: RunWorkflowOptions
  runId: string
  runNumber: string
  log: (line: string) => void
  /** Numbers the jobs' directories. */
  jobSeq: number
  /** Secrets of the repository, of every environment and the token: masked everywhere. */
  masker: Masker
  baseEnv: Record<string, string>
  /** The github context every job starts from (the caller's, in a called workflow). */
  github: Record<string, unknown>
  /** The workflow's directory under tempDir. */
  root: string
}

/** A workflow being run: the top-level one or a called (reusable) one. */
export interface WorkflowFrame {
  run: Run
  workflow: ParsedWorkflow
  /** The repository root of the workflow file, for `uses: ./.github/workflows/x.yml`. */
  repoRoot: string
  inputs: Record<string, unknown>
  secrets: Record<string, string>
  /** '' at the top; 'caller/' in a called workflow. */
  idPrefix: string
  namePrefix: string
  depth: number
}

export interface StepContext {
  outputs: Record<string, string>
  outcome: string
  conclusion: string
}

export interface JobStatus {
  failed: boolean
  cancelled: boolean
}

export interface JobScope {
  run: Run
  frame: WorkflowFrame
  jobId: string
  name: string
  workspace: string
  runnerTemp: string
  masker: Masker
  /** Workflow env, job env and what steps wrote to GITHUB_ENV (the runner's Global.EnvironmentVariables). */
  env: Record<string, string>
  /** GITHUB_PATH entries, oldest first. */
  prependPath: string[]
  summary: string[]
  defaults: { shell?: string; workingDirectory?: string; at: Where }
  /** epoch ms, from the job's timeout-minutes. */
  deadline: number
  timeoutMinutes: number
  status: JobStatus
  /** RUNNER_TRACKING_ID of the job's processes: what is left of them is killed when the job ends. */
  trackingId: string
  contexts: {
    github: Record<string, unknown>
    vars: Record<string, string>
    secrets: Record<string, string>
    inputs: Record<string, unknown>
    needs: Record<string, unknown>
    matrix: unknown
    strategy: Record<string, unknown>
    runner: Record<string, unknown>
  }
  debug: boolean
}

/** The steps of a job, or of a composite action (its own steps context and status). */
export interface StepsScope {
  job: JobScope
  file: string
  steps: Record<string, StepContext>
  status: JobStatus
  inputs: Record<string, unknown>
  /** github context keys this scope sets (action_path, action_repository, action_ref in a composite). */
  github: Record<string, unknown>
  /** A composite: the env the `uses:` step set, which its steps see. */
  envOverrides: Record<string, string>
  depth: number
  composite: boolean
  /** Log prefix. */
  label: string
}

export function statusOf(status: JobStatus): Status {
  return {
    success: () => !status.failed && !status.cancelled,
    failure: () => status.failed && !status.cancelled,
    cancelled: () => status.cancelled
  }
}

export function jobStatusString(status: JobStatus): string {
  return status.cancelled ? 'cancelled' : status.failed ? 'failure' : 'success'
}

export function stepContexts(scope: StepsScope, env: Record<string, string>, extraGithub: Record<string, unknown> = {}): Contexts {
  const c = scope.job.contexts
  return {
    github: { ...c.github, ...scope.github, ...extraGithub },
    env,
    vars: c.vars,
    secrets: c.secrets,
    inputs: scope.inputs,
    needs: c.needs,
    matrix: c.matrix,
    strategy: c.strategy,
    runner: c.runner,
    job: { status: jobStatusString(scope.job.status), container: { id: '', network: '' }, services: {} },
    steps: scope.steps
  }
}
