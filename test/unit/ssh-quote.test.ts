// shellQuote is what keeps user values from being parsed as shell code on the VMs: checked
// against real shells (dash as /bin/sh, and bash) with hostile strings.
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { shellQuote, shellWords } from '../../workflows-lib/src/ssh/quote.js'

const canary = path.join(mkdtempSync(path.join(os.tmpdir(), 'zk-quote-')), 'pwned')

const hostile = [
  '',
  'plain',
  "it's",
  "'",
  "''",
  "'\\''",
  '"',
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  '${HOME}',
  '$HOME',
  `; touch ${canary} #`,
  `' ; touch ${canary} ; '`,
  `&& touch ${canary}`,
  `| touch ${canary}`,
  `> ${canary}`,
  'line one\nline two',
  '\n',
  `\n touch ${canary}\n`,
  'tab\there',
  'back\\slash',
  '\\',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '!',
  '!!',
  '-n',
  '--',
  '-e \\x41',
  '%h %p %%',
  ' leading and trailing ',
  'é ünïcödé 🎉',
  'a'.repeat(20_000)
]

describe.each(['sh', 'bash'])('shellQuote, read back by %s', shell => {
  it.each(hostile.map(v => [JSON.stringify(v).slice(0, 40), v]))('keeps %s literal', (_, value) => {
    const out = execFileSync(shell, ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' })
    expect(out).toBe(value)
    expect(existsSync(canary)).toBe(false)
  })

  it('passes a list of hostile words as exactly that many arguments', () => {
    const script = `set -- ${shellWords(hostile)}; printf '%s\\0' "$@"`
    const out = execFileSync(shell, ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 24 })
    expect(out.split('\0').slice(0, -1)).toEqual(hostile)
    expect(existsSync(canary)).toBe(false)
  })
})

describe('shellQuote', () => {
  it("wraps in single quotes and writes each embedded quote as '\\''", () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'")
    expect(shellQuote('')).toBe("''")
  })

  it('refuses a NUL byte, which no shell string can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow('NUL byte')
  })
})
