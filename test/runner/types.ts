// The public shapes of the local runner (test/runner/index.ts re-exports them). Others build on
// these: add optional fields, never change the meaning of an existing one.

export type EventName = 'push' | 'pull_request' | 'workflow_dispatch' | 'workflow_call' | 'schedule'

export interface RunWorkflowOptions {
  /** Absolute path of .github/workflows/<x>.yml. */
  workflowFile: string
  event: { name: EventName; payload: Record<string, unknown> }
  /** 'owner/name' of the workflow's repository. */
  repository: string
  /** A real git repository: what actions/checkout checks out (at `sha`). */
  repositoryDir: string
  sha: string
  ref: string
  /** workflow_dispatch / workflow_call inputs, as the API takes them (strings). */
  inputs?: Record<string, string>
  /** Repository secrets. */
  secrets?: Record<string, string>
  /** GitHub Environments: a job with `environment: <name>` gets these (they win over the repository's). */
  environments?: Record<string, { secrets?: Record<string, string>; vars?: Record<string, string> }>
  vars?: Record<string, string>
  /** github.token and secrets.GITHUB_TOKEN. */
  token?: string
  /** 'owner/repo' (any @ref) -> local directory holding that repository, for `uses: owner/repo[/path]@ref` (steps and reusable workflows). */
  actions?: Record<string, string>
  /** Extra process environment for every step (PATH with kubectl, GITHUB_API_URL of a stand-in API, ...). */
  env?: Record<string, string>
  /** Workspaces, RUNNER_TEMP and the per-step command files live under it. */
  tempDir: string
  log?: (line: string) => void
}

export type StepConclusion = 'success' | 'failure' | 'skipped'

export interface Annotation {
  level: 'error' | 'warning' | 'notice'
  message: string
  title?: string
  file?: string
  line?: number
  endLine?: number
  col?: number
  endColumn?: number
}

export interface StepRun {
  /** The step's `id:` when it has one. */
  id?: string
  name: string
  /** After continue-on-error. */
  conclusion: StepConclusion
  /** Before continue-on-error. */
  outcome: StepConclusion
  outputs: Record<string, string>
  /** Captured output, secrets and ::add-mask:: values replaced by ***. */
  stdout: string
  stderr: string
  /** ::error/::warning/::notice commands, and the runner's own errors (such as "Process completed with exit code 1."). */
  annotations: Annotation[]
  /** `uses:` of an action step. */
  uses?: string
  /** The steps of a composite action. */
  steps?: StepRun[]
}

export type JobConclusion = 'success' | 'failure' | 'skipped' | 'cancelled'

export interface JobRun {
  /** The job's key; `<caller>/<job>` for the jobs of a called (reusable) workflow. */
  id: string
  name: string
  matrix?: Record<string, unknown>
  /** 'cancelled' only for matrix jobs not started because another one failed with fail-fast. */
  conclusion: JobConclusion
  outputs: Record<string, string>
  steps: StepRun[]
  /** The job's step summaries (GITHUB_STEP_SUMMARY), concatenated. */
  summary: string
  environment?: string
  environmentUrl?: string
  concurrency?: { group: string; cancelInProgress: boolean }
  permissions?: unknown
  strategy?: { failFast: boolean; maxParallel?: number; jobIndex: number; jobTotal: number }
  runsOn?: unknown
  /** For a job that calls a reusable workflow: the workflow it called. */
  uses?: string
  /** Why the job failed before or after its steps (an expression error, a matrix error, ...). */
  error?: string
}

export interface WorkflowRun {
  conclusion: 'success' | 'failure'
  jobs: JobRun[]
  /** false when the event's filters (branches, tags, paths, types) did not match: GitHub would not start the workflow. */
  triggered: boolean
  /** Why the workflow was not triggered. */
  reason?: string
  name: string
  runName?: string
  concurrency?: { group: string; cancelInProgress: boolean }
  permissions?: unknown
}
