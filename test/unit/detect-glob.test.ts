import { describe, expect, it } from '@jest/globals'
import { DEFAULT_SHARED } from '../../workflows-lib/src/detect/detect-environments.js'
import { globList, matchesGlob, matchSegment } from '../../workflows-lib/src/detect/glob.js'

describe('matchSegment', () => {
  it.each([
    ['*', '', true],
    ['*', 'values.yaml', true],
    ['*.yaml', 'values.yaml', true],
    ['*.yaml', 'values.yml', false],
    ['v?lues.yaml', 'values.yaml', true],
    ['v?lues.yaml', 'vlues.yaml', false],
    ['?', '', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['*a', 'bbba', true],
    ['*a', 'bbbab', false],
    ['literal.+(x)', 'literal.+(x)', true],
    ['literal.+(x)', 'literalX+(x)', false]
  ])('%j against %j is %s', (pattern, text, expected) => {
    expect(matchSegment(pattern, text)).toBe(expected)
  })

  it('does not backtrack exponentially on a hostile pattern', () => {
    const started = Date.now()
    expect(matchSegment('*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false)
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('matchesGlob', () => {
  it.each([
    // ** spans any number of segments, including none
    ['charts/**', 'charts/zookeeper/values.yaml', true],
    ['charts/**', 'charts/Chart.yaml', true],
    ['charts/**', 'chartsX/Chart.yaml', false],
    ['charts/**', 'other/charts/Chart.yaml', false],
    ['**/values.yaml', 'values.yaml', true],
    ['**/values.yaml', 'environments/prod/values.yaml', true],
    ['**/values.yaml', 'environments/prod/values.yaml.bak', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a/x/y/c', false],
    ['**', 'anything/at/all', true],
    // * and ? never cross a "/"
    ['actions/*/dist/**', 'actions/deploy-chart/dist/index.js', true],
    ['actions/*/dist/**', 'actions/deploy-chart/src/dist/index.js', false],
    ['actions/*/dist/**', 'actions/dist/index.js', false],
    ['*.yml', 'action.yml', true],
    ['*.yml', 'sub/action.yml', false],
    ['a?c', 'a/c', false],
    // anchored at the repository root: action.yml is the root file only
    ['action.yml', 'action.yml', true],
    ['action.yml', 'actions/deploy-chart/action.yml', false],
    ['.github/workflows/**', '.github/workflows/rollout.yml', true],
    ['.github/workflows/**', '.github/dependabot.yml', false],
    // "./x" and a trailing "/" (a directory: everything below it)
    ['./charts/', 'charts/zookeeper/templates/sts.yaml', true],
    ['charts/', 'charts', true],
    ['', 'anything', false]
  ])('%j matches %j: %s', (pattern, file, expected) => {
    expect(matchesGlob(pattern, file)).toBe(expected)
  })
})

describe('globList', () => {
  it('returns the pattern that matched, and the last match wins over an earlier one', () => {
    const list = globList(['charts/**', '!charts/**/README.md', ' ', 'action.yml'])
    expect(list.patterns).toEqual(['charts/**', '!charts/**/README.md', 'action.yml'])
    expect(list.match('charts/zookeeper/values.yaml')).toBe('charts/**')
    expect(list.match('charts/zookeeper/README.md')).toBeUndefined()
    expect(list.match('action.yml')).toBe('action.yml')
    expect(list.match('README.md')).toBeUndefined()
  })

  it('the default shared inputs are the chart, the built actions and library, the root action and the workflows', () => {
    const shared = globList(DEFAULT_SHARED)
    for (const f of [
      'charts/zookeeper/values.yaml',
      'actions/deploy-chart/dist/index.js',
      'workflows-lib/dist/cli/index.js',
      'action.yml',
      '.github/workflows/rollout.yml'
    ])
      expect([f, shared.match(f) !== undefined]).toEqual([f, true])
    for (const f of [
      'README.md',
      'environments/prod-gz/values.yaml',
      'actions/deploy-chart/src/main.ts',
      'workflows-lib/src/detect/glob.ts',
      'test/unit/x.test.ts'
    ])
      expect([f, shared.match(f)]).toEqual([f, undefined])
  })
})
