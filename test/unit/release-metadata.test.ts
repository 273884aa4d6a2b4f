// What a user pins and reads: CHANGELOG.md in Keep a Changelog form whose newest release is
// package.json's version, Dependabot keeping both kinds of pin fresh, and the SHA pins carrying
// the version comment Dependabot maintains. dependabot.yml was also validated against
// SchemaStore's dependabot-2.0.json by hand (no npm package ships that schema and the test
// machine is offline; see CONTRIBUTING.md), so here its documented shape is checked.
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'
import { repoRoot } from '../support/environments.js'

const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8')
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/
const CHANGE_TYPES = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']

describe('CHANGELOG.md', () => {
  const text = read('CHANGELOG.md')
  const versions = [...text.matchAll(/^## \[([^\]]+)\](?: - (\S+))?$/gm)].map(m => ({ version: m[1], date: m[2] }))

  it("starts with Unreleased, then the newest release, which is package.json's version", () => {
    expect(text.startsWith('# Changelog\n')).toBe(true)
    expect(versions[0]).toEqual({ version: 'Unreleased', date: undefined })
    const pkg = JSON.parse(read('package.json')) as { version: string }
    expect(versions[1].version).toBe(pkg.version)
  })

  it('lists releases newest first, each with a date and only the change types Keep a Changelog names', () => {
    const released = versions.slice(1)
    expect(released.length).toBeGreaterThan(0)
    for (const r of released) {
      expect(r.version).toMatch(SEMVER)
      expect(r.date).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    }
    const key = (v: string): number[] => v.split('.').map(Number)
    const sorted = [...released].sort((a, b) => {
      const [x, y] = [key(a.version), key(b.version)]
      return y[0] - x[0] || y[1] - x[1] || y[2] - x[2]
    })
    expect(released).toEqual(sorted)
    const types = [...text.matchAll(/^### (.+)$/gm)].map(m => m[1])
    expect(types.filter(t => !CHANGE_TYPES.includes(t))).toEqual([])
  })
})

describe('.github/dependabot.yml', () => {
  const config = parse(read('.github/dependabot.yml')) as {
    version: number
    updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string }; groups?: Record<string, Record<string, unknown>> }[]
  }

  it('updates the github-actions SHA pins and npm, grouping minor and patch updates', () => {
    expect(config.version).toBe(2)
    expect(config.updates.map(u => [u['package-ecosystem'], u.directory, u.schedule.interval])).toEqual([
      ['github-actions', '/', 'weekly'],
      ['npm', '/', 'weekly']
    ])
    const npm = config.updates.find(u => u['package-ecosystem'] === 'npm')!
    expect(Object.values(npm.groups ?? {})).toEqual([{ 'update-types': ['minor', 'patch'] }])
  })

  it('every full-SHA pin carries the version comment Dependabot keeps in step with it', () => {
    const dir = path.join(repoRoot, '.github', 'workflows')
    const pins = readdirSync(dir).flatMap(f =>
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter(l => /uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40}/.test(l))
        .map(l => ({ file: f, line: l.trim() }))
    )
    expect(pins.length).toBeGreaterThan(0)
    expect(pins.filter(p => !/@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/.test(p.line))).toEqual([])
  })
})

describe('SECURITY.md', () => {
  it('says how to report privately and names what is in scope', () => {
    const text = read('SECURITY.md')
    expect(text).toContain('Report a vulnerability')
    for (const scope of ['**A shell.**', '**A file on a VM.**', '**A secret.**']) expect(text).toContain(scope)
  })
})
