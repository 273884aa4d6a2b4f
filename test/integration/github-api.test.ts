// The GitHub REST stand-in, driven by the real Octokit client of @actions/github (what the product
// uses): the flows zk-rollout needs work, and a request GitHub would refuse is refused and recorded.
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { getOctokit } from '@actions/github'
import { ACTIONS_BOT, startGitHubApi, startupTimings, type GitHubApiStandIn } from '../support/github-api.js'
import { descriptionPackage, loadExtraction } from '../support/github-api/openapi.js'
import { MAX_RELEASE_BODY } from '../support/github-api/releases.js'
import { Validators, describeProblem } from '../support/github-api/validate.js'

const owner = 'acme'
const repo = 'zookeeper-fleet'
const PR = 7

type Octokit = ReturnType<typeof getOctokit>

let api: GitHubApiStandIn
let octokit: Octokit

beforeEach(async () => {
  api = await startGitHubApi({ repository: `${owner}/${repo}`, pulls: [{ number: PR, head: 'zk-rollout/plan', base: 'main' }] })
  octokit = getOctokit(api.token, { baseUrl: api.url })
})

afterEach(async () => {
  await api.stop()
})

/** The status and body of a refused request (Octokit throws a RequestError). */
async function refused(
  request: Promise<unknown>
): Promise<{ status: number; data: { message: string; errors?: { code: string; field?: string; message?: string }[] } }> {
  try {
    await request
  } catch (err) {
    const e = err as { status: number; response?: { data: unknown } }
    return { status: e.status, data: e.response?.data as never }
  }
  throw new Error('expected the request to be refused')
}

describe('sticky comment on a pull request', () => {
  const MARKER = '<!-- zk-rollout:plan -->'

  async function upsertPlanComment(body: string): Promise<number> {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: PR, per_page: 100 })
    const mine = comments.find(c => c.user?.login === ACTIONS_BOT && c.body?.includes(MARKER))
    if (mine) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: `${MARKER}\n${body}` })
      return mine.id
    }
    const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: PR, body: `${MARKER}\n${body}` })
    return created.data.id
  }

  test('list, find by marker, create once, then update in place', async () => {
    // A human quoting the marker must not be taken for the bot's comment.
    api.state.comments.push({
      id: 1,
      issue_number: PR,
      body: `why does ${MARKER} show up?`,
      user: 'alice',
      created_at: '2024-05-01T10:00:00Z',
      updated_at: '2024-05-01T10:00:00Z'
    })

    const first = await upsertPlanComment('plan: 3 servers, 2 observers')
    const second = await upsertPlanComment('plan: 5 servers, 2 observers')
    expect(second).toBe(first)

    const ours = api.state.comments.filter(c => c.user === ACTIONS_BOT)
    expect(ours).toHaveLength(1)
    expect(ours[0].body).toBe(`${MARKER}\nplan: 5 servers, 2 observers`)

    const got = await octokit.rest.issues.getComment({ owner, repo, comment_id: first })
    expect(got.data.body).toContain('5 servers')
    expect(got.data.html_url).toBe(`https://github.com/${owner}/${repo}/pull/${PR}#issuecomment-${first}`)
    expect(got.data.issue_url).toBe(`${api.url}/repos/${owner}/${repo}/issues/${PR}`)
    expect(got.data.user?.type).toBe('Bot')

    expect(api.requests.map(r => `${r.operationId} ${r.status}`)).toEqual([
      'issues/list-comments 200',
      'issues/create-comment 201',
      'issues/list-comments 200',
      'issues/update-comment 200',
      'issues/get-comment 200'
    ])
    expect(api.invalid()).toEqual([])
  })

  test('a comment on an issue number that does not exist is 404 (state, not a problem of the request)', async () => {
    const r = await refused(octokit.rest.issues.createComment({ owner, repo, issue_number: 999, body: 'x' }))
    expect(r.status).toBe(404)
    expect(api.invalid()).toEqual([])
  })
})

