// The local runner's pure parts: filter patterns, the matrix builder, command files, workflow
// commands and masking, expressions, the parser's errors, and what `uses:` may name. The
// behaviour they copy is GitHub's (its docs and actions/runner's sources); test/integration/
// local-runner.test.ts runs whole workflows.
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { parseUses, resolveAction } from '../runner/actions.js'
import { CommandProcessor, Masker, parseCommand } from '../runner/commands.js'
import { UnsupportedError, WorkflowError } from '../runner/errors.js'
import { checkTrigger, compilePattern, matchesPatterns } from '../runner/events.js'
import {
  alwaysSucceeding,
  evaluateCondition,
  evaluateExpression,
  evaluateStringMap,
  formatExpression,
  fromData,
  type Status
} from '../runner/expressions.js'
import { parseEnvFile } from '../runner/files.js'
import { buildStrategy } from '../runner/matrix.js'
import { jobToken, loadWorkflow, prop } from '../runner/parse.js'
import type { RunWorkflowOptions } from '../runner/types.js'
import { tempDir } from '../runner/testing.js'

const scratch = tempDir('local-runner-unit-')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

let n = 0
function workflowFile(content: string): string {
  const dir = path.join(scratch, `repo${++n}`, '.github', 'workflows')
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'w.yml')
  writeFileSync(file, content)
  return file
}

describe('filter patterns (GitHub: "Filter pattern cheat sheet")', () => {
  it.each([
    ['*', 'main', true],
    ['*', 'releases/v1', false],
    ['**', 'releases/v1', true],
    ['releases/**', 'releases/v1/x', true],
    ['releases/**-alpha', 'releases/beta/3-alpha', true],
    ['feature/*', 'feature/a/b', false],
    ['*.js', 'app.js', true],
    ['*.js', 'src/app.js', false],
    ['**.js', 'src/app.js', true],
    ['**/*.js', 'app.js', true],
    ['docs/**/*.md', 'docs/a/b/c.md', true],
    ['environments/**', 'environments/prod/environment.yaml', true],
    ['environments/**', 'charts/x', false],
    ['actions/*/dist/**', 'actions/plan/dist/index.js', true],
    ['actions/*/dist/**', 'actions/plan/src/index.ts', false],
    ['v[12].[0-9]+.[0-9]+', 'v1.10.1', true],
    ['v[12].[0-9]+.[0-9]+', 'v3.1.1', false],
    ['Octoc?t', 'Octot', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false]
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compilePattern(pattern).regex.test(name)).toBe(expected)
  })

  it('reads a list in order: the last matching pattern decides, ! negates', () => {
    const patterns = ['sub-project/**', '!sub-project/docs/**', 'sub-project/docs/keep.md']
    expect(matchesPatterns(patterns, 'sub-project/src/a.ts')).toBe(true)
    expect(matchesPatterns(patterns, 'sub-project/docs/a.md')).toBe(false)
    expect(matchesPatterns(patterns, 'sub-project/docs/keep.md')).toBe(true)
    expect(matchesPatterns(patterns, 'other')).toBe(false)
  })

  it('refuses a malformed pattern', () => {
    expect(() => compilePattern('a[')).toThrow(WorkflowError)
    expect(() => compilePattern('[]')).toThrow(/empty brackets/)
  })
})

