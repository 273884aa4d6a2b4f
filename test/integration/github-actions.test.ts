// The GitHub-facing actions (plan, deployment, scale-request), built with ncc and run the way
// the runner runs them (inputs as INPUT_*, with their action.yml defaults; the event payload at
// GITHUB_EVENT_PATH, validated against GitHub's webhook schemas), against the GitHub REST
// stand-in, which checks every request against GitHub's official REST description. Git is
// real: scale-request commits in a temporary checkout and pushes to a local bare "origin".
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'
import { pullRequestPayload, pushPayload, validateWebhookPayload, workflowDispatchPayload, type WebhookEvent } from '../support/github-events.js'
import { exampleDir, minimalYaml, repoRoot } from '../support/environments.js'
import { runActionDist, type ActionRun } from '../support/run-action.js'
import { removeScanned } from '../support/secret-hygiene.js'

const run = promisify(execFile)
const REPOSITORY = 'acme/zk-platform'
const MARKER = '<!-- zk-rollout-plan -->'
const RUN_URL = `https://github.com/${REPOSITORY}/actions/runs/4242`
const sha = (seed: string): string => seed.repeat(40).slice(0, 40)

let scratch: string
const bundles: Record<string, string> = {}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'zk-github-actions-'))
  // Laid out like the repository, so each bundle finds the bundled chart three levels up.
  symlinkSync(path.join(repoRoot, 'charts'), path.join(scratch, 'charts'))
  for (const name of ['plan', 'deployment', 'scale-request']) {
    const out = path.join(scratch, 'actions', name, 'dist')
    await run(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        path.join(repoRoot, 'actions', name, 'src', 'index.ts'),
        '-o',
        out,
        '-q',
        '-t',
        '--target',
        'es2022'
      ],
      { cwd: repoRoot }
    )
    bundles[name] = path.join(out, 'index.js')
  }
}, 120_000)

afterAll(() => {
  if (scratch) removeScanned(scratch)
})

