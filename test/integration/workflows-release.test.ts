// release.yml through the local runner, on a copy of this project pushed as a v*.*.* tag, against
// the GitHub API stand-in (requests checked against GitHub's REST description; SHAs against the
// copy's git directory). The called ci.yml runs for real: .ci/run's `npm run build` and its dist
// check. Substituted, and ours:
//   - the copy's `npm test` script: the full suite is what runs this test, so running it again
//     inside would recurse. It becomes a hard-linked copy of this checkout's node_modules (what
//     `npm ci` would install from the same lock file), so that .ci/run's build has its compiler;
//   - actions/setup-node (test/support/setup-node: steps run with this machine's Node.js) and
//     sudo (test/support/sudo: a GitHub-hosted runner has passwordless sudo; the tests run as root).
// The copy is the working tree as it is: run `npm run build` after changing a source, or the
// good tag fails here too, its nested .ci/run saying that dist/ is out of date.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { copyOfProject, type Repository } from '../e2e/repository.js'
import { runWorkflow, type WorkflowRun } from '../runner/index.js'
import { repoRoot } from '../support/environments.js'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'
import { pushPayload, validateWebhookPayload } from '../support/github-events.js'
import { removeScanned } from '../support/secret-hygiene.js'

const REPOSITORY = 'zk-rollout/zk-rollout'
const ZERO = '0'.repeat(40)
const base = mkdtempSync(path.join(os.tmpdir(), 'zk-workflows-release-'))
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> }
const version = pkg.version
const major = `v${version.split('.')[0]}`
const FULL_RUN = 15 * 60_000

let repo: Repository
/** The project as it is, then the fixture's `npm test`. */
let first: string
let tagged: string
let api: GitHubApiStandIn | undefined

beforeAll(() => {
  repo = copyOfProject(path.join(base, 'zk-rollout'))
  first = repo.head()
  const nodeModules = path.join(repoRoot, 'node_modules')
  const scripts = {
    ...pkg.scripts,
    // Hard links when the checkout is on the same file system; a failed attempt leaves a partial tree behind.
    test: `{ cp -al ${JSON.stringify(nodeModules)} node_modules 2>/dev/null || { rm -rf node_modules && cp -a ${JSON.stringify(nodeModules)} node_modules; }; } && echo "npm test: substituted by test/integration/workflows-release.test.ts"`
  }
  const packageJson = JSON.parse(readFileSync(path.join(repo.dir, 'package.json'), 'utf8')) as Record<string, unknown>
  tagged = repo.commit('release fixture: npm test is the suite that runs this test', {
    'package.json': `${JSON.stringify({ ...packageJson, scripts }, null, 2)}\n`
  })
}, 120_000)

afterEach(async () => {
  await api?.stop()
  api = undefined
})

afterAll(() => removeScanned(base))

/** Runs release.yml for a pushed tag at `sha`, with the stand-in knowing the tag (and any refs given). */
async function release(tag: string, sha: string, refs: Record<string, string> = {}): Promise<WorkflowRun> {
  // The pushed tag, in the repository the runner checks out from as on GitHub.
  await promisify(execFile)('git', ['-C', repo.dir, 'tag', '-f', tag, sha])
  api = await startGitHubApi({ repository: REPOSITORY, refs: { 'refs/heads/main': tagged, [`refs/tags/${tag}`]: sha, ...refs }, gitDir: repo.dir })
  const payload = pushPayload({ repository: REPOSITORY, ref: `refs/tags/${tag}`, before: ZERO, after: sha, commits: [] })
  validateWebhookPayload('push', payload)
  return runWorkflow({
    workflowFile: path.join(repo.dir, '.github', 'workflows', 'release.yml'),
    event: { name: 'push', payload },
    repository: REPOSITORY,
    repositoryDir: repo.dir,
    sha,
    ref: `refs/tags/${tag}`,
    token: api.token,
    actions: { 'actions/setup-node': path.join(repoRoot, 'test', 'support', 'setup-node') },
    env: { GITHUB_API_URL: api.url, PATH: `${path.join(repoRoot, 'test', 'support', 'sudo')}:${process.env.PATH}` },
    tempDir: mkdtempSync(path.join(base, 'run-'))
  })
}

/**
 * A commit of `files` on top of `parent` that no branch points at (git plumbing, a separate
 * index): the fixture's main stays where it is, whatever a test does or however it ends.
 */
