// The github and runner contexts and the process environment of a step, as actions/runner builds
// them: every string in the github context whose key is on the runner's allowlist
// (GitHubContext.cs) becomes GITHUB_<KEY>, every runner key RUNNER_<KEY>; those, CI and
// GITHUB_ACTIONS win over a workflow's env (GitHub does not let a workflow override them).
import * as os from 'node:os'
import type { RunWorkflowOptions } from './types.js'

const githubEnvAllowlist = new Set([
  'action_path',
  'action_ref',
  'action_repository',
  'action',
  'actor',
  'actor_id',
  'api_url',
  'base_ref',
  'env',
  'event_name',
  'event_path',
  'graphql_url',
  'head_ref',
  'job',
  'output',
  'path',
  'ref_name',
  'ref_protected',
  'ref_type',
  'ref',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'retention_days',
  'run_attempt',
  'run_id',
  'run_number',
  'server_url',
  'sha',
  'state',
  'step_summary',
  'triggering_actor',
  'workflow',
  'workflow_ref',
  'workflow_sha',
  'workspace'
])

export function runtimeEnv(github: Record<string, unknown>, runner: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = { CI: 'true', GITHUB_ACTIONS: 'true' }
  for (const [key, value] of Object.entries(github)) {
    if (!githubEnvAllowlist.has(key)) continue
    if (typeof value === 'string') env[`GITHUB_${key.toUpperCase()}`] = value
    else if (typeof value === 'boolean') env[`GITHUB_${key.toUpperCase()}`] = value ? 'True' : 'False'
  }
  for (const [key, value] of Object.entries(runner)) if (typeof value === 'string') env[`RUNNER_${key.toUpperCase()}`] = value
  return env
}

/** The machine environment a step starts from: a few variables of this process, then opts.env. No NODE_OPTIONS or jest variables leak in. */
export function baseEnv(opts: RunWorkflowOptions): Record<string, string> {
  const env: Record<string, string> = {}
  // ZK_ROLLOUT_TEST_OWNER is the test run's orphan marker (test/support/reaper), not a runner variable.
  for (const key of ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL', 'ZK_ROLLOUT_TEST_OWNER']) {
    const v = process.env[key]
    if (v !== undefined) env[key] = v
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  return { ...env, ...(opts.env ?? {}) }
}

export function runnerArch(): string {
  return ({ x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' } as Record<string, string>)[os.arch()] ?? os.arch().toUpperCase()
}

export interface RefInfo {
  ref_name: string
  ref_type: string
  base_ref: string
  head_ref: string
}

export function refInfo(ref: string, eventName: string, payload: Record<string, unknown>): RefInfo {
  const pr = (payload.pull_request ?? {}) as { base?: { ref?: string }; head?: { ref?: string } }
  const isPr = eventName === 'pull_request' || eventName === 'pull_request_target'
  let refName = ref.replace(/^refs\/(heads|tags)\//, '')
  if (ref.startsWith('refs/pull/')) refName = ref.slice('refs/pull/'.length)
  return {
    ref_name: refName,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : ref.startsWith('refs/heads/') ? 'branch' : '',
    base_ref: isPr ? (pr.base?.ref ?? '') : '',
    head_ref: isPr ? (pr.head?.ref ?? '') : ''
  }
}
