// release.yml's check step, run as the runner runs it (node on the script, in a checkout that
// holds package.json and CHANGELOG.md): a tag that is not package.json's version, or a version
// without its changelog section, fails before anything is published, naming the file and line.
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '../support/environments.js'

const run = promisify(execFile)

async function check(
  tag: string,
  files: { version: string; changelog: string; workflows?: Record<string, string> }
): Promise<{ code: number; stdout: string; stderr: string; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-release-'))
  mkdirSync(path.join(dir, '.github', 'release'), { recursive: true })
  copyFileSync(path.join(repoRoot, '.github', 'release', 'release.mjs'), path.join(dir, '.github', 'release', 'release.mjs'))
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'zk-rollout', version: files.version }))
  writeFileSync(path.join(dir, 'CHANGELOG.md'), files.changelog)
  mkdirSync(path.join(dir, '.github', 'workflows'))
  for (const [name, text] of Object.entries(files.workflows ?? {})) writeFileSync(path.join(dir, '.github', 'workflows', name), text)
  const output = path.join(dir, 'github-output')
  writeFileSync(output, '')
  try {
    const r = await run('node', [path.join(dir, '.github', 'release', 'release.mjs'), 'check', tag], {
      env: { ...process.env, GITHUB_OUTPUT: output }
    })
    return { code: 0, stdout: r.stdout, stderr: r.stderr, output: readFileSync(output, 'utf8') }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, stdout: err.stdout, stderr: err.stderr, output: readFileSync(output, 'utf8') }
  }
}

const changelog =
  '# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-01\n\n### Fixed\n\n- a fix\n\n## [1.1.0] - 2026-11-01\n\n### Added\n\n- a thing\n'

describe('release.mjs check', () => {
  it("agrees with a tag that is package.json's version and has its section, and says the major tag", async () => {
    const r = await check('v1.2.0', { version: '1.2.0', changelog })
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.output).toBe('version=1.2.0\nmajor=v1\n')
  })

  it('refuses a tag that differs from package.json, before writing any output', async () => {
    const r = await check('v1.3.0', { version: '1.2.0', changelog })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('release: tag v1.3.0 does not match package.json: its "version" is "1.2.0"; bump it (and CHANGELOG.md) first\n')
    expect(r.output).toBe('')
  })

  it('refuses a version without its changelog section, or with an empty one, naming the line', async () => {
    expect((await check('v1.3.0', { version: '1.3.0', changelog })).stderr).toBe(
      'release: CHANGELOG.md: no section "## [1.3.0] - <date>" for this release\n'
    )
    const empty = changelog.replace('### Fixed\n\n- a fix\n\n', '')
    expect((await check('v1.2.0', { version: '1.2.0', changelog: empty })).stderr).toBe('release: CHANGELOG.md:5: the section for 1.2.0 is empty\n')
  })

  it('refuses a tag that is not plain semver, and never starts a line with it', async () => {
    const r = await check('::warning::v1', { version: '1.2.0', changelog })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('release: tag "::warning::v1" is not v<major>.<minor>.<patch>\n')
  })

  it("refuses workflows that call this repository's actions at another ref than the major tag, naming file and line", async () => {
    const reusable = [
      'jobs:',
      '  a:',
      '    steps:',
      '      - uses: zk-rollout/zk-rollout/actions/detect-environments@v1',
      '      - uses: zk-rollout/zk-rollout@main # not released',
      "      - uses: 'zk-rollout/zk-rollout@v0'",
      '      - uses: ./actions/plan',
      '      - run: |',
      '          echo "uses: zk-rollout/zk-rollout@main" is text in a script',
      '        env:',
      '          A: b',
      '      - { uses: Zk-Rollout/ZK-rollout@main }',
      '      - uses: zk-rollout/zk-rollout-extras@main',
      ''
    ].join('\n')
    const r = await check('v1.2.0', { version: '1.2.0', changelog, workflows: { 'reusable.yml': reusable } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      [
        "release: .github/workflows/reusable.yml:5: uses this repository's actions at main, not at this release's major tag v1",
        "release: .github/workflows/reusable.yml:6: uses this repository's actions at v0, not at this release's major tag v1",
        "release: .github/workflows/reusable.yml:12: uses this repository's actions at main, not at this release's major tag v1",
        ''
      ].join('\n')
    )
    expect(r.output).toBe('')
  })

  it('agrees on this repository as it is (package.json, CHANGELOG.md and the workflows)', async () => {
    const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version
    const workflowsDir = path.join(repoRoot, '.github', 'workflows')
    const workflows = Object.fromEntries(readdirSync(workflowsDir).map(f => [f, readFileSync(path.join(workflowsDir, f), 'utf8')]))
    expect(workflows['rollout-reusable.yml']).toContain(`zk-rollout/zk-rollout@v${version.split('.')[0]}`)
    const r = await check(`v${version}`, { version, changelog: readFileSync(path.join(repoRoot, 'CHANGELOG.md'), 'utf8'), workflows })
    expect(r).toMatchObject({ code: 0, stderr: '' })
  })
})
