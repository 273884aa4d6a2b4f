// The workflows and action metadata, checked by actionlint (the real linter, as WASM) and by the
// rules GitHub documents for safe deploys: third-party actions pinned by full commit SHA, every
// job with its own permissions, deploy jobs in a per-environment concurrency group that is never
// cancelled, and a root composite action that only runs this repository's JavaScript actions
// from $GITHUB_ACTION_PATH with inputs they declare.
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { loadWorkflow } from '../runner/parse.js'
import { repoRoot } from '../support/environments.js'

const run = promisify(execFile)
const workflowsDir = path.join(repoRoot, '.github', 'workflows')
const workflows = readdirSync(workflowsDir).filter(f => /\.ya?ml$/.test(f))

/* eslint-disable @typescript-eslint/no-explicit-any */
const load = (file: string): any => parse(readFileSync(file, 'utf8'))

interface Uses {
  file: string
  uses: string
}

function usesIn(node: unknown, file: string, out: Uses[] = []): Uses[] {
  if (Array.isArray(node)) node.forEach(n => usesIn(n, file, out))
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'uses' && typeof v === 'string') out.push({ file, uses: v })
      else usesIn(v, file, out)
    }
  return out
}

const actionFiles = [
  path.join(repoRoot, 'action.yml'),
  ...readdirSync(path.join(repoRoot, 'actions'))
    .map(n => path.join(repoRoot, 'actions', n, 'action.yml'))
    .filter(f => existsSync(f))
]

describe('workflows', () => {
  it('are the six the project runs', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'drift.yml', 'plan.yml', 'release.yml', 'rollout-reusable.yml', 'rollout.yml', 'scale.yml'])
  })

  it('pass actionlint', async () => {
    const cli = path.join(repoRoot, 'node_modules', '@tktco', 'node-actionlint', 'bin', 'node-actionlint.js')
    const { stdout } = await run(process.execPath, [cli, path.join(workflowsDir, '*.yml')])
    expect(stdout).toContain(`Checking ${workflows.length} workflow file(s)`)
    expect(stdout).toContain('All workflow files passed lint checks')
  })

  it('pin every third-party action by a full commit SHA', () => {
    const all = [...workflows.map(f => path.join(workflowsDir, f)), ...actionFiles].flatMap(f => usesIn(load(f), path.relative(repoRoot, f)))
    expect(all.length).toBeGreaterThan(10)
    // Ours: a local path, or this repository named in full (a called workflow cannot say ./).
    const ours = (u: string): boolean => u.startsWith('./') || u.startsWith('zk-rollout/zk-rollout')
    const unpinned = all.filter(u => !ours(u.uses) && !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(u.uses))
    expect(unpinned).toEqual([])
  })

  it.each(workflows)('%s: contents read by default, and every job declares its permissions', file => {
    const wf = load(path.join(workflowsDir, file))
    expect(wf.permissions).toEqual({ contents: 'read' })
    for (const [name, job] of Object.entries<any>(wf.jobs))
      expect({ job: name, permissions: job.permissions !== undefined }).toEqual({ job: name, permissions: true })
  })

  it.each(workflows)('%s: a job that deploys to an environment has its own concurrency group, never cancelled', file => {
    const wf = load(path.join(workflowsDir, file))
    for (const [name, job] of Object.entries<any>(wf.jobs)) {
      if (job.environment === undefined) continue
      // drift.yml has its own group, so a queued check cannot replace a pending rollout (the lock keeps them apart).
      const group = file === 'drift.yml' ? 'zk-rollout-drift-${{ matrix.environment }}' : 'zk-rollout-${{ matrix.environment }}'
      expect({ job: name, concurrency: job.concurrency }).toEqual({ job: name, concurrency: { group, 'cancel-in-progress': false } })
      expect(job.environment).toBe('${{ matrix.environment }}')
      // A matrix from detect-environments is empty when nothing changed: GitHub fails such a job.
      expect(job.if).toBe("needs.detect.outputs.any == 'true'")
    }
  })
})

describe('workflow files', () => {
  it.each(workflows)("%s parses with GitHub's workflow parser", async file => {
    await expect(loadWorkflow(path.join(workflowsDir, file))).resolves.toBeTruthy()
  })
})

