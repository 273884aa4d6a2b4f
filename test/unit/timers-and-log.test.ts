// Every timer refuses a delay setTimeout cannot hold (it would fire at once), every duration
// input has a range, and a terminal gets no workflow-command noise.
import { afterEach, describe, expect, it } from '@jest/globals'
import { run } from '../../workflows-lib/src/cli/main.js'
import { OVERALL_DURATION } from '../../workflows-lib/src/environment/duration.js'
import * as log from '../../workflows-lib/src/output/log.js'
import { durationInput, InputError } from '../../workflows-lib/src/runner/inputs.js'
import { listAndWatch } from '../../workflows-lib/src/kube/watch.js'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { checkDelay, MAX_TIMER_MS, setSafeTimeout, sleep } from '../../workflows-lib/src/util/timer.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { repoRoot } from '../support/environments.js'

afterEach(() => {
  delete process.env['INPUT_JOIN-TIMEOUT']
  delete process.env.INPUT_TIMEOUT
  log.useActionsLog()
})

describe('safe timers', () => {
  // The last one is the apply session's timeout for observerJoin: 300h (2 x join + 180 s), which used to fire at once.
  it.each([Infinity, NaN, -1, MAX_TIMER_MS + 1, 2 * 300 * 3_600_000 + 180_000])('refuses %p ms', ms => {
    expect(() => checkDelay(ms, 'test')).toThrow(RangeError)
    expect(() => setSafeTimeout(() => undefined, ms, 'test')).toThrow(/test: .* is not a delay a timer can hold/)
  })

  it('accepts the largest delay a timer holds, and sleeps for real', async () => {
    expect(checkDelay(MAX_TIMER_MS, 'test')).toBe(MAX_TIMER_MS)
    const t0 = Date.now()
    await sleep(20)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(19)
  })

  it('refuses an impossible deadline before anything starts (a watch, a ZooKeeper probe)', async () => {
    // A kubectl that does not exist: reaching spawn would fail differently.
    const kubectl = new Kubectl('/nonexistent/kubectl', '/nonexistent/kubeconfig')
    await expect(
      listAndWatch(kubectl, { path: '/api/v1/pods', what: 'pods', timeoutMs: Infinity, timeoutError: () => new Error('late'), onChange: () => true })
    ).rejects.toThrow(/pods: timeout: Infinity ms is not a delay a timer can hold/)
    await expect(fourLetterWord('127.0.0.1', 1, 'srvr', { timeoutMs: 2 ** 40 })).rejects.toThrow(/is not a delay a timer can hold/)
  })
})

describe('duration inputs', () => {
  it('refuses 300h, 0s and Infinity-sized numbers, naming the input and the range', () => {
    for (const value of ['300h', '0s', '9999999999h']) {
      process.env['INPUT_JOIN-TIMEOUT'] = value
      expect(() => durationInput('join-timeout')).toThrow(InputError)
      expect(() => durationInput('join-timeout')).toThrow(/input "join-timeout": .*(out of range: use 1s to 1h|is not a duration)/)
    }
  })

  it('takes an empty input as "use the environment\'s", and allows 24h overall', () => {
    expect(durationInput('join-timeout')).toBeUndefined()
    process.env.INPUT_TIMEOUT = '24h'
    expect(durationInput('timeout', OVERALL_DURATION)).toBe(86_400_000)
  })
})

describe('logging in a terminal', () => {
  async function cli(args: string[]): Promise<string> {
    let out = ''
    const saved = process.env.GITHUB_ACTIONS
    delete process.env.GITHUB_ACTIONS
    try {
      await run(args, { out: t => (out += t), err: t => (out += t), cwd: repoRoot, packageRoot: repoRoot, which: async t => t })
      // What the library prints from now on goes through the sink the CLI chose.
      log.debug('running: kubectl get pods')
      log.info('::warning::forged by a value')
    } finally {
      if (saved !== undefined) process.env.GITHUB_ACTIONS = saved
    }
    return out
  }

  it('prints no ::debug:: line, and no debug line at all without --verbose', async () => {
    const out = await cli(['plan', 'environments/example'])
    expect(out).not.toMatch(/::debug::|debug: running/)
    expect(out).toContain(': :warning::forged by a value')
  })

  it('prints debug lines as plain text with --verbose', async () => {
    const out = await cli(['plan', 'environments/example', '--verbose'])
    expect(out).toContain('debug: running: kubectl get pods\n')
    expect(out).not.toContain('::debug::')
  })
})
