// The secret hygiene scan (test/support/secret-hygiene.ts) that every integration test file runs at
// its end: it must see a key wherever a test could leak it, and must not cry wolf on the key's own
// file or on the `::add-mask::` line the runner consumes.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { findSecretLeaks, recordOutput, registerSecret, removeScanned, resetSecretHygiene, watchDirectory } from '../support/secret-hygiene.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-hygiene-'))
const keyFile = path.join(dir, 'id')
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'hygiene', '-f', keyFile])
const key = readFileSync(keyFile, 'utf8')
const bodyLines = key.split('\n').filter(l => l && !l.startsWith('-----'))

function fresh(): string {
  resetSecretHygiene()
  registerSecret('test key', key, [keyFile])
  const scratch = mkdtempSync(path.join(dir, 'scratch-'))
  watchDirectory(scratch)
  watchDirectory(dir) // holds the key's home, which must not count
  return scratch
}

afterEach(() => resetSecretHygiene())

describe('secret hygiene scan', () => {
  it('is clean when the key stays in its own file', () => {
    fresh()
    recordOutput('stdout', 'deployed 2 observers\n')
    expect(findSecretLeaks()).toEqual([])
  })

  it('finds the whole key, one body line of it, or its base64 in captured output', () => {
    for (const leaked of [key, `half a key: ${bodyLines[1]}`, Buffer.from(key).toString('base64')]) {
      fresh()
      recordOutput('step stdout', `before\n${leaked}\nafter`)
      expect(findSecretLeaks()).toEqual([{ secret: 'test key', where: 'step stdout' }])
    }
  })

  it('ignores the add-mask command, which the runner consumes instead of logging', () => {
    fresh()
    recordOutput('stdout', `::add-mask::${Buffer.from(key).toString('base64')}\nok`)
    expect(findSecretLeaks()).toEqual([])
  })

  it('does not count the OpenSSH format line every key shares', () => {
    fresh()
    recordOutput('stdout', bodyLines[0])
    expect(bodyLines[0]).toMatch(/^b3BlbnNzaC1rZXktdjE/)
    expect(findSecretLeaks()).toEqual([])
  })

  it('finds a copy in a watched directory, nested, and in a directory removed before the scan', () => {
    const scratch = fresh()
    mkdirSync(path.join(scratch, 'a', 'b'), { recursive: true })
    writeFileSync(path.join(scratch, 'a', 'b', 'outputs'), `key<<EOF\n${key}EOF\n`)
    const removed = mkdtempSync(path.join(os.tmpdir(), 'zk-hygiene-removed-'))
    writeFileSync(path.join(removed, 'summary.md'), `\`${bodyLines[1]}\``)
    removeScanned(removed)
    expect(
      findSecretLeaks()
        .map(l => l.where)
        .sort()
    ).toEqual([path.join(removed, 'summary.md'), path.join(scratch, 'a', 'b', 'outputs')].sort())
  })
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))