describe('strategy and matrix (actions/runner MatrixBuilder)', () => {
  const prefix = 'w.yml (Line: 3, Col: 5): '

  it('crosses the vectors with the first key varying slowest', () => {
    const s = buildStrategy({ matrix: { os: ['a', 'b'], n: [1, 2] } }, prefix)
    expect(s.configs.map(c => c.matrix)).toEqual([
      { os: 'a', n: 1 },
      { os: 'a', n: 2 },
      { os: 'b', n: 1 },
      { os: 'b', n: 2 }
    ])
    expect(s.configs[1].segments).toEqual(['a', '2'])
    expect(s.failFast).toBe(true)
  })

  it('include extends matching combinations, adds unmatched ones, and never overwrites an original value', () => {
    const s = buildStrategy(
      {
        'fail-fast': false,
        'max-parallel': 2,
        matrix: {
          fruit: ['apple', 'pear'],
          animal: ['cat', 'dog'],
          include: [
            { color: 'green' },
            { color: 'pink', animal: 'cat' },
            { fruit: 'apple', shape: 'circle' },
            { fruit: 'banana' },
            { fruit: 'banana', animal: 'cat' }
          ]
        }
      },
      prefix
    )
    // The example of GitHub's docs ("Expanding or adding matrix configurations").
    expect(s.configs.map(c => c.matrix)).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' }
    ])
    expect(s.failFast).toBe(false)
    expect(s.maxParallel).toBe(2)
  })

  it('exclude removes combinations, compared as GitHub == (strings case-insensitively)', () => {
    const s = buildStrategy({ matrix: { os: ['Linux', 'mac'], v: [1, 2], exclude: [{ os: 'linux', v: '2' }] } }, prefix)
    expect(s.configs.map(c => c.matrix)).toEqual([
      { os: 'Linux', v: 1 },
      { os: 'mac', v: 1 },
      { os: 'mac', v: 2 }
    ])
  })

  it('an include-only matrix (a matrix from a previous job: {include: [...]}) has one job per entry', () => {
    const s = buildStrategy({ matrix: { include: [{ environment: 'a', directory: 'environments/a' }, { environment: 'b' }] } }, prefix)
    expect(s.configs.map(c => c.matrix)).toEqual([{ environment: 'a', directory: 'environments/a' }, { environment: 'b' }])
    expect(s.configs[0].segments).toEqual(['a', 'environments/a'])
  })

  it('fails the way GitHub does on an empty matrix', () => {
    expect(() => buildStrategy({ matrix: { include: [] } }, prefix)).toThrow(`${prefix}Matrix must define at least one vector`)
    expect(() => buildStrategy({ matrix: {} }, prefix)).toThrow('Matrix must define at least one vector')
    expect(() => buildStrategy({ matrix: { environment: [] } }, prefix)).toThrow("Matrix vector 'environment' does not contain any values")
    expect(() => buildStrategy({ matrix: { include: [{}] } }, prefix)).toThrow('Matrix include mapping does not contain any values')
    expect(() => buildStrategy({ matrix: { a: [1], exclude: [{ b: 1 }] } }, prefix)).toThrow(
      "Matrix exclude key 'b' does not match any key within the matrix"
    )
    expect(() => buildStrategy({ matrix: '[]' }, prefix)).toThrow(/a mapping was expected/)
  })

  it('runs the job once without a matrix when everything is excluded, or when there is no strategy', () => {
    expect(buildStrategy({ matrix: { a: [1], exclude: [{ a: 1 }] } }, prefix).configs).toEqual([{ matrix: undefined, segments: [] }])
    expect(buildStrategy(undefined, prefix).configs).toEqual([{ matrix: undefined, segments: [] }])
  })
})

describe('command files (actions/runner FileCommandManager)', () => {
  it('reads NAME=VALUE lines and NAME<<DELIMITER heredocs', () => {
    const text = ['a=1', 'b=x=y', '', 'multi<<EOF', 'line 1', '', 'line 3', 'EOF', 'c<<X', 'X', 'd=', 'e<<=', 'v', '='].join('\n') + '\n'
    expect(parseEnvFile(text)).toEqual([
      ['a', '1'],
      ['b', 'x=y'],
      ['multi', 'line 1\n\nline 3'],
      ['c', ''],
      ['d', ''],
      ['e', 'v']
    ])
  })

  it('refuses what the runner refuses', () => {
    expect(() => parseEnvFile('x<<EOF\nno end\n')).toThrow("Matching delimiter not found 'EOF'")
    expect(() => parseEnvFile('novalue\n')).toThrow("Invalid format 'novalue'")
    expect(() => parseEnvFile('=x\n')).toThrow('Name must not be empty')
    expect(() => parseEnvFile('x<<\n')).toThrow('delimiter must not be empty')
  })
})

