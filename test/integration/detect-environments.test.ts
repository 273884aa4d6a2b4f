// detect-environments against real git: a bare "origin" on disk, commits pushed to it, and
// checkouts made the way actions/checkout makes them (one commit, fetched by id over file://),
// so shallow clones, fetching by id and deepening really happen. Every event fed in is first
// validated against GitHub's published webhook schemas.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { detectEnvironments, type DetectRequest, type Detection } from '../../workflows-lib/src/detect/detect-environments.js'
import { useTerminalLog } from '../../workflows-lib/src/output/log.js'
import { minimalYaml, repoRoot } from '../support/environments.js'
import { pullRequestPayload, pushPayload, validateWebhookPayload, workflowDispatchPayload, type WebhookEvent } from '../support/github-events.js'
import { runActionDist, type ActionRun } from '../support/run-action.js'

const REPOSITORY = 'acme/zk-environments'
const ZERO = '0'.repeat(40)
const ENVIRONMENTS = ['dev-sh', 'prod-gz', 'staging']

// Setup commands ignore this machine's git configuration; the code under test uses it as a runner would.
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' }
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zk-detect-'))

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()
}

/** Whether a git command succeeds (e.g. cat-file -e, merge-base). */
function gitOk(cwd: string, ...args: string[]): boolean {
  try {
    git(cwd, ...args)
    return true
  } catch {
    return false
  }
}

let worlds = 0

/** A work repository that commits and pushes, its bare origin, and runner-style checkouts of it. */
class World {
  readonly dir = path.join(tmp, `world-${++worlds}`)
  readonly work = path.join(this.dir, 'work')
  readonly origin = path.join(this.dir, 'origin.git')
  readonly base: string
  private checkouts = 0

  constructor() {
    mkdirSync(this.work, { recursive: true })
    git(this.dir, 'init', '-q', '--bare', '-b', 'main', this.origin)
    git(this.work, 'init', '-q', '-b', 'main')
    git(this.work, 'remote', 'add', 'origin', this.url)
    const files: Record<string, string> = {
      'README.md': '# ZooKeeper environments\n',
      'charts/zookeeper/Chart.yaml': 'name: zookeeper\n',
      'charts/zookeeper/values.yaml': '{}\n'
    }
    for (const name of ENVIRONMENTS) {
      files[`environments/${name}/environment.yaml`] = minimalYaml
      files[`environments/${name}/values.yaml`] = `# ${name}\n`
    }
    this.base = this.commit('initial environments', files)
    this.push()
  }

  get url(): string {
    return `file://${this.origin}`
  }

  /** Writes (null: deletes) files and commits them all; returns the commit id. */
  commit(message: string, files: Record<string, string | null>): string {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(this.work, file)
      if (content === null) rmSync(full, { recursive: true, force: true })
      else {
        mkdirSync(path.dirname(full), { recursive: true })
        writeFileSync(full, content)
      }
    }
    git(this.work, 'add', '-A')
    git(this.work, 'commit', '-q', '--allow-empty', '-m', message)
    return git(this.work, 'rev-parse', 'HEAD')
  }

  push(refspec = 'main', force = false): void {
    git(this.work, 'push', '-q', ...(force ? ['--force'] : []), 'origin', refspec)
  }

  /** What actions/checkout does by default: init, fetch one commit by id (depth 1), check it out. */
  checkout(sha: string, ref = 'refs/remotes/origin/main', depth = 1): string {
    const dir = path.join(this.dir, `checkout-${++this.checkouts}`)
    mkdirSync(dir)
    git(dir, 'init', '-q')
    git(dir, 'remote', 'add', 'origin', this.url)
    git(dir, 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', `--depth=${depth}`, 'origin', `+${sha}:${ref}`)
    git(dir, 'checkout', '-q', '--force', '--detach', sha)
    return dir
  }
}

function validEvent<T>(event: WebhookEvent, payload: T): T {
  validateWebhookPayload(event, payload)
  return payload
}

let logged: string[] = []
beforeEach(() => {
  logged = []
  useTerminalLog(text => logged.push(text), { verbose: false })
})

function detect(repository: string, eventName: string, payload: Record<string, unknown>, extra: Partial<DetectRequest> = {}): Promise<Detection> {
  return detectEnvironments({ repository, eventName, payload, ...extra })
}

