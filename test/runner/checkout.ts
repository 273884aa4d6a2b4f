// actions/checkout, simulated: the one third-party action this runner provides itself (it cannot
// reach github.com). It does what actions/checkout does with git, against repositoryDir instead of
// https://github.com/<owner>/<repo>: `git init` in the workspace (or `path`), origin =
// file://<repositoryDir>, then
//   - fetch-depth N > 0 (default 1): `git fetch --no-tags --prune --depth=N origin +<sha>:<ref>`,
//     a shallow repository;
//   - fetch-depth 0: every branch and tag, then the commit itself if no fetched ref points at it;
// and checks out as actions/checkout's ref-helper does: a branch ref as a local branch
// (`checkout -B main refs/remotes/origin/main`), a pull request or tag ref or a bare sha detached.
// Inputs it honours: path, fetch-depth, fetch-tags, ref, repository (only the workflow's own).
// Accepted without effect: token, persist-credentials, clean, show-progress, set-safe-directory.
// Refused when set: ssh-*, submodules, lfs, sparse-checkout, filter, github-server-url.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import * as path from 'node:path'
import { UnsupportedError, type Where } from './errors.js'

export interface CheckoutResult {
  stdout: string
  outputs: Record<string, string>
}

export interface CheckoutRequest {
  inputs: Record<string, string>
  repository: string
  repositoryDir: string
  workspace: string
  sha: string
  ref: string
  at: Where
  env: Record<string, string>
}

const known = new Set([
  'repository',
  'ref',
  'token',
  'ssh-key',
  'ssh-known-hosts',
  'ssh-strict',
  'ssh-user',
  'persist-credentials',
  'path',
  'clean',
  'filter',
  'sparse-checkout',
  'sparse-checkout-cone-mode',
  'fetch-depth',
  'fetch-tags',
  'show-progress',
  'lfs',
  'submodules',
  'set-safe-directory',
  'github-server-url'
])

function isTrue(v: string | undefined): boolean {
  return (v ?? '').trim().toLowerCase() === 'true'
}

export function checkoutUnexpectedInputs(inputs: Record<string, string>): string[] {
  return Object.keys(inputs).filter(k => !known.has(k.toLowerCase()))
}