async function commitBeside(parent: string, message: string, files: Record<string, string>): Promise<string> {
  const git = async (args: string[], env: Record<string, string> = {}, input?: string): Promise<string> => {
    const child = promisify(execFile)('git', ['-C', repo.dir, ...args], { env: { ...process.env, ...env } })
    if (input !== undefined) child.child.stdin?.end(input)
    return (await child).stdout.trim()
  }
  const index = { GIT_INDEX_FILE: mkdtempSync(path.join(base, 'index-')) + '/index' }
  await git(['read-tree', parent], index)
  for (const [file, content] of Object.entries(files)) {
    const blob = await git(['hash-object', '-w', '--stdin'], {}, content)
    await git(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], index)
  }
  const tree = await git(['write-tree'], index)
  const who = { GIT_AUTHOR_NAME: 'zk-rollout test', GIT_AUTHOR_EMAIL: 'test@zk-rollout.invalid' }
  return git(['commit-tree', tree, '-p', parent, '-m', message], {
    ...who,
    GIT_COMMITTER_NAME: who.GIT_AUTHOR_NAME,
    GIT_COMMITTER_EMAIL: who.GIT_AUTHOR_EMAIL
  })
}

const conclusions = (r: WorkflowRun): Record<string, string> => Object.fromEntries(r.jobs.map(j => [j.id, j.conclusion]))
const output = (r: WorkflowRun, job: string): string =>
  (r.jobs.find(j => j.id === job)?.steps ?? []).map(s => `${s.name}: ${s.conclusion}\n${s.stdout}${s.stderr}`).join('\n')
