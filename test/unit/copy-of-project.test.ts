// copyOfProject, the platform repository of the demo, the workflow tests and the benchmarks: what a
// commit of the working tree would hold. A whole `npm run bench` deletes bench/results.json (a
// tracked file) before the rollout benchmark copies the project, which once made the copy fail.
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { copyOfProject } from '../e2e/repository.js'

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@zk-rollout.invalid', ...args], { cwd, encoding: 'utf8' }).trim()

describe('copyOfProject', () => {
  it('copies tracked and untracked files, not ignored ones, nor tracked files deleted from the working tree', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'zk-copy-'))
    try {
      const from = path.join(base, 'checkout')
      mkdirSync(path.join(from, 'bench'), { recursive: true })
      writeFileSync(path.join(from, '.gitignore'), 'node_modules/\n')
      writeFileSync(path.join(from, 'bench', 'results.json'), '{}\n')
      writeFileSync(path.join(from, 'kept.txt'), 'kept\n')
      git(from, 'init', '-q')
      git(from, 'add', '-A')
      git(from, 'commit', '-q', '-m', 'one')
      rmSync(path.join(from, 'bench', 'results.json'))
      writeFileSync(path.join(from, 'new.txt'), 'new\n')
      symlinkSync('kept.txt', path.join(from, 'link'))
      mkdirSync(path.join(from, 'node_modules'))
      writeFileSync(path.join(from, 'node_modules', 'x.js'), '')

      const copy = copyOfProject(path.join(base, 'copy'), { from })
      expect(git(copy.dir, 'ls-files').split('\n').sort()).toEqual(['.gitignore', 'kept.txt', 'link', 'new.txt'])
      expect(git(copy.dir, 'cat-file', '-p', 'HEAD:link')).toBe('kept.txt')
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })
})
