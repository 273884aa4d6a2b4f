// Real git repositories for the event-driven path: a copy of this project (its committed files
// as they are in the working tree, bundles included) as the platform team's repository, commits
// made with git, and the push or pull_request payloads GitHub would send for them.
import { execFileSync } from 'node:child_process'
import { cpSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { repoRoot } from '../support/environments.js'

const git = (cwd: string, args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=zk-rollout test', '-c', 'user.email=test@zk-rollout.invalid', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8'
  }).trim()

export interface Repository {
  dir: string
  head(): string
  /** Writes files (path relative to the repository -> content), commits them, returns the new sha. */
  commit(message: string, files: Record<string, string | null>): string
  /** Copies a directory into the repository (e.g. an environment), commits it, returns the sha. */
  commitDirectory(message: string, from: string, to: string): string
}

/**
 * Files git tracks in this project, plus untracked ones it does not ignore, less the tracked ones
 * deleted from the working tree (a whole `npm run bench` starts by removing bench/results.json):
 * what a commit of the working tree would hold.
 */
function projectFiles(root: string): string[] {
  const present = (file: string): boolean => {
    try {
      lstatSync(path.join(root, file))
      return true
    } catch {
      return false
    }
  }
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(file => file !== '' && present(file))
}

/** A new repository holding this project's files (or those of the checkout `from`), committed once on main. */
export function copyOfProject(dir: string, opts: { exclude?: (file: string) => boolean; from?: string } = {}): Repository {
  const root = opts.from ?? repoRoot
  mkdirSync(dir, { recursive: true })
  for (const file of projectFiles(root)) {
    if (opts.exclude?.(file)) continue
    const to = path.join(dir, file)
    mkdirSync(path.dirname(to), { recursive: true })
    cpSync(path.join(root, file), to, { verbatimSymlinks: true })
  }
  return initRepository(dir, 'the project as it is')
}

/** A new repository with the given files (a consumer's, for instance), committed once on main. */
export function newRepository(dir: string, files: Record<string, string>): Repository {
  mkdirSync(dir, { recursive: true })
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), content)
  }
  return initRepository(dir, 'initial commit')
}

function initRepository(dir: string, message: string): Repository {
  git(dir, ['init', '-q'])
  git(dir, ['add', '-A'])
  git(dir, ['commit', '-q', '-m', message])
  const repo: Repository = {
    dir,
    head: () => git(dir, ['rev-parse', 'HEAD']),
    commit(msg, files) {
      for (const [file, content] of Object.entries(files)) {
        const target = path.join(dir, file)
        if (content === null) git(dir, ['rm', '-q', '--', file])
        else {
          mkdirSync(path.dirname(target), { recursive: true })
          writeFileSync(target, content)
        }
      }
      git(dir, ['add', '-A'])
      git(dir, ['commit', '-q', '-m', msg])
      return repo.head()
    },
    commitDirectory(msg, from, to) {
      cpSync(from, path.join(dir, to), { recursive: true })
      git(dir, ['add', '-A'])
      git(dir, ['commit', '-q', '-m', msg])
      return repo.head()
    }
  }
  return repo
}