// The action itself, bundled the way the main build does it, run under the runner's contract.
const bundle = path.join(tmp, 'detect-environments-dist')
beforeAll(() => {
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
      'build',
      path.join(repoRoot, 'actions/detect-environments/src/index.ts'),
      '-o',
      bundle,
      '-q',
      '-t',
      '--target',
      'es2022'
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] }
  )
}, 120_000)

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function runDetect(
  checkout: string,
  eventName: string,
  payload: unknown,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const eventPath = path.join(checkout, '..', `event-${eventName}-${Date.now()}.json`)
  writeFileSync(eventPath, JSON.stringify(payload))
  return runActionDist('detect-environments', inputs, {
    entry: path.join(bundle, 'index.js'),
    cwd: checkout,
    env: { GITHUB_EVENT_NAME: eventName, GITHUB_EVENT_PATH: eventPath, ...env },
    timeoutMs: 120_000
  })
}

describe('webhook payload builders', () => {
  const a = 'a'.repeat(40)
  const b = 'b'.repeat(40)

  it('build payloads that pass GitHub schemas for every event and variant', () => {
    for (const payload of [
      pushPayload({ repository: REPOSITORY, before: a, after: b }),
      pushPayload({ repository: REPOSITORY, before: ZERO, after: b, ref: 'refs/heads/feature' }),
      pushPayload({ repository: REPOSITORY, before: a, after: ZERO, deleted: true }),
      pushPayload({ repository: REPOSITORY, before: a, after: b, forced: true, commits: [{ id: b, modified: ['environments/prod-gz/values.yaml'] }] })
    ])
      expect(() => validateWebhookPayload('push', payload)).not.toThrow()
    for (const action of ['opened', 'synchronize', 'reopened'] as const)
      for (const fork of [false, true])
        expect(() =>
          validateWebhookPayload(
            'pull_request',
            pullRequestPayload({ repository: REPOSITORY, number: 12, action, baseRef: 'main', baseSha: a, headRef: 'scale', headSha: b, fork })
          )
        ).not.toThrow()
    expect(() =>
      validateWebhookPayload(
        'workflow_dispatch',
        workflowDispatchPayload({ repository: REPOSITORY, ref: 'refs/heads/main', inputs: { environments: 'all' } })
      )
    ).not.toThrow()
    expect(() =>
      validateWebhookPayload('workflow_dispatch', workflowDispatchPayload({ repository: REPOSITORY, ref: 'refs/heads/main' }))
    ).not.toThrow()
  })

  it('refuse a broken payload, listing every violation', () => {
    const push = pushPayload({ repository: REPOSITORY, before: a, after: b })
    delete push.repository
    push.forced = 'yes'
    expect(() => validateWebhookPayload('push', push)).toThrow(/2 problems[\s\S]*required property 'repository'[\s\S]*\/forced: must be boolean/)

    // Deep inside: a pull request's head repository without its owner's login.
    const pr = pullRequestPayload({ repository: REPOSITORY, number: 3, baseRef: 'main', baseSha: a, headRef: 'x', headSha: b }) as {
      pull_request: { head: { repo: { owner: Record<string, unknown> } } }
    }
    delete pr.pull_request.head.repo.owner.login
    expect(() => validateWebhookPayload('pull_request', pr)).toThrow(/\/pull_request\/head\/repo\/owner: must have required property 'login'/)

    // synchronize carries before/after; opened does not need them.
    const sync = pullRequestPayload({
      repository: REPOSITORY,
      number: 3,
      action: 'synchronize',
      baseRef: 'main',
      baseSha: a,
      headRef: 'x',
      headSha: b
    })
    delete sync.before
    expect(() => validateWebhookPayload('pull_request', sync)).toThrow(/required property 'before'/)

    expect(() => validateWebhookPayload('workflow_dispatch', { ref: 'refs/heads/main' })).toThrow(
      /'inputs'[\s\S]*'repository'[\s\S]*'sender'[\s\S]*'workflow'/
    )
  })
})