/** Runs a built action as the runner would: action.yml defaults for inputs not given, `${{ github.token }}` being the stand-in's token. */
async function runAction(
  name: string,
  inputs: Record<string, string>,
  opts: { api: GitHubApiStandIn; workspace: string; event: WebhookEvent; payload: Record<string, unknown>; env?: Record<string, string> }
): Promise<ActionRun> {
  validateWebhookPayload(opts.event, opts.payload)
  const metadata = parse(readFileSync(path.join(repoRoot, 'actions', name, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  const withDefaults: Record<string, string> = {}
  for (const [input, spec] of Object.entries(metadata.inputs))
    if (spec.default !== undefined) withDefaults[input] = spec.default.replace(/\$\{\{\s*github\.token\s*\}\}/g, opts.api.token)
  const eventFile = path.join(mkdtempSync(path.join(scratch, 'event-')), 'event.json')
  writeFileSync(eventFile, JSON.stringify(opts.payload))
  return runActionDist(
    name,
    { ...withDefaults, ...inputs },
    {
      entry: bundles[name],
      cwd: opts.workspace,
      timeoutMs: 60_000,
      env: {
        GITHUB_API_URL: opts.api.url,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_RUN_ID: '4242',
        GITHUB_ACTOR: 'platform-engineer',
        GITHUB_EVENT_NAME: opts.event,
        GITHUB_EVENT_PATH: eventFile,
        ...opts.env
      }
    }
  )
}

/** Succeeded; otherwise the failure shows the action's output. */
const ok = (r: ActionRun): void => expect(r.exitCode === 0 ? '' : `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`).toBe('')

/** A workspace with environments/<name>/ for each entry. */
function workspaceWith(environments: Record<string, string>): string {
  const dir = mkdtempSync(path.join(scratch, 'repo-'))
  for (const [name, yaml] of Object.entries(environments)) {
    mkdirSync(path.join(dir, 'environments', name), { recursive: true })
    writeFileSync(path.join(dir, 'environments', name, 'environment.yaml'), yaml)
    writeFileSync(path.join(dir, 'environments', name, 'values.yaml'), '{}\n')
  }
  return dir
}

const exampleYaml = readFileSync(path.join(exampleDir, 'environment.yaml'), 'utf8')
// Two problems: an even size, and an observer id among the participants'.
const brokenYaml = minimalYaml.replace('servers: 3', 'servers: 4').replace('id: 101', 'id: 2')

describe('plan', () => {
  let api: GitHubApiStandIn
  let workspace: string

  beforeAll(async () => {
    api = await startGitHubApi({ repository: REPOSITORY, pulls: [{ number: 7, head: 'scale-staging', base: 'main' }] })
    workspace = workspaceWith({ staging: exampleYaml, 'prod-gz': minimalYaml, broken: brokenYaml })
  })
  afterAll(async () => {
    expect(api.invalid()).toEqual([])
    await api.stop()
  })

  const prPayload = (headSha: string, extra: { fork?: boolean; number?: number } = {}): Record<string, unknown> =>
    pullRequestPayload({
      repository: REPOSITORY,
      number: extra.number ?? 7,
      action: 'synchronize',
      baseRef: 'main',
      baseSha: sha('b'),
      headRef: 'scale-staging',
      headSha,
      fork: extra.fork
    })
  const writes = (from: number): { method: string; path: string }[] =>
    api.requests.slice(from).flatMap(r => (r.method === 'GET' ? [] : [{ method: r.method, path: r.path }]))

  it('posts one sticky comment, edits it in place on the next push, and leaves it alone when nothing changed', async () => {
    // 120 comments by people first: the plan comment lands on the second page, and a quote of the marker is not it.
    for (let i = 1; i <= 120; i++)
      api.state.comments.push({
        id: 1000 + i,
        issue_number: 7,
        body: i === 60 ? `> ${MARKER}\n> quoting the bot` : `review comment ${i}`,
        user: 'reviewer',
        created_at: '2025-06-01T10:00:00Z',
        updated_at: '2025-06-01T10:00:00Z'
      })
    const before = api.requests.length
    const first = await runAction('plan', { environments: '["staging"]' }, { api, workspace, event: 'pull_request', payload: prPayload(sha('1')) })
    ok(first)
    expect(writes(before)).toEqual([{ method: 'POST', path: `/repos/${REPOSITORY}/issues/7/comments` }])
    const ours = api.state.comments.filter(c => c.body.startsWith(MARKER))
    expect(ours).toHaveLength(1)
    const [comment] = ours
    expect(first.outputs['comment-id']).toBe(String(comment.id))
    expect(first.outputs['comment-url']).toBe(`https://github.com/${REPOSITORY}/pull/7#issuecomment-${comment.id}`)
    expect(first.outputs.invalid).toBe('[]')
    // Steps, the observers' rendered files, which environments are not touched, the run's link.
    expect(comment.body).toContain('<details><summary><code>staging</code>: 5 steps, 8 files</summary>')
    expect(comment.body).toContain('`observers/101@10.104.170.174/zoo.cfg`')
    expect(comment.body).toContain('peerType=observer')
    expect(comment.body).toContain('`observers/102@10.104.42.205/myid`')
    expect(comment.body).toContain('image: zookeeper:3.9.4')
    expect(comment.body).toContain('**Unchanged** (not rolled out): `broken`, `prod-gz`')
    expect(comment.body).toContain(`commit \`${sha('1').slice(0, 12)}\``)
    expect(comment.body).toContain(`[the run](${RUN_URL})`)
    // The job summary holds the same plan.
    expect(first.summary).toContain('<details><summary><code>staging</code>')

    const pushed = api.requests.length
    const second = await runAction('plan', { environments: 'staging' }, { api, workspace, event: 'pull_request', payload: prPayload(sha('2')) })
    ok(second)
    expect(writes(pushed)).toEqual([{ method: 'PATCH', path: `/repos/${REPOSITORY}/issues/comments/${comment.id}` }])
    expect(second.outputs['comment-id']).toBe(String(comment.id))
    expect(api.state.comments.filter(c => c.body.startsWith(MARKER))).toHaveLength(1)
    expect(api.state.comments.find(c => c.id === comment.id)?.body).toContain(`commit \`${sha('2').slice(0, 12)}\``)
    // Both runs read past the first page of comments.
    expect(
      api.requests
        .slice(pushed)
        .filter(r => r.method === 'GET')
        .map(r => r.query.page ?? '1')
    ).toEqual(['1', '2'])

    const again = api.requests.length
    const third = await runAction('plan', { environments: 'staging' }, { api, workspace, event: 'pull_request', payload: prPayload(sha('2')) })
    ok(third)
    expect(writes(again)).toEqual([])
    expect(third.outputs['comment-id']).toBe(String(comment.id))
    expect(api.invalid()).toEqual([])
  })

  it('annotates an invalid environment, still comments the problems, then fails', async () => {
    api.state.pulls.push({ ...api.state.pulls[0], number: 8, id: api.state.pulls[0].id + 1, head: 'broken' })
    const result = await runAction(
      'plan',
      { environments: '["prod-gz", "broken"]' },
      { api, workspace, event: 'pull_request', payload: prPayload(sha('3'), { number: 8 }) }
    )
    expect(result.exitCode).not.toBe(0)
    const annotations = result.stdout.split('\n').filter(l => l.startsWith('::error ') && l.includes('file=environments/broken/environment.yaml'))
    expect(annotations).toHaveLength(2)
    for (const a of annotations) expect(a).toMatch(/file=environments\/broken\/environment\.yaml,line=\d+,col=\d+::/)
    expect(annotations.join('\n')).toContain('ensemble.servers: 4 servers tolerate 1 failure')
    expect(annotations.join('\n')).toContain('observers.hosts[0].id: observer id 2 must be above every participant id (1..4)')
    expect(result.stdout).toMatch(/^::error::plan: environment "broken" is invalid/m)
    expect(result.outputs.invalid).toBe('["broken"]')
    const comment = api.state.comments.find(c => c.issue_number === 8)
    expect(comment?.body.startsWith(MARKER)).toBe(true)
    expect(comment?.body).toContain('<details open><summary><code>broken</code>: invalid, 2 problems</summary>')
    expect(comment?.body).toMatch(/environments\/broken\/environment\.yaml:\d+:\d+: ensemble\.servers: 4 servers tolerate 1 failure/)
    expect(comment?.body).toContain('<details><summary><code>prod-gz</code>')
    expect(comment?.body).toContain('**1 environment invalid**')
    expect(result.outputs['comment-id']).toBe(String(comment?.id))
  })

  it('plans a pull request from a fork the same way', async () => {
    api.state.pulls.push({ ...api.state.pulls[0], number: 9, id: api.state.pulls[0].id + 2, head: 'fork-change' })
    const payload = prPayload(sha('4'), { fork: true, number: 9 })
    const pr = payload.pull_request as { head: { repo: { full_name: string } }; base: { repo: { full_name: string } } }
    expect(pr.head.repo.full_name).not.toBe(pr.base.repo.full_name)
    const result = await runAction('plan', { environments: '["staging"]' }, { api, workspace, event: 'pull_request', payload })
    ok(result)
    const comment = api.state.comments.find(c => c.issue_number === 9)
    expect(comment?.body).toContain('<details><summary><code>staging</code>: 5 steps, 8 files</summary>')
    expect(comment?.body).toContain('peerType=observer')
  })
  it('cuts a plan too long for one comment so that GitHub takes it, the summary keeping it whole', async () => {
    // 60 observers: 180 rendered files, far more than 65536 characters.
    const hosts = Array.from({ length: 60 }, (_, i) => `    - id: ${101 + i}\n      host: 10.0.1.${i + 1}\n`).join('')
    writeFileSync(
      path.join(workspace, 'environments', 'prod-gz', 'environment.yaml'),
      minimalYaml.replace(/ {2}hosts:\n[\s\S]*$/, `  hosts:\n${hosts}`)
    )
    api.state.pulls.push({ ...api.state.pulls[0], number: 10, id: api.state.pulls[0].id + 3, head: 'many-observers' })
    const result = await runAction(
      'plan',
      { environments: 'prod-gz' },
      { api, workspace, event: 'pull_request', payload: prPayload(sha('5'), { number: 10 }) }
    )
    ok(result)
    const comment = api.state.comments.find(c => c.issue_number === 10)
    expect(comment?.body.length).toBeLessThanOrEqual(65_536)
    expect(comment?.body).toMatch(/Truncated: \d+ of \d+ characters shown to fit GitHub's size limit/)
    expect(result.summary.length).toBeGreaterThan(100_000)
    expect(result.summary).not.toContain('Truncated:')
    expect(api.invalid()).toEqual([])
  })
})

describe('deployment', () => {
  let api: GitHubApiStandIn
  let workspace: string
  const payload = pushPayload({ repository: REPOSITORY, before: sha('c'), after: sha('d') })

  beforeAll(async () => {
    api = await startGitHubApi({ repository: REPOSITORY })
    workspace = workspaceWith({ staging: exampleYaml })
  })
  afterAll(async () => {
    expect(api.invalid()).toEqual([])
    await api.stop()
  })

  const deploy = (inputs: Record<string, string>): Promise<ActionRun> =>
    runAction('deployment', inputs, { api, workspace, event: 'push', payload, env: { GITHUB_SHA: sha('d') } })
  const states = (id: string): string[] => api.state.deploymentStatuses.filter(s => String(s.deployment_id) === id).map(s => s.state)

  it('starts a deployment in_progress, then finishes it with success', async () => {
    const start = await deploy({ mode: 'start', environment: 'staging' })
    ok(start)
    const id = start.outputs['deployment-id']
    expect(start.outputs.state).toBe('in_progress')
    const deployment = api.state.deployments.find(d => String(d.id) === id)
    expect(deployment).toMatchObject({
      ref: sha('d'),
      sha: sha('d'),
      environment: 'staging',
      task: 'deploy',
      auto_merge: false,
      required_contexts: [],
      payload: { directory: 'environments/staging', tool: 'zk-rollout' }
    })
    expect(states(id)).toEqual(['in_progress'])
    expect(api.state.deploymentStatuses.find(s => String(s.deployment_id) === id)?.log_url).toBe(RUN_URL)

    const finish = await deploy({ mode: 'finish', environment: 'staging', 'deployment-id': id, status: 'success' })
    ok(finish)
    expect(finish.outputs).toMatchObject({ 'deployment-id': id, state: 'success' })
    expect(states(id)).toEqual(['in_progress', 'success'])
    const last = api.state.deploymentStatuses.filter(s => String(s.deployment_id) === id).pop()
    expect(last?.log_url).toBe(RUN_URL)
  })

  it.each([
    ['failure', 'failure'],
    ['cancelled', 'error']
  ])('maps job.status %s to %s', async (jobStatus, state) => {
    const start = await deploy({ mode: 'start', environment: 'staging', 'environment-url': 'https://grafana.example.com/d/zk' })
    ok(start)
    const id = start.outputs['deployment-id']
    const finish = await deploy({ mode: 'finish', environment: 'staging', 'deployment-id': id, status: jobStatus })
    ok(finish)
    expect(states(id)).toEqual(['in_progress', state])
    expect(api.state.deploymentStatuses.filter(s => String(s.deployment_id) === id).map(s => s.environment_url)).toEqual([
      'https://grafana.example.com/d/zk',
      ''
    ])
  })

  it('refuses an unknown status and a missing deployment id before calling GitHub', async () => {
    const before = api.requests.length
    const bad = await deploy({ mode: 'finish', environment: 'staging', 'deployment-id': '5', status: 'skipped' })
    expect(bad.exitCode).not.toBe(0)
    expect(bad.stdout).toContain('input "status": "skipped" is not success, failure, error')
    const missing = await deploy({ mode: 'finish', environment: 'staging', status: 'success' })
    expect(missing.stdout).toContain('input "deployment-id": is required with mode finish')
    const mode = await deploy({ mode: 'begin', environment: 'staging' })
    expect(mode.stdout).toContain('input "mode": "begin" is not start or finish')
    expect(api.requests.length).toBe(before)
  })
})

describe('scale-request', () => {
  let api: GitHubApiStandIn
  let work: string
  let origin: string
  const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd })).stdout.trim()
  // A comment aligned after the value: the edit must keep it where it is.
  const stagingYaml = exampleYaml.replace('  servers: 3\n', '  servers: 3                 # odd and >= 3\n')
  // An observer id of 8 is fine beside 3 servers, not beside 9.
  const edgeYaml = minimalYaml.replace('id: 101', 'id: 8')

  beforeAll(async () => {
    api = await startGitHubApi({ repository: REPOSITORY })
    origin = path.join(mkdtempSync(path.join(scratch, 'origin-')), 'zk-platform.git')
    await run('git', ['init', '-q', '--bare', '-b', 'main', origin])
    work = workspaceWith({ staging: stagingYaml, edge: edgeYaml })
    cpSync(path.join(exampleDir, 'values.yaml'), path.join(work, 'environments', 'staging', 'values.yaml'))
    await git(work, 'init', '-q', '-b', 'main')
    await git(work, 'add', '.')
    await git(work, '-c', 'user.name=Platform Engineer', '-c', 'user.email=pe@example.com', 'commit', '-q', '-m', 'environments')
    await git(work, 'remote', 'add', 'origin', origin)
    await git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main')
  })
  afterAll(async () => {
    expect(api.invalid()).toEqual([])
    await api.stop()
  })

  const scale = (environment: string, servers: string): Promise<ActionRun> =>
    runAction(
      'scale-request',
      { environment, servers },
      {
        api,
        workspace: work,
        event: 'workflow_dispatch',
        payload: workflowDispatchPayload({
          repository: REPOSITORY,
          ref: 'refs/heads/main',
          inputs: { environment, servers },
          workflow: '.github/workflows/scale.yml'
        })
      }
    )
  const remoteBranches = async (): Promise<string[]> =>
    (await git(origin, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')).split('\n').filter(Boolean).sort()

  it('pushes a branch that changes only ensemble.servers and opens a pull request with the planned steps', async () => {
    const head = await git(work, 'rev-parse', 'HEAD')
    const result = await scale('staging', '5')
    ok(result)
    expect(result.outputs.branch).toBe('zk-rollout/scale-staging-5')
    expect(await remoteBranches()).toEqual(['main', 'zk-rollout/scale-staging-5'])
    // One line of one file, the aligned comment kept.
    const diff = await git(origin, 'diff', '--unified=0', 'main', 'zk-rollout/scale-staging-5')
    expect(diff.split('\n').filter(l => /^[+-](?![+-]{2} )/.test(l))).toEqual([
      '-  servers: 3                 # odd and >= 3',
      '+  servers: 5                 # odd and >= 3'
    ])
    expect(await git(origin, 'diff', '--name-only', 'main', 'zk-rollout/scale-staging-5')).toBe('environments/staging/environment.yaml')
    expect(await git(origin, 'log', '-1', '--format=%an <%ae>|%cn|%P|%s', 'zk-rollout/scale-staging-5')).toBe(
      `zk-rollout[bot] <zk-rollout[bot]@users.noreply.github.com>|github-actions[bot]|${head}|Scale staging from 3 to 5 servers`
    )
    // The checkout is as it was: same branch, same commit, nothing modified.
    expect(await git(work, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main')
    expect(await git(work, 'rev-parse', 'HEAD')).toBe(head)
    expect(await git(work, 'status', '--porcelain')).toBe('')

    expect(api.state.pulls).toHaveLength(1)
    const [pr] = api.state.pulls
    expect(pr).toMatchObject({ head: 'zk-rollout/scale-staging-5', base: 'main', title: 'Scale staging from 3 to 5 servers', state: 'open' })
    expect(pr.body).toContain('from 3 to 5 servers')
    expect(pr.body).toContain('rolls it out through `rollout.yml`')
    expect(pr.body).toContain('### Planned steps\n\n3 -> 4 -> 5, one server at a time')
    expect(result.outputs['pull-request-number']).toBe(String(pr.number))
    expect(result.outputs['pull-request-url']).toBe(`https://github.com/${REPOSITORY}/pull/${pr.number}`)
    expect(result.summary).toContain('zk-rollout/scale-staging-5')
  })

  it('answers a second request for the same size with the open pull request', async () => {
    const before = api.requests.length
    const again = await scale('staging', '5')
    ok(again)
    expect(api.state.pulls).toHaveLength(1)
    expect(again.outputs['pull-request-number']).toBe(String(api.state.pulls[0].number))
    expect(again.outputs.branch).toBe('zk-rollout/scale-staging-5')
    expect(api.requests.slice(before).map(r => `${r.method} ${r.path}`)).toEqual([`GET /repos/${REPOSITORY}/pulls`])
    expect(api.requests[api.requests.length - 1].query).toMatchObject({ head: 'acme:zk-rollout/scale-staging-5', state: 'open' })
  })

  it.each([
    ['4', 'ensemble.servers: 4 servers tolerate 1 failure (a quorum is 3 of 4), no more than 3 servers do'],
    ['1', 'ensemble.servers: 1 server tolerates 0 failures'],
    ['3', '"staging" already has 3 servers']
  ])('refuses %s servers with the environment’s own words', async (servers, message) => {
    const before = api.requests.length
    const result = await scale('staging', servers)
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toContain(message)
    expect(await remoteBranches()).toEqual(['main', 'zk-rollout/scale-staging-5'])
    expect(await git(work, 'status', '--porcelain')).toBe('')
    expect(api.requests.length).toBe(before)
  })

  it('refuses a size that would reach the observers’ ids, annotating the file', async () => {
    const result = await scale('edge', '9')
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(
      /^::error title=zk-rollout%3A invalid environment,file=environments\/edge\/environment\.yaml,line=\d+,col=\d+::observers\.hosts\[0\]\.id: observer id 8 must be above every participant id \(1\.\.9\)/m
    )
    expect(await git(work, 'status', '--porcelain')).toBe('')
    expect(await remoteBranches()).toEqual(['main', 'zk-rollout/scale-staging-5'])
  })

  it('replaces the leftover branch of a closed request and opens a new one', async () => {
    const old = await git(origin, 'rev-parse', 'zk-rollout/scale-staging-5')
    api.state.pulls[0].state = 'closed'
    const result = await scale('staging', '5')
    ok(result)
    expect(api.state.pulls.map(p => p.state)).toEqual(['closed', 'open'])
    expect(result.outputs['pull-request-number']).toBe(String(api.state.pulls[1].number))
    const now = await git(origin, 'rev-parse', 'zk-rollout/scale-staging-5')
    expect(now).not.toBe(old)
    expect(await git(origin, 'diff', '--name-only', 'main', now)).toBe('environments/staging/environment.yaml')
  })
})