describe('pagination', () => {
  test('more than 100 comments: per_page caps at 100, Link header as GitHub sends it, octokit.paginate gets all', async () => {
    for (let i = 1; i <= 130; i++) await octokit.rest.issues.createComment({ owner, repo, issue_number: PR, body: `comment ${i}` })

    const first = await octokit.rest.issues.listComments({ owner, repo, issue_number: PR, per_page: 100 })
    expect(first.data).toHaveLength(100)
    const base = `${api.url}/repos/${owner}/${repo}/issues/${PR}/comments`
    expect(first.headers.link).toBe(`<${base}?per_page=100&page=2>; rel="next", <${base}?per_page=100&page=2>; rel="last"`)

    const second = await octokit.rest.issues.listComments({ owner, repo, issue_number: PR, per_page: 100, page: 2 })
    expect(second.data.map(c => c.body)).toEqual(Array.from({ length: 30 }, (_, i) => `comment ${101 + i}`))
    expect(second.headers.link).toBe(`<${base}?per_page=100&page=1>; rel="prev", <${base}?per_page=100&page=1>; rel="first"`)

    // GitHub never answers more than 100 a page, whatever per_page says.
    const capped = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: PR, per_page: 500 })
    expect(capped.data).toHaveLength(100)

    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: PR })
    expect(all.map(c => c.body)).toEqual(Array.from({ length: 130 }, (_, i) => `comment ${i + 1}`))
    // without per_page GitHub pages by 30: octokit.paginate followed 4 "next" links
    expect(api.requests.filter(r => r.operationId === 'issues/list-comments' && r.query.per_page === undefined).map(r => r.query.page)).toEqual([
      undefined,
      '2',
      '3',
      '4',
      '5'
    ])
    expect(api.invalid()).toEqual([])
  })
})

describe('deployments and their statuses', () => {
  test('create, report progress and success; a later success marks the earlier deployment inactive', async () => {
    const create = (ref: string) =>
      octokit.rest.repos.createDeployment({
        owner,
        repo,
        ref,
        environment: 'staging',
        auto_merge: false,
        required_contexts: [],
        payload: JSON.stringify({ ensemble: 'zk-staging', servers: 3 }),
        description: `zk-rollout ${ref}`,
        transient_environment: false,
        production_environment: false
      })
    const d1 = await create('main')
    expect(d1.status).toBe(201)
    const dep1 = d1.data as { id: number; payload: unknown; environment: string; sha: string }
    expect(dep1.payload).toEqual({ ensemble: 'zk-staging', servers: 3 })
    expect(dep1.sha).toMatch(/^[0-9a-f]{40}$/)

    const status = (deployment_id: number, state: 'in_progress' | 'success' | 'failure', extra: Record<string, unknown> = {}) =>
      octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id, state, description: `zk-rollout: ${state}`, ...extra })
    await status(dep1.id, 'in_progress', { log_url: 'https://github.com/acme/zookeeper-fleet/actions/runs/1' })
    const ok = await status(dep1.id, 'success', {
      log_url: 'https://github.com/acme/zookeeper-fleet/actions/runs/1',
      environment_url: 'https://zk-staging.example.com',
      environment: 'staging',
      auto_inactive: true
    })
    expect(ok.data.target_url).toBe('https://github.com/acme/zookeeper-fleet/actions/runs/1')
    expect(ok.headers.location).toBe(ok.data.url)

    const d2 = (await create('v3.9.2')).data as { id: number }
    await status(d2.id, 'success')

    const listed = await octokit.rest.repos.listDeployments({ owner, repo, environment: 'staging' })
    expect(listed.data.map(d => d.id)).toEqual([d2.id, dep1.id])
    const none = await octokit.rest.repos.listDeployments({ owner, repo, environment: 'production' })
    expect(none.data).toEqual([])

    const s1 = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: dep1.id })
    expect(s1.data.map(s => s.state)).toEqual(['inactive', 'success', 'in_progress'])
    const s2 = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: d2.id })
    expect(s2.data.map(s => [s.state, s.target_url, s.environment])).toEqual([['success', '', 'staging']])

    expect(api.state.deployments).toHaveLength(2)
    expect(api.state.deploymentStatuses).toHaveLength(4) // in_progress, success, success, and the inactive one
    expect(api.invalid()).toEqual([])
  })

  test('GitHub limits a status description to 140 characters', async () => {
    const d = (await octokit.rest.repos.createDeployment({ owner, repo, ref: 'main', auto_merge: false, required_contexts: [] })).data as {
      id: number
    }
    const r = await refused(
      octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: d.id, state: 'failure', description: 'x'.repeat(141) })
    )
    expect(r.status).toBe(422)
    expect(r.data.errors?.[0].message).toBe('description is too long (maximum is 140 characters)')
    expect(api.invalid().map(x => x.operationId)).toEqual(['repos/create-deployment-status'])
  })

  test('a status of a deployment that does not exist is 404', async () => {
    const r = await refused(octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: 42, state: 'success' }))
    expect(r.status).toBe(404)
  })
})

