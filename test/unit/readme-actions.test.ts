import { describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
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