export function runCheckout(req: CheckoutRequest): CheckoutResult {
  const input = (name: string): string => {
    const key = Object.keys(req.inputs).find(k => k.toLowerCase() === name)
    return key === undefined ? '' : req.inputs[key]
  }
  const refuse = (name: string, why: string): never => {
    throw new UnsupportedError(`actions/checkout input ${name}`, why, req.at)
  }
  for (const name of ['ssh-key', 'ssh-known-hosts', 'ssh-user', 'sparse-checkout', 'filter', 'github-server-url']) {
    if (input(name) !== '') refuse(name, 'the simulated checkout only clones repositoryDir')
  }
  if (input('submodules') !== '' && input('submodules').toLowerCase() !== 'false') refuse('submodules', 'submodules are not checked out')
  if (isTrue(input('lfs'))) refuse('lfs', 'Git LFS is not supported')
  const repository = input('repository')
  if (repository !== '' && repository.toLowerCase() !== req.repository.toLowerCase()) {
    refuse('repository', `only the workflow's own repository ${req.repository} (repositoryDir) can be checked out, not ${repository}`)
  }
  const depthText = input('fetch-depth') || '1'
  if (!/^\d+$/.test(depthText)) refuse('fetch-depth', `${JSON.stringify(depthText)} is not a number`)
  const depth = Number(depthText)
  const workspace = path.resolve(req.workspace)
  const dest = path.resolve(workspace, input('path') || '.')
  if (dest !== workspace && !dest.startsWith(workspace + path.sep)) {
    throw new Error(`Repository path '${dest}' is not under '${workspace}'`)
  }

  const log: string[] = []
  const git = (args: string[], cwd = dest): string => {
    log.push(`[command]git ${args.join(' ')}`)
    try {
      const out = execFileSync('git', args, { cwd, env: req.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      return out
    } catch (e) {
      const err = e as { stderr?: string; message: string }
      throw new Error(`git ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`, { cause: e })
    }
  }
  const tryGit = (args: string[]): string | undefined => {
    try {
      return execFileSync('git', args, { cwd: dest, env: req.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
    } catch {
      return undefined
    }
  }

  // Which commit: the workflow's sha and ref unless `ref` is given (resolved in repositoryDir).
  let ref = req.ref
  let commit = req.sha
  const wanted = input('ref')
  if (wanted !== '') {
    const resolve = (r: string): string | undefined => {
      try {
        return execFileSync('git', ['-C', req.repositoryDir, 'rev-parse', '--verify', '--quiet', `${r}^{commit}`], { encoding: 'utf8' }).trim()
      } catch {
        return undefined
      }
    }
    if (/^[0-9a-f]{40}$/i.test(wanted)) {
      ref = ''
      commit = wanted
    } else {
      const candidates = wanted.startsWith('refs/') ? [wanted] : [`refs/heads/${wanted}`, `refs/tags/${wanted}`]
      const found = candidates.map(c => [c, resolve(c)] as const).find(([, sha]) => sha)
      if (!found) throw new Error(`A branch or tag with the name '${wanted}' could not be found`)
      ref = found[0]
      commit = found[1] as string
    }
  }

  // Remote refs as actions/checkout's ref-helper names them.
  let target: string
  let branch: string | undefined
  if (ref.startsWith('refs/heads/')) {
    branch = ref.slice('refs/heads/'.length)
    target = `refs/remotes/origin/${branch}`
  } else if (ref.startsWith('refs/pull/')) {
    target = `refs/remotes/pull/${ref.slice('refs/pull/'.length)}`
  } else if (ref.startsWith('refs/tags/')) {
    target = ref
  } else if (ref === '') {
    target = ''
  } else {
    target = ref
  }

  // A fresh directory (actions/checkout deletes what is there when it is not this repository).
  if (existsSync(dest) && readdirSync(dest).length > 0 && !existsSync(path.join(dest, '.git'))) {
    for (const entry of readdirSync(dest)) rmSync(path.join(dest, entry), { recursive: true, force: true })
  }
  mkdirSync(dest, { recursive: true })
  const url = `file://${path.resolve(req.repositoryDir)}`
  if (!existsSync(path.join(dest, '.git'))) {
    git(['init', '-q', dest], workspace)
    git(['remote', 'add', 'origin', url])
  } else {
    git(['remote', 'set-url', 'origin', url])
  }
  git(['config', '--local', 'gc.auto', '0'])
  const specific = target ? `+${commit}:${target}` : commit
  const fetchTags = isTrue(input('fetch-tags'))
  if (depth > 0) {
    const specs = [specific]
    if (fetchTags) specs.push('+refs/tags/*:refs/tags/*')
    git(['fetch', ...(fetchTags ? [] : ['--no-tags']), '--prune', '--no-recurse-submodules', `--depth=${depth}`, 'origin', ...specs])
  } else {
    git(['fetch', '--prune', '--no-recurse-submodules', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'])
    const at = target
      ? tryGit(['rev-parse', '--verify', '--quiet', `${target}^{commit}`])
      : tryGit(['rev-parse', '--verify', '--quiet', `${commit}^{commit}`])
    if (at !== commit) git(['fetch', '--prune', '--no-recurse-submodules', 'origin', specific])
  }
  if (branch) git(['checkout', '-q', '--force', '-B', branch, target])
  else git(['checkout', '-q', '--force', target || commit])
  const head = git(['rev-parse', 'HEAD']).trim()
  if (head !== commit) throw new Error(`checked out ${head}, expected ${commit}`)
  log.push(`HEAD is now at ${head.slice(0, 7)}`)
  return { stdout: log.join('\n') + '\n', outputs: { ref, commit } }
}