describe('workflow commands (actions/runner ActionCommand)', () => {
  it('parses ::name k=v::data with escapes, after leading whitespace', () => {
    expect(parseCommand('  ::error file=a%2Cb.ts,line=3,col=2,title=T%3Ax::first%0Asecond%25')).toEqual({
      command: 'error',
      properties: { file: 'a,b.ts', line: '3', col: '2', title: 'T:x' },
      data: 'first\nsecond%'
    })
    expect(parseCommand('::group::Title')).toEqual({ command: 'group', properties: {}, data: 'Title' })
  })

  it('parses the legacy ##[name] form anywhere in a line, and leaves other lines alone', () => {
    expect(parseCommand('prefix ##[warning]careful')).toEqual({ command: 'warning', properties: {}, data: 'careful' })
    expect(parseCommand('::not-a-command::x')).toBeUndefined()
    expect(parseCommand('a :: b :: c')).toBeUndefined()
    expect(parseCommand('plain')).toBeUndefined()
  })

  it('masks secrets, their lines and encodings, and what ::add-mask:: registers from then on', () => {
    const masker = new Masker(['hunter2', 'line one\nline two'])
    expect(masker.mask('pw=hunter2 "line two"')).toBe('pw=*** "***"')
    expect(masker.mask(JSON.stringify('a"b'))).toBe('"a\\"b"')
    const m2 = new Masker(['a"b'])
    expect(m2.mask(JSON.stringify({ v: 'a"b' }))).toBe('{"v":"***"}')
    expect(new Masker(['s3cr3t!']).mask(`x=${Buffer.from('s3cr3t!').toString('base64')}`)).toBe('x=***')
    const logged: string[] = []
    const p = new CommandProcessor(masker, false, l => logged.push(l))
    expect(p.line('before: token-123')).toBe('before: token-123')
    expect(p.line('::add-mask::token-123')).toBe('::add-mask::***')
    expect(p.line('after: token-123')).toBe('after: ***')
    expect(p.line('::warning file=f.yml,line=2::uses token-123')).toBe('::warning file=f.yml,line=2::uses ***')
    expect(p.annotations).toEqual([{ level: 'warning', message: 'uses ***', file: 'f.yml', line: 2 }])
    expect(logged).toEqual(['before: token-123', 'after: ***', 'Warning: uses ***'])
  })

  it('stops processing commands until the stop token', () => {
    const p = new CommandProcessor(new Masker(), false, () => {})
    p.line('::stop-commands::pause-token-1')
    p.line('::error::not an error')
    p.line('::pause-token-1::')
    p.line('::error::an error')
    expect(p.annotations.map(a => a.message)).toEqual(['an error'])
  })

  it('collects the deprecated and disabled commands, which the runner refuses', () => {
    const p = new CommandProcessor(new Masker(), false, () => {})
    p.line('::set-output name=x::1')
    p.line('::set-env name=x::1')
    expect(p.refused).toEqual([expect.stringContaining('::set-output'), expect.stringContaining('::set-env')])
  })
})