const changelogSection = (): string => {
  const text = readFileSync(path.join(repoRoot, 'CHANGELOG.md'), 'utf8')
  const start = text.indexOf(`## [${version}]`)
  const rest = text.slice(start).split('\n').slice(1).join('\n')
  const end = rest.search(/^## /m)
  return (end < 0 ? rest : rest.slice(0, end)).trim()
}

describe('release.yml on a pushed tag', () => {
  it("refuses a tag that is not package.json's version before anything else runs, and calls no API", async () => {
    const r = await release('v9.9.9', tagged)
    expect(r.conclusion).toBe('failure')
    expect(conclusions(r)).toEqual({ check: 'failure', test: 'skipped', publish: 'skipped' })
    expect(output(r, 'check')).toContain(`release: tag v9.9.9 does not match package.json: its "version" is "${version}"`)
    expect(api!.requests).toEqual([])
  })

  it(
    'refuses a commit whose dist/ is stale: the tests of ci.yml fail, nothing is published',
    async () => {
      const source = path.join(repo.dir, 'actions', 'detect-environments', 'src', 'main.ts')
      const stale = await commitBeside(tagged, 'detect-environments: a message changed, dist/ not rebuilt', {
        'actions/detect-environments/src/main.ts': readFileSync(source, 'utf8').replace('no environment selected:', 'nothing selected:')
      })
      const r = await release(`v${version}`, stale)
      expect(conclusions(r)).toEqual({ check: 'success', test: 'failure', 'test/test': 'failure', publish: 'skipped' })
      expect(output(r, 'test/test')).toContain("dist/ or the schema is out of date: run 'npm run build' and commit the result")
      expect(output(r, 'test/test')).toContain('actions/detect-environments/dist/index.js')
      expect(api!.requests).toEqual([])
    },
    FULL_RUN
  )

  it(
    `a good tag: the tests pass, one release with the changelog section, then ${major} moves to the tag`,
    async () => {
      // The major tag exists from an earlier release, on an older commit.
      const r = await release(`v${version}`, tagged, { [`refs/tags/${major}`]: first })
      expect({ conclusions: conclusions(r), log: r.conclusion === 'success' ? '' : r.jobs.map(j => output(r, j.id)).join('\n') }).toEqual({
        conclusions: { check: 'success', test: 'success', 'test/test': 'success', publish: 'success' },
        log: ''
      })
      expect(r.jobs.find(j => j.id === 'check')?.outputs).toEqual({ version })
      expect(api!.state.releases).toEqual([
        expect.objectContaining({ tag_name: `v${version}`, name: `v${version}`, body: changelogSection(), draft: false, prerelease: false })
      ])
      expect(api!.state.refs[`refs/tags/${major}`]).toBe(tagged)
      expect(api!.state.refs[`refs/tags/v${version}`]).toBe(tagged)
      // In this order: the release, then the major tag; nothing GitHub would refuse.
      expect(api!.requests.map(q => `${q.method} ${q.operationId} ${q.status}`)).toEqual([
        'GET repos/get-release-by-tag 404',
        'POST repos/create-release 201',
        'GET git/get-ref 200',
        'PATCH git/update-ref 200'
      ])
      expect(api!.requests[3].body).toEqual({ sha: tagged, force: true })
      expect(api!.invalid()).toEqual([])
      expect(output(r, 'publish')).toContain(`tag ${major} -> ${tagged}`)
    },
    FULL_RUN
  )
})

describe('release.mjs publish, against the stand-in', () => {
  const run = promisify(execFile)
  const tag = 'v1.2.0'

  /** A checkout holding release.mjs, package.json at 1.2.0 and a changelog with `notes` for it. */
  function checkout(notes: string): string {
    const dir = mkdtempSync(path.join(base, 'publish-'))
    mkdirSync(path.join(dir, '.github', 'release'), { recursive: true })
    copyFileSync(path.join(repoRoot, '.github', 'release', 'release.mjs'), path.join(dir, '.github', 'release', 'release.mjs'))
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'zk-rollout', version: '1.2.0' }))
    writeFileSync(path.join(dir, 'CHANGELOG.md'), `# Changelog\n\n## [1.2.0] - 2026-12-01\n\n${notes}\n\n## [1.1.0] - 2026-11-01\n\n- older\n`)
    return dir
  }

  async function publish(dir: string, sha: string): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await run('node', [path.join(dir, '.github', 'release', 'release.mjs'), 'publish', tag], {
        env: { PATH: process.env.PATH, GITHUB_API_URL: api!.url, GITHUB_REPOSITORY: REPOSITORY, GITHUB_SHA: sha, GITHUB_TOKEN: api!.token }
      })
      return { code: 0, stdout: r.stdout, stderr: r.stderr }
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string }
      return { code: err.code, stdout: err.stdout, stderr: err.stderr }
    }
  }

  it('creates v1 when it does not exist yet; a re-run finds the release made and only moves v1', async () => {
    api = await startGitHubApi({ repository: REPOSITORY, refs: { 'refs/heads/main': tagged, [`refs/tags/${tag}`]: tagged }, gitDir: repo.dir })
    const dir = checkout('### Added\n\n- scaling')
    expect(await publish(dir, tagged)).toMatchObject({ code: 0, stderr: '' })
    expect(api.state.refs['refs/tags/v1']).toBe(tagged)
    const again = await publish(dir, tagged)
    expect(again).toMatchObject({ code: 0, stderr: '' })
    expect(again.stdout).toContain(`release ${tag}: exists already`)
    expect(api.state.releases.map(r => r.body)).toEqual(['### Added\n\n- scaling'])
    expect(api.requests.map(q => `${q.method} ${q.operationId} ${q.status}`)).toEqual([
      'GET repos/get-release-by-tag 404',
      'POST repos/create-release 201',
      'GET git/get-ref 404',
      'POST git/create-ref 201',
      'GET repos/get-release-by-tag 200',
      'GET git/get-ref 200',
      'PATCH git/update-ref 200'
    ])
    expect(api.invalid()).toEqual([])
  })

  it('a release GitHub refuses leaves v1 where it was, and the step fails saying why', async () => {
    api = await startGitHubApi({ repository: REPOSITORY, refs: { [`refs/tags/${tag}`]: tagged, 'refs/tags/v1': first }, gitDir: repo.dir })
    const r = await publish(checkout('x'.repeat(130_000)), tagged)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('release: creating the release failed: HTTP 422 Validation Failed\n')
    expect(api.state.refs['refs/tags/v1']).toBe(first)
    expect(api.requests.map(q => q.operationId)).toEqual(['repos/get-release-by-tag', 'repos/create-release'])
  })

  it("GITHUB_TOKEN cannot move v1 to a commit whose workflows no branch head has: the step says what to do; an app's token can", async () => {
    // A release commit that is no longer any branch's head, with a workflow main does not have.
    const released = await commitBeside(tagged, 'ci: a workflow changed', { '.github/workflows/ci.yml': 'name: changed\non: push\njobs: {}\n' })
    const refs = { 'refs/heads/main': tagged, [`refs/tags/${tag}`]: released, 'refs/tags/v1': first }

    api = await startGitHubApi({ repository: REPOSITORY, refs, gitDir: repo.dir })
    const r = await publish(checkout('- a workflow'), released)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('release: moving v1 failed: HTTP 403 Resource not accessible by integration (GitHub wants the workflows permission')
    expect(r.stderr).toContain('RELEASE_TOKEN')
    expect(api.state.refs['refs/tags/v1']).toBe(first)
    expect(api.invalid()).toEqual([])
    await api.stop()

    api = await startGitHubApi({ repository: REPOSITORY, refs, gitDir: repo.dir, actor: 'zk-rollout-release[bot]' })
    expect(await publish(checkout('- a workflow'), released)).toMatchObject({ code: 0, stderr: '' })
    expect(api.state.refs['refs/tags/v1']).toBe(released)
  })

  it('a commit GitHub does not have is refused when the tag moves: the step fails, v1 stays', async () => {
    api = await startGitHubApi({ repository: REPOSITORY, refs: { [`refs/tags/${tag}`]: tagged, 'refs/tags/v1': first }, gitDir: repo.dir })
    const r = await publish(checkout('- a fix'), 'e'.repeat(40))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('release: moving v1 failed: HTTP 422 Object does not exist\n')
    expect(api.state.refs['refs/tags/v1']).toBe(first)
  })
})