describe('pull requests', () => {
  test('create one, list it by head (owner:branch), refuse a duplicate', async () => {
    const created = await octokit.rest.pulls.create({
      owner,
      repo,
      title: 'zk-rollout: upgrade to 3.9.2',
      head: 'zk-rollout/upgrade-3.9.2',
      base: 'main',
      body: 'Rolls the ensemble.',
      draft: true
    })
    expect(created.status).toBe(201)
    expect(created.data.number).toBe(PR + 1) // numbers are shared with issues and existing pull requests
    expect(created.data.head.label).toBe(`${owner}:zk-rollout/upgrade-3.9.2`)
    expect(created.data.draft).toBe(true)
    expect(created.data.mergeable).toBeNull()

    const byHead = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:zk-rollout/upgrade-3.9.2`, state: 'open' })
    expect(byHead.data.map(p => p.number)).toEqual([PR + 1])
    const byBase = await octokit.rest.pulls.list({ owner, repo, base: 'main' })
    expect(byBase.data.map(p => p.number)).toEqual([PR + 1, PR])

    const dup = await refused(octokit.rest.pulls.create({ owner, repo, title: 'again', head: 'zk-rollout/upgrade-3.9.2', base: 'main' }))
    expect(dup.status).toBe(422)
    expect(dup.data.errors?.[0].message).toBe(`A pull request already exists for ${owner}:zk-rollout/upgrade-3.9.2.`)
    // depends on the state, not a fault of the request: not in invalid()
    expect(api.invalid()).toEqual([])
  })

  test('a bare branch as head is ignored by GitHub (every pull request comes back), and the stand-in says so', async () => {
    await octokit.rest.pulls.create({ owner, repo, title: 'other', head: 'other', base: 'main' })
    const bare = await octokit.rest.pulls.list({ owner, repo, head: 'zk-rollout/plan' })
    expect(bare.data).toHaveLength(2)
    expect(api.requests.at(-1)?.ignored).toEqual([expect.stringContaining('GitHub ignores a head filter without the "owner:" prefix')])
  })

  test('GitHub refuses a pull request without a title, or from a branch onto itself', async () => {
    expect((await refused(octokit.rest.pulls.create({ owner, repo, head: 'feature', base: 'main' }))).status).toBe(422)
    const self = await refused(octokit.rest.pulls.create({ owner, repo, title: 't', head: 'main', base: 'main' }))
    expect(self.data.errors?.[0].message).toBe('No commits between main and main')
    expect(api.invalid()).toHaveLength(2)
  })
})

describe('issues', () => {
  test('create with labels, update, close, list by label', async () => {
    const drift = await octokit.rest.issues.create({
      owner,
      repo,
      title: 'Drift on zk-prod',
      body: 'observer-2 is behind',
      labels: ['zk-rollout', 'drift']
    })
    expect(drift.status).toBe(201)
    expect(drift.data.labels.map(l => (typeof l === 'string' ? l : l.name))).toEqual(['zk-rollout', 'drift'])
    expect(api.state.labels.find(l => l.name === 'drift')).toMatchObject({ color: 'ededed', default: false })
    const other = await octokit.rest.issues.create({ owner, repo, title: 'Rollout report', labels: [{ name: 'zk-rollout' }] })

    const both = await octokit.rest.issues.listForRepo({ owner, repo, labels: 'zk-rollout,drift', per_page: 100 })
    expect(both.data.map(i => i.number)).toEqual([drift.data.number])
    const one = await octokit.rest.issues.listForRepo({ owner, repo, labels: 'zk-rollout' })
    expect(one.data.map(i => i.number)).toEqual([other.data.number, drift.data.number])

    await octokit.rest.issues.update({ owner, repo, issue_number: drift.data.number, body: 'observer-2 caught up', labels: ['zk-rollout'] })
    const closed = await octokit.rest.issues.update({ owner, repo, issue_number: drift.data.number, state: 'closed', state_reason: 'completed' })
    expect(closed.data.state).toBe('closed')
    expect(closed.data.state_reason).toBe('completed')
    expect(closed.data.closed_at).not.toBeNull()
    expect(closed.data.closed_by?.login).toBe(ACTIONS_BOT)

    const open = await octokit.rest.issues.listForRepo({ owner, repo, labels: 'zk-rollout', state: 'open' })
    expect(open.data.map(i => i.number)).toEqual([other.data.number])
    const all = await octokit.rest.issues.listForRepo({ owner, repo, labels: 'zk-rollout', state: 'all' })
    expect(all.data).toHaveLength(2)

    // As on GitHub, the issue list carries pull requests too (with a pull_request key).
    const everything = await octokit.rest.issues.listForRepo({ owner, repo })
    expect(everything.data.filter(i => i.pull_request).map(i => i.number)).toEqual([PR])

    const reopened = await octokit.rest.issues.update({ owner, repo, issue_number: drift.data.number, state: 'open' })
    expect(reopened.data.state_reason).toBe('reopened')
    expect(api.state.issues.find(i => i.number === drift.data.number)?.body).toBe('observer-2 caught up')
    expect(api.invalid()).toEqual([])
  })

  test('what the stand-in does not model is flagged in invalid(), not silently answered', async () => {
    const r = await octokit.rest.issues.listForRepo({ owner, repo, assignee: 'alice' })
    expect(r.status).toBe(200)
    expect(api.invalid().map(x => x.problems)).toEqual([
      ['not served faithfully by the stand-in: issues/list-for-repo assignee= is not modelled (the answer is not filtered by it)']
    ])
  })
})

describe('releases and git references (what release.yml publishes)', () => {
  // A real repository, so that the stand-in can refuse SHAs it does not have and non-fast-forward updates.
  let gitDir: string
  let first: string
  let second: string
  let sibling: string
  let releaseApi: GitHubApiStandIn
  let rel: Octokit

  beforeEach(async () => {
    gitDir = mkdtempSync(path.join(os.tmpdir(), 'zk-release-git-'))
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', gitDir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { encoding: 'utf8' }).trim()
    git('init', '-q', '-b', 'main')
    git('commit', '-q', '--allow-empty', '-m', 'one')
    first = git('rev-parse', 'HEAD')
    git('commit', '-q', '--allow-empty', '-m', 'two')
    second = git('rev-parse', 'HEAD')
    git('checkout', '-q', '-b', 'side', first)
    git('commit', '-q', '--allow-empty', '-m', 'side')
    sibling = git('rev-parse', 'HEAD')
    releaseApi = await startGitHubApi({
      repository: `${owner}/${repo}`,
      refs: { 'refs/heads/main': second, 'refs/tags/v1.0.0': first, 'refs/tags/v1.1.0': second },
      gitDir
    })
    rel = getOctokit(releaseApi.token, { baseUrl: releaseApi.url })
  })

  afterEach(async () => {
    await releaseApi.stop()
    rmSync(gitDir, { recursive: true, force: true })
  })

  test('a release of an existing tag: created once, found by its tag, a second one refused', async () => {
    const missing = await refused(rel.rest.repos.getReleaseByTag({ owner, repo, tag: 'v1.1.0' }))
    expect(missing.status).toBe(404)
    const created = await rel.rest.repos.createRelease({ owner, repo, tag_name: 'v1.1.0', name: 'v1.1.0', body: '### Added\n- scaling' })
    expect(created.status).toBe(201)
    expect(created.headers.location).toBe(created.data.url)
    expect(created.data).toMatchObject({ tag_name: 'v1.1.0', body: '### Added\n- scaling', draft: false, target_commitish: 'main' })
    expect(created.data.author.login).toBe(ACTIONS_BOT)
    const found = await rel.rest.repos.getReleaseByTag({ owner, repo, tag: 'v1.1.0' })
    expect(found.data.id).toBe(created.data.id)
    const again = await refused(rel.rest.repos.createRelease({ owner, repo, tag_name: 'v1.1.0' }))
    expect(again.status).toBe(422)
    expect(again.data.errors).toEqual([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }])
    expect(releaseApi.state.releases).toHaveLength(1)
    // The tag was not moved by the release.
    expect(releaseApi.state.refs['refs/tags/v1.1.0']).toBe(second)
    expect(releaseApi.invalid()).toEqual([])
  })

  test('notes over 125000 characters are refused, as GitHub does', async () => {
    const long = await refused(rel.rest.repos.createRelease({ owner, repo, tag_name: 'v1.1.0', body: 'x'.repeat(MAX_RELEASE_BODY + 1) }))
    expect(long.status).toBe(422)
    expect(releaseApi.state.releases).toEqual([])
    expect(releaseApi.invalid().map(r => r.problems)).toEqual([
      [`GitHub refuses: body: body is too long (maximum is ${MAX_RELEASE_BODY} characters)`]
    ])
  })

  test('a major tag: read by a ref with a slash (tags/v1), created, then moved (forced, or only fast-forward)', async () => {
    const absent = await refused(rel.rest.git.getRef({ owner, repo, ref: 'tags/v1' }))
    expect(absent.status).toBe(404)
    // An exact name: tags/v1 is not tags/v1.0.0.
    expect(releaseApi.requests[0]).toMatchObject({ operationId: 'git/get-ref', status: 404, problems: [] })
    const created = await rel.rest.git.createRef({ owner, repo, ref: 'refs/tags/v1', sha: first })
    expect(created.status).toBe(201)
    expect(created.data).toMatchObject({ ref: 'refs/tags/v1', object: { type: 'commit', sha: first } })
    const dup = await refused(rel.rest.git.createRef({ owner, repo, ref: 'refs/tags/v1', sha: second }))
    expect(dup).toMatchObject({ status: 422, data: { message: 'Reference already exists' } })
    const read = await rel.rest.git.getRef({ owner, repo, ref: 'tags/v1' })
    expect(read.data.object.sha).toBe(first)

    const forward = await rel.rest.git.updateRef({ owner, repo, ref: 'tags/v1', sha: second })
    expect(forward.data.object.sha).toBe(second)
    const sideways = await refused(rel.rest.git.updateRef({ owner, repo, ref: 'tags/v1', sha: sibling }))
    expect(sideways).toMatchObject({ status: 422, data: { message: 'Update is not a fast forward' } })
    expect(releaseApi.state.refs['refs/tags/v1']).toBe(second)
    const forced = await rel.rest.git.updateRef({ owner, repo, ref: 'tags/v1', sha: sibling, force: true })
    expect(forced.data.object.sha).toBe(sibling)
    expect(releaseApi.invalid()).toEqual([])
  })

  test('a SHA the repository does not have, a ref that does not exist, a ref name without refs/', async () => {
    const unknown = 'f'.repeat(40)
    expect(await refused(rel.rest.git.createRef({ owner, repo, ref: 'refs/tags/v1', sha: unknown }))).toMatchObject({
      status: 422,
      data: { message: 'Object does not exist' }
    })
    expect(await refused(rel.rest.git.updateRef({ owner, repo, ref: 'tags/v9', sha: first, force: true }))).toMatchObject({
      status: 422,
      data: { message: 'Reference does not exist' }
    })
    expect(await refused(rel.rest.git.createRef({ owner, repo, ref: 'v1', sha: first }))).toMatchObject({ status: 422 })
    expect(Object.keys(releaseApi.state.refs).sort()).toEqual(['refs/heads/main', 'refs/tags/v1.0.0', 'refs/tags/v1.1.0'])
    // Only the malformed name is a problem of the request whatever the state.
    expect(releaseApi.invalid().map(r => r.body)).toEqual([{ ref: 'v1', sha: first }])
  })
})

describe('requests GitHub would refuse', () => {
  test('a deployment status with state "done" (not in the enum)', async () => {
    const d = (await octokit.rest.repos.createDeployment({ owner, repo, ref: 'main', auto_merge: false, required_contexts: [] })).data as {
      id: number
    }
    const r = await refused(octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: d.id, state: 'done' as never }))
    expect(r.status).toBe(422)
    expect(r.data.message).toBe('Validation Failed')
    expect(r.data.errors).toEqual([expect.objectContaining({ code: 'invalid', field: 'state' })])
    expect(api.invalid()).toHaveLength(1)
    expect(api.invalid()[0].problems[0]).toMatch(/^body state: must be one of "error", "failure", "inactive"/)
    expect(api.state.deploymentStatuses).toEqual([])
  })

  test('a comment without its body, a blank one, one over 65536 characters', async () => {
    const missing = await refused(
      octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: PR } as never)
    )
    expect(missing.status).toBe(422)
    expect(missing.data.errors).toEqual([expect.objectContaining({ code: 'missing_field', field: 'body' })])
    const blank = await refused(octokit.rest.issues.createComment({ owner, repo, issue_number: PR, body: '  ' }))
    expect(blank.data.errors?.[0].message).toBe('Body cannot be blank')
    const long = await refused(octokit.rest.issues.createComment({ owner, repo, issue_number: PR, body: 'x'.repeat(65537) }))
    expect(long.data.errors?.[0].message).toBe('Body is too long (maximum is 65536 characters)')
    expect(api.invalid()).toHaveLength(3)
    expect(api.state.comments).toEqual([])
  })

  test('an unknown field where the description says additionalProperties: false', async () => {
    const r = await refused(
      octokit.rest.issues.create({ owner, repo, title: 'x', issue_field_values: [{ field_id: 1, value: 'high', colour: 'red' } as never] })
    )
    expect(r.status).toBe(422)
    expect(r.data.errors).toEqual([expect.objectContaining({ code: 'invalid', field: 'issue_field_values.0.colour' })])
    expect(api.invalid()[0].problems).toEqual(['body issue_field_values/0/colour: is not a permitted key'])
  })

  test('an unknown top-level field is accepted (the description allows it) but noted as ignored', async () => {
    const c = await octokit.rest.issues.createComment({ owner, repo, issue_number: PR, body: 'x' })
    await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      owner,
      repo,
      comment_id: c.data.id,
      body: 'y',
      sticky: true
    } as never)
    expect(api.requests.at(-1)?.ignored).toEqual(["body field sticky is not in issues/update-comment's description: GitHub ignores it"])
    expect(api.invalid()).toEqual([])
  })

  test('wrong types: in the body, the query and the path', async () => {
    const body = await refused(octokit.rest.repos.createDeployment({ owner, repo, ref: 'main', auto_merge: 'yes' as never }))
    expect(body.status).toBe(422)
    expect(body.data.errors).toEqual([expect.objectContaining({ field: 'auto_merge', message: 'body auto_merge must be boolean' })])
    const query = await refused(
      octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: PR, per_page: 'many' } as never)
    )
    expect(query.status).toBe(422)
    const enumQuery = await refused(octokit.rest.pulls.list({ owner, repo, state: 'merged' as never }))
    expect(enumQuery.status).toBe(422)
    const path = await refused(octokit.request(`GET /repos/${owner}/${repo}/issues/comments/not-a-number`))
    expect(path.status).toBe(422)
    const date = await refused(octokit.rest.issues.listComments({ owner, repo, issue_number: PR, since: 'yesterday' }))
    expect(date.status).toBe(422)
    expect(api.invalid().map(r => r.problems)).toEqual([
      ['body auto_merge: must be boolean'],
      ['query per_page: must be integer'],
      ['query state: must be one of "open", "closed", "all"'],
      ['path comment_id: must be integer'],
      ['query since: must match format "date-time"']
    ])
  })

  test('a body that is not JSON is 400 "Problems parsing JSON"', async () => {
    const res = await fetch(`${api.url}/repos/${owner}/${repo}/issues`, {
      method: 'POST',
      headers: { authorization: `token ${api.token}` },
      body: '{title:'
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ message: 'Problems parsing JSON' })
    expect(api.invalid()).toHaveLength(1)
  })

  test('a wrong token or none is 401, as GitHub answers', async () => {
    const wrong = getOctokit('ghs_not-the-token', { baseUrl: api.url })
    const r = await refused(wrong.rest.issues.listComments({ owner, repo, issue_number: PR }))
    expect(r.status).toBe(401)
    expect(r.data).toMatchObject({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' })
    const bearer = await fetch(`${api.url}/repos/${owner}/${repo}/pulls`, { headers: { authorization: `Bearer ${api.token}` } })
    expect(bearer.status).toBe(200)
    const none = await fetch(`${api.url}/repos/${owner}/${repo}/pulls`)
    expect(none.status).toBe(401)
    expect(api.invalid().map(x => x.status)).toEqual([401, 401])
  })

  test('an endpoint the stand-in does not serve, one GitHub does not have, another repository: 404 and recorded', async () => {
    const notServed = await refused(octokit.rest.pulls.get({ owner, repo, pull_number: PR }))
    expect(notServed.status).toBe(404)
    expect(notServed.data.message).toBe('Not Found')
    const deleteComment = await refused(octokit.rest.issues.deleteComment({ owner, repo, comment_id: 1 }))
    expect(deleteComment.status).toBe(404)
    const nowhere = await refused(octokit.request(`GET /repos/${owner}/${repo}/rollouts`))
    expect(nowhere.status).toBe(404)
    const wrongMethod = await refused(octokit.request(`PUT /repos/${owner}/${repo}/issues/${PR}/comments`, { body: 'x' }))
    expect(wrongMethod.status).toBe(404)
    const otherRepo = await refused(octokit.rest.issues.listComments({ owner, repo: 'other', issue_number: PR }))
    expect(otherRepo.status).toBe(404)
    expect(api.invalid().map(r => r.problems)).toEqual([
      ['GET /repos/{owner}/{repo}/pulls/{pull_number} (pulls/get) is not served by the stand-in'],
      ['DELETE /repos/{owner}/{repo}/issues/comments/{comment_id} (issues/delete-comment) is not served by the stand-in'],
      [`GitHub's REST description has no operation for GET /repos/${owner}/${repo}/rollouts`],
      [`GitHub's REST description has no PUT /repos/${owner}/${repo}/issues/${PR}/comments (that path takes GET, POST)`],
      [`repository ${owner}/other is not the stand-in's repository ${owner}/${repo}`]
    ])
    expect(api.invalid().map(r => r.operationId)).toEqual(['pulls/get', 'issues/delete-comment', undefined, undefined, 'issues/list-comments'])
  })
})

