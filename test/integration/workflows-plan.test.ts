// plan.yml and scale.yml through the local runner, against the GitHub API stand-in (every
// request checked against GitHub's REST description) and real git repositories; event payloads
// valid against GitHub's webhook schemas. No cluster: pull requests never get credentials.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { copyOfProject, type Repository } from '../e2e/repository.js'
import { runWorkflow, type RunWorkflowOptions, type WorkflowRun } from '../runner/index.js'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'
import { pullRequestPayload, validateWebhookPayload, workflowDispatchPayload } from '../support/github-events.js'
import { minimalYaml } from '../support/environments.js'
import { removeScanned } from '../support/secret-hygiene.js'

const REPOSITORY = 'acme/platform'
const base = mkdtempSync(path.join(os.tmpdir(), 'zk-workflows-plan-'))
let api: GitHubApiStandIn
let repo: Repository
let main: string

beforeAll(async () => {
  // The pull request exists on GitHub before its workflow runs.
  api = await startGitHubApi({ repository: REPOSITORY, pulls: [{ number: 7, head: 'add-staging', base: 'main' }] })
  repo = copyOfProject(path.join(base, 'platform'))
  main = repo.head()
}, 120_000)

afterAll(async () => {
  await api?.stop()
  removeScanned(base)
})

const environment = minimalYaml.replace('namespace: zk', 'namespace: staging')

async function run(
  workflow: string,
  event: RunWorkflowOptions['event'],
  sha: string,
  ref: string,
  extra: Partial<RunWorkflowOptions> = {}
): Promise<WorkflowRun> {
  return runWorkflow({
    workflowFile: path.join(repo.dir, '.github', 'workflows', workflow),
    event,
    repository: REPOSITORY,
    repositoryDir: repo.dir,
    sha,
    ref,
    token: api.token,
    env: { GITHUB_API_URL: api.url },
    tempDir: mkdtempSync(path.join(base, 'run-')),
    ...extra
  })
}

function pullRequest(head: string, opts: { action?: 'opened' | 'synchronize'; fork?: boolean } = {}): RunWorkflowOptions['event'] {
  const payload = pullRequestPayload({
    repository: REPOSITORY,
    number: 7,
    action: opts.action ?? 'opened',
    baseRef: 'main',
    baseSha: main,
    headRef: 'add-staging',
    headSha: head,
    fork: opts.fork
  })
  validateWebhookPayload('pull_request', payload)
  return { name: 'pull_request', payload }
}

const planComments = (): { id: number; body: string }[] =>
  api.state.comments.filter(c => c.body.includes('<!-- zk-rollout-plan -->')).map(c => ({ id: c.id, body: c.body }))
const log = (r: WorkflowRun): string =>
  r.jobs.flatMap(j => j.steps.map(s => `${j.id}/${s.name} ${s.conclusion}\n${s.stdout.slice(-2000)}${s.stderr.slice(-2000)}`)).join('\n')

describe('plan.yml on a pull request', () => {
  let head: string

  it('posts one plan comment, with the rendered observer files, and says what is unchanged', async () => {
    repo.commit('staging: a new environment', { 'environments/staging/environment.yaml': environment, 'environments/staging/values.yaml': '{}\n' })
    head = repo.head()
    const r = await run('plan.yml', pullRequest(head), head, 'refs/pull/7/merge')
    expect({ conclusion: r.conclusion, log: r.conclusion === 'success' ? '' : log(r) }).toEqual({ conclusion: 'success', log: '' })
    const comments = planComments()
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toContain('staging')
    expect(comments[0].body).toContain('server.101=10.0.0.1:2888:3888:observer')
    expect(comments[0].body).toMatch(/unchanged\*\* \(not rolled out\): `example`/i)
    expect(api.invalid()).toEqual([])
  })

  it('updates that comment in place on the next push to the pull request', async () => {
    const before = planComments()[0]
    repo.commit('staging: two observers', {
      'environments/staging/environment.yaml': `${environment}    - id: 102\n      host: 10.0.0.2\n`
    })
    head = repo.head()
    const r = await run('plan.yml', pullRequest(head, { action: 'synchronize' }), head, 'refs/pull/7/merge')
    expect(r.conclusion).toBe('success')
    const after = planComments()
    expect(after).toEqual([{ id: before.id, body: expect.stringContaining('server.102=10.0.0.2:2888:3888:observer') }])
    const writes = api.requests.filter(q => q.method !== 'GET' && q.path.includes('/comments'))
    expect(writes.map(q => q.method)).toEqual(['POST', 'PATCH'])
    expect(api.invalid()).toEqual([])
  })

  it('plans a pull request from a fork, which has no secrets at all', async () => {
    const r = await run('plan.yml', pullRequest(head, { action: 'synchronize', fork: true }), head, 'refs/pull/7/merge', { secrets: {} })
    expect(r.conclusion).toBe('success')
    expect(planComments()).toHaveLength(1)
  })

  it('fails the check on an invalid environment, with annotations on its file', async () => {
    repo.commit('staging: an even size', {
      'environments/staging/environment.yaml': environment.replace('servers: 3', 'servers: 4')
    })
    head = repo.head()
    const r = await run('plan.yml', pullRequest(head, { action: 'synchronize' }), head, 'refs/pull/7/merge')
    expect(r.conclusion).toBe('failure')
    const annotations = r.jobs.flatMap(j => j.steps.flatMap(s => s.annotations))
    expect(annotations).toContainEqual(
      expect.objectContaining({
        level: 'error',
        file: 'environments/staging/environment.yaml',
        line: 5,
        message: expect.stringContaining('ensemble.servers')
      })
    )
    expect(planComments()[0].body).toContain('4 servers tolerate 1 failure')
  })
})

describe('scale.yml', () => {
  it('opens a pull request that changes only ensemble.servers', async () => {
    const payload = workflowDispatchPayload({ repository: REPOSITORY, ref: 'refs/heads/main', inputs: { environment: 'example', servers: '5' } })
    validateWebhookPayload('workflow_dispatch', payload)
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' }).trim()
    const r = await run('scale.yml', { name: 'workflow_dispatch', payload }, sha, 'refs/heads/main', {
      inputs: { environment: 'example', servers: '5' }
    })
    expect({ conclusion: r.conclusion, log: r.conclusion === 'success' ? '' : log(r) }).toEqual({ conclusion: 'success', log: '' })
    const opened = api.state.pulls.filter(p => p.head === 'zk-rollout/scale-example-5')
    expect(opened).toEqual([expect.objectContaining({ base: 'main', state: 'open', title: 'Scale example from 3 to 5 servers' })])
    expect(opened[0].body).toContain('3 -> 4 -> 5, one server at a time')
    const diff = execFileSync('git', ['diff', '--unified=0', sha, 'zk-rollout/scale-example-5', '--', 'environments/example/environment.yaml'], {
      cwd: repo.dir,
      encoding: 'utf8'
    })
    expect(diff.split('\n').filter(l => /^[-+] /.test(l) || /^[-+]\s/.test(l))).toEqual([
      expect.stringMatching(/^-\s+servers: 3/),
      expect.stringMatching(/^\+\s+servers: 5/)
    ])
    expect(readFileSync(path.join(repo.dir, 'environments/example/environment.yaml'), 'utf8')).toContain('servers: 3')
    expect(api.invalid()).toEqual([])
  })
})
