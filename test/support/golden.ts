import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { expect } from '@jest/globals'
import { repoRoot } from './environments.js'

const goldenDir = path.join(repoRoot, 'test', 'unit', 'golden')

/**
 * Compares rendered text with test/unit/golden/<name>. UPDATE_GOLDEN=1 rewrites the files;
 * review the diff before committing. A missing golden file fails rather than passing silently.
 */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(goldenDir, name)
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, actual)
    return
  }
  if (!existsSync(file)) throw new Error(`golden file ${path.relative(repoRoot, file)} is missing: run with UPDATE_GOLDEN=1 and review it`)
  expect(actual).toBe(readFileSync(file, 'utf8'))
}