describe('push', () => {
  it('selects the one environment whose directory changed', async () => {
    const w = new World()
    const after = w.commit('prod-gz: more memory', { 'environments/prod-gz/values.yaml': 'heap: 2g\n' })
    w.push()
    const checkout = w.checkout(after)
    const d = await detect(checkout, 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual(['prod-gz'])
    expect(d.reasons).toEqual({ 'prod-gz': 'environments/prod-gz/values.yaml changed' })
    expect(d.deleted).toEqual([])
    expect(d.warnings).toEqual([])
    expect(d.compared).toEqual({ base: w.base, head: after, files: 1 })
  })

  it('selects two environments changed by a push of two commits, sorted, and no other', async () => {
    const w = new World()
    w.commit('staging', { 'environments/staging/values.yaml': 'heap: 1g\n' })
    const after = w.commit('prod-gz', {
      'environments/prod-gz/environment.yaml': `${minimalYaml}# five servers soon\n`,
      'environments/prod-gz/values.yaml': 'x: 1\n'
    })
    w.push()
    const d = await detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual(['prod-gz', 'staging'])
    expect(d.reasons).toEqual({
      'prod-gz': 'environments/prod-gz/environment.yaml and 1 more file changed',
      staging: 'environments/staging/values.yaml changed'
    })
  })

  it('through the action: outputs a strategy.matrix, reasons and a summary table', async () => {
    const w = new World()
    const after = w.commit('staging', { 'environments/staging/values.yaml': 'heap: 1g\n' })
    w.push()
    const run = await runDetect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.outputs.environments)).toEqual(['staging'])
    expect(JSON.parse(run.outputs.matrix)).toEqual({ include: [{ environment: 'staging', directory: 'environments/staging' }] })
    expect(run.outputs.any).toBe('true')
    expect(JSON.parse(run.outputs.deleted)).toEqual([])
    expect(JSON.parse(run.outputs.reasons)).toEqual({ staging: 'environments/staging/values.yaml changed' })
    expect(run.summary).toContain('| environment | reason |')
    expect(run.summary).toContain('| staging | environments/staging/values.yaml changed |')
    expect(run.stdout).toContain('selected "staging": environments/staging/values.yaml changed')
  })

  it('a change to a shared input (the chart) selects every environment', async () => {
    const w = new World()
    const after = w.commit('chart', { 'charts/zookeeper/values.yaml': 'image: zookeeper:3.9.4\n', 'environments/staging/values.yaml': 'heap: 1g\n' })
    w.push()
    const d = await detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual(ENVIRONMENTS)
    expect(d.reasons['prod-gz']).toBe('shared input charts/zookeeper/values.yaml changed')
    expect(d.reasons.staging).toBe('environments/staging/values.yaml changed; shared input charts/zookeeper/values.yaml changed')
  })

  it('the shared input replaces the default globs', async () => {
    const w = new World()
    const after = w.commit('docs and chart', { 'docs/runbook.md': '# Runbook\n', 'charts/zookeeper/Chart.yaml': 'name: zookeeper\nversion: 2.0.0\n' })
    w.push()
    const checkout = w.checkout(after)
    const payload = validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after }))
    const custom = await detect(checkout, 'push', payload, { shared: ['docs/**'] })
    expect(custom.environments).toEqual(ENVIRONMENTS)
    expect(custom.reasons['dev-sh']).toBe('shared input docs/runbook.md changed')
    const noCharts = await detect(checkout, 'push', payload, { shared: ['docs/*.txt'] })
    expect(noCharts.environments).toEqual([])
  })

  it('only a README changed: nothing selected, any is false and the matrix is still valid JSON', async () => {
    const w = new World()
    const after = w.commit('docs', { 'README.md': '# ZooKeeper environments\n\nHow to add one.\n' })
    w.push()
    const run = await runDetect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(run.exitCode).toBe(0)
    expect(run.outputs.any).toBe('false')
    expect(JSON.parse(run.outputs.environments)).toEqual([])
    expect(JSON.parse(run.outputs.matrix)).toEqual({ include: [] })
    expect(JSON.parse(run.outputs.reasons)).toEqual({})
    expect(run.summary).toContain('No environment selected: nothing to roll out.')
    expect(run.stdout).not.toContain('::warning::')
  })

  it('a new branch (all-zero before) selects every environment', async () => {
    const w = new World()
    const after = w.commit('feature', { 'README.md': 'x\n' })
    w.push('main:refs/heads/feature-x')
    const payload = validEvent('push', pushPayload({ repository: REPOSITORY, ref: 'refs/heads/feature-x', before: ZERO, after, created: true }))
    const d = await detect(w.checkout(after, 'refs/remotes/origin/feature-x'), 'push', payload)
    expect(d.environments).toEqual(ENVIRONMENTS)
    expect(new Set(Object.values(d.reasons))).toEqual(new Set(['new branch: every environment']))
  })

  it('a force push whose previous commit is gone from origin selects every environment, with a warning', async () => {
    const w = new World()
    const lost = w.commit('prod-gz change that will be rewritten', { 'environments/prod-gz/values.yaml': 'lost: true\n' })
    w.push()
    git(w.work, 'reset', '-q', '--hard', w.base)
    const after = w.commit('staging instead', { 'environments/staging/values.yaml': 'heap: 1g\n' })
    w.push('main', true)
    // Rewritten history: the old commit is unreachable and pruned, so no fetch can bring it back.
    git(w.origin, 'reflog', 'expire', '--expire=now', '--all')
    git(w.origin, 'gc', '-q', '--prune=now')
    expect(gitOk(w.origin, 'cat-file', '-e', `${lost}^{commit}`)).toBe(false)

    const checkout = w.checkout(after)
    const payload = validEvent('push', pushPayload({ repository: REPOSITORY, before: lost, after, forced: true }))
    const d = await detect(checkout, 'push', payload)
    expect(d.environments).toEqual(ENVIRONMENTS)
    const reason = `force push: the previous commit ${lost.slice(0, 7)} is not in this clone's history; every environment is selected`
    expect(d.reasons).toEqual({ 'dev-sh': reason, 'prod-gz': reason, staging: reason })
    expect(d.warnings).toHaveLength(1)
    expect(d.warnings[0]).toMatch(new RegExp(`cannot tell what this push changed: commit ${lost.slice(0, 7)} .*could not be fetched.*git fetch said`))
    // It really tried: fetched by id, then deepened until the whole history was here.
    expect(logged.join('')).toContain(`deepening the history by 50 commits to find commit ${lost.slice(0, 7)}`)
    expect(git(checkout, 'rev-parse', '--is-shallow-repository')).toBe('false')

    const run = await runDetect(w.checkout(after), 'push', payload)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/^::warning::cannot tell what this push changed/m)
    expect(run.outputs.any).toBe('true')
    expect(run.summary).toContain('**Warnings**')
  })

  it('a shallow clone whose server will not send the previous commit by id is deepened until it is found: exact result', async () => {
    const w = new World()
    w.commit('one', { 'environments/dev-sh/values.yaml': 'a: 1\n' })
    w.commit('two', { 'README.md': 'two\n' })
    const after = w.commit('three', { 'README.md': 'three\n' })
    w.push()
    const checkout = w.checkout(after)
    // Protocol v0 asks for advertised refs only, so fetching w.base by id is refused: deepening must find it.
    git(checkout, 'config', 'protocol.version', '0')
    expect(gitOk(checkout, 'cat-file', '-e', `${w.base}^{commit}`)).toBe(false)
    const d = await detect(checkout, 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual(['dev-sh'])
    expect(d.warnings).toEqual([])
    expect(logged.join('')).toContain('deepening the history by 50 commits')
    expect(gitOk(checkout, 'cat-file', '-e', `${w.base}^{commit}`)).toBe(true)
  })

  it('a shallow clone fetches the previous commit by id when the server allows it (no deepening needed)', async () => {
    const w = new World()
    w.commit('one', { 'environments/prod-gz/values.yaml': 'a: 1\n' })
    const after = w.commit('two', { 'README.md': 'two\n' })
    w.push()
    const checkout = w.checkout(after)
    expect(gitOk(checkout, 'cat-file', '-e', `${w.base}^{commit}`)).toBe(false)
    const d = await detect(checkout, 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual(['prod-gz'])
    expect(logged.join('')).toContain(`fetching ${w.base.slice(0, 7)} from "origin"`)
    expect(logged.join('')).not.toContain('deepening')
  })

  it('a deleted environment goes to deleted, never to environments, and the summary says nothing is torn down', async () => {
    const w = new World()
    const after = w.commit('retire dev-sh, tune prod-gz', { 'environments/dev-sh': null, 'environments/prod-gz/values.yaml': 'heap: 3g\n' })
    w.push()
    const checkout = w.checkout(after)
    const payload = validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after }))
    const d = await detect(checkout, 'push', payload)
    expect(d.environments).toEqual(['prod-gz'])
    expect(d.deleted).toEqual(['dev-sh'])
    expect(d.reasons).toEqual({ 'prod-gz': 'environments/prod-gz/values.yaml changed' })
    expect(d.warnings.join('\n')).toContain('environment "dev-sh" was deleted')

    const run = await runDetect(w.checkout(after), 'push', payload)
    expect(JSON.parse(run.outputs.deleted)).toEqual(['dev-sh'])
    expect(JSON.parse(run.outputs.matrix)).toEqual({ include: [{ environment: 'prod-gz', directory: 'environments/prod-gz' }] })
    expect(run.summary).toContain('**Deleted**')
    expect(run.summary).toContain('Nothing is torn down')
    expect(run.summary).toContain('| dev-sh | environments/dev-sh |')
  })

  it('a directory renamed to an invalid name is an error naming it', async () => {
    const w = new World()
    git(w.work, 'mv', 'environments/staging', 'environments/Staging_EU')
    const after = w.commit('rename staging', {})
    w.push()
    const d = detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    await expect(d).rejects.toThrow(/invalid name: "environments\/Staging_EU\/"; the directory name must be a DNS label.*"staging-eu"/)
  })

  it('a deleted directory whose name was never valid is not reported as a deleted environment', async () => {
    const w = new World()
    const before = w.commit('bad name', { 'environments/Old_Env/environment.yaml': minimalYaml })
    w.push()
    const after = w.commit('remove it', { 'environments/Old_Env': null })
    w.push()
    const d = await detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before, after })))
    expect(d.deleted).toEqual([])
    expect(d.environments).toEqual([])
    expect(d.warnings).toEqual(['"environments/Old_Env/" was deleted; its name was never a valid environment name, so it was never rolled out'])
  })

  it('a deleted branch selects nothing, and says so', async () => {
    const w = new World()
    const payload = validEvent(
      'push',
      pushPayload({ repository: REPOSITORY, ref: 'refs/heads/old-feature', before: w.base, after: ZERO, deleted: true })
    )
    const d = await detect(w.checkout(w.base), 'push', payload)
    expect(d.environments).toEqual([])
    expect(d.basis).toBe('push: branch "old-feature" was deleted, nothing to roll out')
  })

  it('a repository path inside the git checkout: paths and globs are relative to it', async () => {
    const w = new World()
    const after = w.commit('infra', {
      'infra/environments/prod-gz/environment.yaml': minimalYaml,
      'infra/charts/zookeeper/values.yaml': '{}\n'
    })
    w.push()
    const next = w.commit('infra prod', { 'infra/environments/prod-gz/values.yaml': 'z: 1\n', 'charts/zookeeper/values.yaml': 'outside: true\n' })
    w.push()
    const checkout = w.checkout(next)
    const d = await detect(
      path.join(checkout, 'infra'),
      'push',
      validEvent('push', pushPayload({ repository: REPOSITORY, before: after, after: next }))
    )
    expect(d.environments).toEqual(['prod-gz'])
    expect(d.reasons).toEqual({ 'prod-gz': 'environments/prod-gz/values.yaml changed' })
  })

  it('a changed directory without environment.yaml is not an environment: a warning, nothing selected', async () => {
    const w = new World()
    const after = w.commit('templates', { 'environments/templates/observer.yaml': 'x: 1\n' })
    w.push()
    const d = await detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before: w.base, after })))
    expect(d.environments).toEqual([])
    expect(d.warnings).toEqual([
      '"environments/templates/" changed but holds no environment.yaml: it is not an environment, nothing is rolled out for it'
    ])
  })

  it('a custom environments root', async () => {
    const w = new World()
    git(w.work, 'mv', 'environments', 'deploy')
    w.commit('move', {})
    w.push()
    const after = w.commit('prod', { 'deploy/prod-gz/values.yaml': 'y: 2\n', 'environments/prod-gz/values.yaml': 'not an environment any more\n' })
    w.push()
    const before = git(w.work, 'rev-parse', 'HEAD~1')
    const d = await detect(w.checkout(after), 'push', validEvent('push', pushPayload({ repository: REPOSITORY, before, after })), {
      environmentsRoot: './deploy/'
    })
    expect(d.root).toBe('deploy')
    expect(d.environments).toEqual(['prod-gz'])
    expect(d.reasons).toEqual({ 'prod-gz': 'deploy/prod-gz/values.yaml changed' })
  })

  it('a commit id from the payload is checked before it can reach git as an option', async () => {
    const w = new World()
    const marker = path.join(w.dir, 'pwned')
    const payload = validEvent('push', pushPayload({ repository: REPOSITORY, before: `--upload-pack=touch ${marker}`, after: w.base }))
    await expect(detect(w.checkout(w.base), 'push', payload)).rejects.toThrow(
      /push event payload's before is "--upload-pack=touch .*", not a commit id/
    )
    expect(existsSync(marker)).toBe(false)
  })
})