describe('expressions (@actions/expressions)', () => {
  const status = (failed: boolean): Status => ({ success: () => !failed, failure: () => failed, cancelled: () => false })

  it('evaluates against the contexts, case-insensitively, with GitHub functions', () => {
    const contexts = { github: { event: { inputs: { n: '3' } }, ref: 'refs/heads/main' }, needs: { a: { outputs: { m: '{"include":[{"x":1}]}' } } } }
    expect(fromData(evaluateExpression("github.REF == 'refs/heads/MAIN'", contexts, alwaysSucceeding))).toBe(true)
    expect(fromData(evaluateExpression('fromJSON(needs.a.outputs.m).include[0].x', contexts, alwaysSucceeding))).toBe(1)
    expect(fromData(evaluateExpression("format('{0}-{1}', github.event.inputs.n, 'x')", contexts, alwaysSucceeding))).toBe('3-x')
    expect(fromData(evaluateExpression('toJSON(github.event.inputs)', contexts, alwaysSucceeding))).toBe('{\n  "n": "3"\n}')
  })

  it('unescapes every quote of a string literal, and rebuilds a multi-line string from its value', () => {
    expect(fromData(evaluateExpression("'a''b''c'", {}, alwaysSucceeding))).toBe("a'b'c")
    const value = "cat <<EOF\n${{ github.ref }} 'q' {x}\nEOF\necho ${{ 'it''s' }}\n"
    expect(formatExpression(value)).toBe("format('cat <<EOF\n{0} ''q'' {{x}}\nEOF\necho {1}\n', github.ref, 'it''s')")
    expect(fromData(evaluateExpression(formatExpression(value), { github: { ref: 'r' } }, alwaysSucceeding))).toBe(
      "cat <<EOF\nr 'q' {x}\nEOF\necho it's\n"
    )
    expect(formatExpression('${{ fromJSON(x) }}')).toBe('fromJSON(x)')
  })

  it('gives the status functions of the job', async () => {
    const file = workflowFile(
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n      - if: failure()\n        run: "true"\n      - if: github.ref == \'x\'\n        run: "true"\n'
    )
    const wf = await loadWorkflow(file)
    const [plain, onFailure, implicit] = (wf.template.jobs[0] as unknown as { steps: { if: never }[] }).steps.map(s => s.if)
    const contexts = { github: { ref: 'x' } }
    expect(evaluateCondition(plain, contexts, status(false), file)).toBe(true)
    expect(evaluateCondition(plain, contexts, status(true), file)).toBe(false)
    expect(evaluateCondition(onFailure, contexts, status(true), file)).toBe(true)
    // An if: without a status function is success() && (...), as GitHub wraps it.
    expect(evaluateCondition(implicit, contexts, status(true), file)).toBe(false)
    expect(evaluateCondition(implicit, contexts, status(false), file)).toBe(true)
  })

  it('reports a run-time error with the file and line, and a mapping where a string belongs', async () => {
    const file = workflowFile(
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    env:\n      A: ${{ fromJSON(github.ref) }}\n      B: ${{ github.event }}\n    steps:\n      - run: "true"\n'
    )
    const wf = await loadWorkflow(file)
    const env = prop(jobToken(wf, 'a'), 'env')
    expect(() => evaluateStringMap(env, { github: { ref: 'not json', event: {} } }, alwaysSucceeding, file)).toThrow(
      `${file} (Line: 6, Col: 10): Error evaluating`
    )
    expect(() => evaluateStringMap(env, { github: { ref: '1', event: {} } }, alwaysSucceeding, file)).toThrow('A mapping was not expected')
  })
})

describe("GitHub's parser refuses invalid files, with their lines", () => {
  it('a broken expression', async () => {
    const file = workflowFile('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ fromJSON( }}\n')
    await expect(loadWorkflow(file)).rejects.toThrow(`${file} (Line: 6, Col: 14): Unexpected end of expression`)
  })

  it('a context a key does not allow, an unknown needs, a cycle', async () => {
    await expect(
      loadWorkflow(workflowFile('on: push\njobs:\n  a:\n    if: matrix.x\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n'))
    ).rejects.toThrow(/Line: 4.*Unrecognized named-value: 'matrix'/)
    await expect(
      loadWorkflow(
        workflowFile(
          'on: push\njobs:\n  a:\n    needs: [b]\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n  b:\n    needs: a\n    runs-on: x\n    steps: [{run: "true"}]\n'
        )
      )
    ).rejects.toThrow(WorkflowError)
    await expect(
      loadWorkflow(
        workflowFile(
          'on: push\njobs:\n  a:\n    needs: zz\n    runs-on: x\n    steps: [{run: "true"}]\n  b:\n    runs-on: x\n    steps: [{run: "true"}]\n'
        )
      )
    ).rejects.toThrow("Job 'a' depends on unknown job 'zz'")
  })
})