describe("the stand-in's own answers", () => {
  test('are validated against the response schemas: a malformed one shows up in invalid()', async () => {
    const d = (await octokit.rest.repos.createDeployment({ owner, repo, ref: 'main', auto_merge: false, required_contexts: [] })).data as {
      id: number
    }
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: d.id, state: 'success' })
    api.state.deploymentStatuses[0].state = 'done' as never // corrupt the state behind the stand-in's back
    await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: d.id })
    expect(api.invalid().map(r => r.problems)).toEqual([[expect.stringMatching(/^response 0\/state: must be one of "error", "failure"/)]])
  })

  test("the conversion to JSON Schema accepts the description's own examples (bar one inconsistency of the description)", () => {
    const v = new Validators(loadExtraction())
    const d = JSON.parse(readFileSync(descriptionPackage().descriptionFile, 'utf8'))
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const resolve = (n: any): any => {
      while (n && typeof n.$ref === 'string')
        n = n.$ref
          .slice(2)
          .split('/')
          .reduce((a: any, k: string) => a[k], d)
      return n
    }
    const failures: string[] = []
    let checked = 0
    for (const op of Object.values(v.extraction.operations)) {
      const raw = d.paths[op.path][op.method.toLowerCase()]
      for (const [status, r] of Object.entries<any>(raw.responses)) {
        for (const [name, ex] of Object.entries<any>(resolve(r).content?.['application/json']?.examples ?? {})) {
          let value = resolve(ex).value
          if (value?.$ref) value = resolve(value).value
          checked++
          for (const p of v.response(op, Number(status), value)) failures.push(`${op.operationId} ${status} ${name}: ${describeProblem(p)}`)
        }
      }
      for (const [name, ex] of Object.entries<any>(resolve(raw.requestBody)?.content?.['application/json']?.examples ?? {})) {
        checked++
        for (const p of v.body(op, resolve(ex).value)) failures.push(`${op.operationId} request ${name}: ${describeProblem(p)}`)
      }
    }
    /* eslint-enable @typescript-eslint/no-explicit-any */
    expect(checked).toBeGreaterThan(20)
    // The description's pull-request example lists a requested team without the `type` its `team` schema requires.
    expect(failures).toEqual([
      'pulls/create 201 default: response requested_teams/0/type: is required',
      'pulls/list 200 default: response 0/requested_teams/0/type: is required'
    ])
  })
})