describe('pull_request', () => {
  /** main and a feature branch that both moved on from base, and GitHub's refs/pull/N/{head,merge}. */
  function pullRequestWorld(mainCommits: number): { w: World; baseSha: string; headSha: string; mergeSha: string } {
    const w = new World()
    git(w.work, 'checkout', '-q', '-b', 'scale-prod')
    w.commit('prod-gz: 5 servers', { 'environments/prod-gz/environment.yaml': minimalYaml.replace('servers: 3', 'servers: 5') })
    const headSha = w.commit('prod-gz: values', { 'environments/prod-gz/values.yaml': 'heap: 4g\n' })
    git(w.work, 'checkout', '-q', 'main')
    // The base branch moves on, touching another environment: that must not count for this PR.
    w.commit('staging on main', { 'environments/staging/values.yaml': 'heap: 1g\n' })
    for (let i = 1; i < mainCommits; i++) w.commit(`main ${i}`, { 'README.md': `main ${i}\n` })
    const baseSha = git(w.work, 'rev-parse', 'HEAD')
    w.push('main')
    git(w.work, 'checkout', '-q', '-b', 'pr-merge', baseSha)
    git(w.work, 'merge', '-q', '--no-ff', '-m', 'Merge scale-prod into main', 'scale-prod')
    const mergeSha = git(w.work, 'rev-parse', 'HEAD')
    w.push(`${headSha}:refs/pull/7/head`)
    w.push(`${mergeSha}:refs/pull/7/merge`)
    git(w.work, 'checkout', '-q', 'main')
    return { w, baseSha, headSha, mergeSha }
  }

  it('diffs from the merge base: a change on the base branch alone selects nothing; a shallow clone is deepened', async () => {
    const { w, baseSha, headSha, mergeSha } = pullRequestWorld(3)
    // actions/checkout on pull_request: the merge commit only, depth 1.
    const checkout = w.checkout(mergeSha, 'refs/remotes/pull/7/merge')
    expect(gitOk(checkout, 'cat-file', '-e', `${headSha}^{commit}`)).toBe(false)
    const payload = validEvent(
      'pull_request',
      pullRequestPayload({ repository: REPOSITORY, number: 7, action: 'synchronize', baseRef: 'main', baseSha, headRef: 'scale-prod', headSha })
    )
    const d = await detect(checkout, 'pull_request', payload)
    expect(d.environments).toEqual(['prod-gz'])
    expect(d.reasons).toEqual({ 'prod-gz': 'environments/prod-gz/environment.yaml and 1 more file changed' })
    expect(d.compared).toEqual({ base: w.base, head: headSha, files: 2 })
    expect(d.warnings).toEqual([])
    expect(logged.join('')).toContain(
      `deepening the history by 50 commits to find the merge base of ${baseSha.slice(0, 7)} and ${headSha.slice(0, 7)}`
    )
    expect(git(checkout, 'merge-base', baseSha, headSha)).toBe(w.base)
  })

  it('from a fork, opened: the same merge-base diff', async () => {
    const { w, baseSha, headSha, mergeSha } = pullRequestWorld(1)
    const payload = validEvent(
      'pull_request',
      pullRequestPayload({
        repository: REPOSITORY,
        number: 7,
        action: 'opened',
        baseRef: 'main',
        baseSha,
        headRef: 'scale-prod',
        headSha,
        fork: true
      })
    )
    const d = await detect(w.checkout(mergeSha, 'refs/remotes/pull/7/merge'), 'pull_request', payload)
    expect(d.environments).toEqual(['prod-gz'])
  })

  it('when the merge base lies beyond the bounded deepening, every environment is selected with a warning', async () => {
    const { w, baseSha, headSha, mergeSha } = pullRequestWorld(4)
    const payload = validEvent(
      'pull_request',
      pullRequestPayload({ repository: REPOSITORY, number: 7, baseRef: 'main', baseSha, headRef: 'scale-prod', headSha })
    )
    const d = await detect(w.checkout(mergeSha, 'refs/remotes/pull/7/merge'), 'pull_request', payload, { history: { deepenSteps: [1] } })
    expect(d.environments).toEqual(ENVIRONMENTS)
    expect(d.reasons.staging).toBe(
      `pull request #7: the changes since the merge base with ${baseSha.slice(0, 7)} are unknown; every environment is selected`
    )
    expect(d.warnings).toEqual([
      `cannot tell what this pull request changes: no merge base of ${baseSha.slice(0, 7)} and ${headSha.slice(0, 7)} was found in this clone's history (deepened by 1 commits). Every environment is selected so that none is missed.`
    ])
  })
})