describe('uses: (what a step may name)', () => {
  const opts = { actions: { 'Owner/Tools': '/srv/tools' } } as unknown as RunWorkflowOptions
  const at = { file: '/r/.github/workflows/w.yml', line: 7, col: 15 }
  const sha = '08c6903cd8c0fde910a37f88322edcfb5dd907a8'

  it('parses the forms GitHub accepts', () => {
    expect(parseUses('./')).toEqual({ kind: 'local', path: './' })
    expect(parseUses('./actions/x')).toEqual({ kind: 'local', path: './actions/x' })
    expect(parseUses('o/r@v1')).toEqual({ kind: 'remote', owner: 'o', repo: 'r', subPath: '', ref: 'v1' })
    expect(parseUses('o/r/a/b@main')).toEqual({ kind: 'remote', owner: 'o', repo: 'r', subPath: 'a/b', ref: 'main' })
    expect(parseUses('docker://alpine:3')).toEqual({ kind: 'docker', image: 'alpine:3' })
  })

  it('resolves mapped repositories (any case, any ref) and the pinned checkout', () => {
    expect(resolveAction('owner/tools/sub/dir@v9', at, opts, '/ws')).toEqual({
      kind: 'repository',
      dir: '/srv/tools/sub/dir',
      repository: 'owner/tools',
      ref: 'v9'
    })
    expect(resolveAction('./a', at, opts, '/ws')).toEqual({ kind: 'local', dir: '/ws/a' })
    expect(resolveAction(`actions/checkout@${sha}`, at, opts, '/ws')).toEqual({ kind: 'checkout', sha })
  })

  it('refuses any other third-party action, docker:// and a checkout by tag, naming the file and line', () => {
    expect(() => resolveAction('docker/login-action@v3', at, opts)).toThrow(UnsupportedError)
    expect(() => resolveAction('docker/login-action@v3', at, opts)).toThrow(
      '/r/.github/workflows/w.yml:7:15: uses: docker/login-action@v3: not supported by the local runner: third-party action'
    )
    expect(() => resolveAction('docker://alpine', at, opts)).toThrow(/docker:\/\/ actions need a container engine/)
    expect(() => resolveAction('actions/checkout@v4', at, opts)).toThrow(/full commit SHA/)
    expect(() => resolveAction('actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020', at, opts)).toThrow(/third-party action/)
  })
})

describe('on: (whether an event starts the workflow)', () => {
  const opts = (event: RunWorkflowOptions['event'], ref = 'refs/heads/main'): RunWorkflowOptions => ({
    workflowFile: '',
    event,
    repository: 'o/r',
    repositoryDir: scratch,
    sha: 'a'.repeat(40),
    ref,
    tempDir: scratch
  })

  it('refuses an event the workflow does not declare', async () => {
    const wf = await loadWorkflow(workflowFile('on:\n  pull_request:\njobs:\n  a:\n    runs-on: x\n    steps: [{run: "true"}]\n'))
    expect(() => checkTrigger(wf, opts({ name: 'push', payload: {} }))).toThrow('the workflow does not run on push: its on: declares pull_request')
  })

  it('filters branches and tags as documented', async () => {
    const wf = await loadWorkflow(
      workflowFile("on:\n  push:\n    branches: [main, 'release/**', '!release/old']\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'true'}]\n")
    )
    const push = (ref: string): boolean => checkTrigger(wf, opts({ name: 'push', payload: { ref } }, ref)).triggered
    expect(push('refs/heads/main')).toBe(true)
    expect(push('refs/heads/release/v1/x')).toBe(true)
    expect(push('refs/heads/release/old')).toBe(false)
    expect(push('refs/heads/dev')).toBe(false)
    // Only branch filters: a tag push does not run the workflow.
    expect(push('refs/tags/v1')).toBe(false)
  })

  it('filters pull request types (default opened, synchronize, reopened) and base branches', async () => {
    const wf = await loadWorkflow(
      workflowFile("on:\n  pull_request:\n    branches: [main]\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'true'}]\n")
    )
    const pr = (action: string, base: string): boolean =>
      checkTrigger(wf, opts({ name: 'pull_request', payload: { action, pull_request: { base: { ref: base } } } }, 'refs/pull/1/merge')).triggered
    expect(pr('opened', 'main')).toBe(true)
    expect(pr('synchronize', 'main')).toBe(true)
    expect(pr('closed', 'main')).toBe(false)
    expect(pr('opened', 'dev')).toBe(false)
  })
})