describe('release.yml', () => {
  it('on a v*.*.* tag: checks, then the tests and dist check of ci.yml, then publishes; only publishing may write', () => {
    const wf = load(path.join(workflowsDir, 'release.yml'))
    expect(wf.on).toEqual({ push: { tags: ['v*.*.*'] } })
    expect(wf.jobs.test).toMatchObject({ needs: 'check', uses: './.github/workflows/ci.yml' })
    expect(wf.jobs.publish.needs).toEqual(['check', 'test'])
    const writers = Object.entries<any>(wf.jobs).filter(([, j]) => j.permissions.contents !== 'read')
    expect(writers.map(([name, j]) => [name, j.permissions])).toEqual([['publish', { contents: 'write' }]])
    // ci.yml is callable, and runs the README's test command with the dist check (.ci/run).
    const ci = load(path.join(workflowsDir, 'ci.yml'))
    expect(Object.keys(ci.on)).toContain('workflow_call')
    expect(ci.jobs.test.steps.at(-1).run).toContain('bash .ci/run')
    const publish = wf.jobs.publish.steps.at(-1)
    expect(publish).toMatchObject({
      run: 'node .github/release/release.mjs publish "$GITHUB_REF_NAME"',
      env: { GITHUB_TOKEN: '${{ secrets.RELEASE_TOKEN || github.token }}' }
    })
  })
})

describe('action metadata', () => {
  it.each(actionFiles.map(f => path.relative(repoRoot, f)))('%s reads well on its own and runs what exists', file => {
    const action = load(path.join(repoRoot, file))
    expect(action.name).toMatch(/^zk-rollout/)
    expect(action.description.length).toBeGreaterThan(30)
    expect(action.author).toBe('zk-rollout')
    for (const [name, input] of Object.entries<any>(action.inputs ?? {}))
      expect({ name, description: typeof input.description }).toEqual({ name, description: 'string' })
    if (action.runs.using === 'composite') return
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
    expect(existsSync(path.join(repoRoot, path.dirname(file), 'src', 'index.ts'))).toBe(true)
  })

  it('the root composite runs only our bundles, with inputs each declares, and maps outputs from real steps', () => {
    const root = load(path.join(repoRoot, 'action.yml'))
    const ids = new Set<string>()
    for (const step of root.runs.steps) {
      expect(step.uses).toBeUndefined() // uses: ./x would resolve against the caller's workspace
      expect(step.shell).toBe('bash')
      const m = /^node "\$GITHUB_ACTION_PATH\/actions\/([a-z-]+)\/dist\/index\.js"$/.exec(step.run)
      expect({ id: step.id, run: m ? 'ok' : step.run }).toEqual({ id: step.id, run: 'ok' })
      const target = load(path.join(repoRoot, 'actions', m![1], 'action.yml'))
      const declared = new Set(Object.keys(target.inputs ?? {}).map(n => `INPUT_${n.toUpperCase()}`))
      for (const [key, value] of Object.entries<string>(step.env ?? {})) {
        if (key === 'ZK_ROLLOUT_LOCK_HOLDER' || key === 'ZK_ROLLOUT_STEP_SUMMARIES') continue
        expect({ step: step.id, key, declared: declared.has(key) }).toEqual({ step: step.id, key, declared: true })
        for (const ref of String(value).matchAll(/inputs\.([a-z-]+)/g)) expect(Object.keys(root.inputs)).toContain(ref[1])
        for (const ref of String(value).matchAll(/steps\.([a-z]+)\./g)) expect(ids.has(ref[1])).toBe(true)
      }
      // Every input the action requires is given.
      for (const [name, input] of Object.entries<any>(target.inputs ?? {}))
        if (input.required === true)
          expect({ step: step.id, name, given: `INPUT_${name.toUpperCase()}` in (step.env ?? {}) }).toEqual({ step: step.id, name, given: true })
      // Every step after the lock that talks to the cluster joins it as the same holder.
      if (ids.size > 0 && step.env?.INPUT_KUBECONFIG !== undefined)
        expect({ step: step.id, holder: step.env.ZK_ROLLOUT_LOCK_HOLDER }).toEqual({ step: step.id, holder: '${{ steps.lock.outputs.holder }}' })
      ids.add(step.id)
    }
    for (const [name, output] of Object.entries<any>(root.outputs)) {
      const m = /^\$\{\{ steps\.([a-z]+)\.outputs\.([a-z-]+) \}\}$/.exec(output.value)
      expect({ name, mapped: Boolean(m && ids.has(m[1])) }).toEqual({ name, mapped: true })
    }
  })
})