describe('workflow_dispatch and schedule', () => {
  let w: World
  let checkout: string
  beforeAll(() => {
    w = new World()
    checkout = w.checkout(w.base)
  })
  const dispatch = (environments: string): Record<string, unknown> =>
    validEvent('workflow_dispatch', workflowDispatchPayload({ repository: REPOSITORY, ref: 'refs/heads/main', inputs: { environments } }))

  it('selects the listed environments (comma or JSON list, through the action)', async () => {
    const run = await runDetect(checkout, 'workflow_dispatch', dispatch('staging, prod-gz'), { select: 'staging, prod-gz' })
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.outputs.environments)).toEqual(['prod-gz', 'staging'])
    expect(JSON.parse(run.outputs.reasons)).toEqual({
      'prod-gz': 'workflow_dispatch: selected by name',
      staging: 'workflow_dispatch: selected by name'
    })
    const json = await runDetect(checkout, 'workflow_dispatch', dispatch('["dev-sh"]'), { select: '["dev-sh"]' })
    expect(JSON.parse(json.outputs.matrix)).toEqual({ include: [{ environment: 'dev-sh', directory: 'environments/dev-sh' }] })
  })

  it('all selects every environment', async () => {
    const d = await detect(checkout, 'workflow_dispatch', dispatch('all'), { select: ['all'] })
    expect(d.environments).toEqual(ENVIRONMENTS)
    expect(d.reasons['dev-sh']).toBe('workflow_dispatch: every environment (select: all)')
  })

  it('an unknown name is an error naming it; so is an empty select', async () => {
    await expect(detect(checkout, 'workflow_dispatch', dispatch('prod-gz,nope'), { select: ['prod-gz', 'nope'] })).rejects.toThrow(
      /select: unknown environment "nope": no "environments\/nope\/environment.yaml" in the checkout \(known: "dev-sh", "prod-gz", "staging"\)/
    )
    await expect(detect(checkout, 'workflow_dispatch', dispatch('../etc'), { select: ['../etc'] })).rejects.toThrow(
      /"..\/etc" is not an environment name/
    )
    await expect(detect(checkout, 'workflow_dispatch', dispatch(''))).rejects.toThrow(/the select input is empty/)

    const run = await runDetect(checkout, 'workflow_dispatch', dispatch('nope'), { select: 'nope' })
    expect(run.exitCode).not.toBe(0)
    expect(run.stdout).toContain('::error::detect-environments: select: unknown environment "nope"')
    expect(run.outputs.environments).toBeUndefined()
  })

  it('schedule selects every environment (event name and payload from the runner environment)', async () => {
    const d = await detect(checkout, 'schedule', { schedule: '17 3 * * *' })
    expect(d.environments).toEqual(ENVIRONMENTS)
    expect(d.reasons['prod-gz']).toBe('schedule: every environment')

    const run = await runDetect(checkout, 'schedule', { schedule: '17 3 * * *' })
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.outputs.environments)).toEqual(ENVIRONMENTS)
    expect(run.outputs.any).toBe('true')
  })

  it('an event it does not understand is an error, not an empty selection', async () => {
    await expect(detect(checkout, 'release', {})).rejects.toThrow(/event "release" is not one detect-environments understands/)
  })
})