describe('start-up', () => {
  test('the extraction and the compiled validators are cached under os.tmpdir(), keyed by the package versions', async () => {
    const processStart = startupTimings()
    const cold = loadExtraction({ cache: false })
    const coldValidators = new Validators(cold, { cache: false })
    coldValidators.compileAll()
    loadExtraction() // make sure both caches exist (the first run ever writes them)
    new Validators(loadExtraction()).compileAll()
    const warm = loadExtraction()
    const warmValidators = new Validators(warm)
    warmValidators.compileAll()
    expect(cold.source).toBe('description')
    expect(warm.source).toBe('cache')
    expect(warmValidators.source).toEqual({ strict: 'cache', params: 'cache' })
    expect(warm.cacheFile).toContain(`octokit-openapi-${descriptionPackage().version}-`)
    expect(warm.extraction).toEqual(cold.extraction)
    const t = performance.now()
    const other = await startGitHubApi({ repository: `${owner}/${repo}` })
    const start = performance.now() - t
    await other.stop()
    const ms = (n: number): string => `${n.toFixed(0)} ms`
    const p = processStart
    console.log(
      [
        `GitHub REST description ${descriptionPackage().version}, once per process:`,
        `  without the caches: parse + extract ${ms(cold.ms)}, compile the validators ${ms(coldValidators.ms.strict)} (bodies, responses) + ${ms(coldValidators.ms.params)} (parameters)`,
        `  with the caches:    read the extraction ${ms(warm.ms)}, evaluate the cached validators ${ms(warmValidators.ms.strict)} + ${ms(warmValidators.ms.params)}`,
        `  this test process's first start: extraction from ${p.extraction.source} ${ms(p.extraction.ms)}, validators from ${p.validators.strict.source} ${ms(p.validators.strict.ms)} + ${p.validators.params.source} ${ms(p.validators.params.ms)}`,
        `  a further startGitHubApi: ${start.toFixed(1)} ms`,
        `  cache: ${path.dirname(warm.cacheFile)}`
      ].join('\n')
    )
    expect(warm.ms + warmValidators.ms.strict + warmValidators.ms.params).toBeLessThan(cold.ms + coldValidators.ms.strict + coldValidators.ms.params)
  })
})
