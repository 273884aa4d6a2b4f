import { describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'
import { DOCS_END, DOCS_START, renderActionDocs } from '../support/action-docs.js'
import { repoRoot } from '../support/environments.js'

describe('README action reference', () => {
  it('matches every actions/*/action.yml (UPDATE_DOCS=1 rewrites it)', () => {
    const readmePath = path.join(repoRoot, 'README.md')
    const readme = readFileSync(readmePath, 'utf8')
    const start = readme.indexOf(DOCS_START)
    const end = readme.indexOf(DOCS_END)
    expect(start).toBeGreaterThan(-1)
    expect(end).toBeGreaterThan(start)
    const generated = `${DOCS_START}\n${renderActionDocs(repoRoot)}\n${DOCS_END}`
    const current = readme.slice(start, end + DOCS_END.length)
    if (process.env.UPDATE_DOCS === '1') writeFileSync(readmePath, readme.replace(current, generated))
    else expect(current).toBe(generated)
  })
})

describe('action outputs', () => {
  const actionsDir = path.join(repoRoot, 'actions')
  const names = readdirSync(actionsDir).filter(n => existsSync(path.join(actionsDir, n, 'action.yml')) && existsSync(path.join(actionsDir, n, 'src')))

  it.each(names)('%s sets exactly the outputs its action.yml declares', name => {
    const metadata = parse(readFileSync(path.join(actionsDir, name, 'action.yml'), 'utf8')) as { outputs?: Record<string, unknown> }
    const declared = Object.keys(metadata.outputs ?? {}).sort()
    const source = readdirSync(path.join(actionsDir, name, 'src'))
      .map(f => readFileSync(path.join(actionsDir, name, 'src', f), 'utf8'))
      .join('\n')
    const calls = [...source.matchAll(/core\.setOutput\(\s*([^,]+),/g)].map(m => m[1].trim())
    // A name that is not a plain string literal (a template, a variable) cannot be declared.
    expect(calls.filter(c => !/^'[^'$`]+'$/.test(c))).toEqual([])
    // runAction (workflows-lib/src/runner/run-action.ts) sets `error` on every failure.
    const library = source.includes('runAction(') ? ['error'] : []
    const set = [...new Set([...calls.map(c => c.slice(1, -1)), ...library])].sort()
    expect(set).toEqual(declared)
  })
})
