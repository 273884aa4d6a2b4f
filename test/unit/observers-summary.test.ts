// The per-host table of the job summary, and the bounded parallelism the deploy runs on.
import { describe, expect, it } from '@jest/globals'
import { forEachLimit } from '../../workflows-lib/src/observers/pool.js'
import type { DeployReport, ObserverResult } from '../../workflows-lib/src/observers/results.js'
import { deploySummaryMarkdown } from '../../workflows-lib/src/observers/summary.js'

const base: ObserverResult = {
  id: 101,
  host: '10.0.0.1',
  status: 'ok',
  compared: true,
  changed: false,
  changedFiles: [],
  restarted: false,
  verified: true,
  rolledBack: false,
  mode: 'observer',
  zxid: '0x100000004',
  durationMs: 312
}

function report(results: ObserverResult[], dryRun = false): DeployReport {
  return { environment: 'prod-gz', dryRun, results, ok: results.every(r => r.status === 'ok'), changed: false, rolledBack: [], durationMs: 1 }
}

describe('deploySummaryMarkdown', () => {
  it('one row per observer, then what went wrong host by host', () => {
    const md = deploySummaryMarkdown(
      report([
        base,
        { ...base, id: 102, host: '10.0.0.2', changed: true, changedFiles: ['zoo.cfg'], restarted: true, durationMs: 8120 },
        {
          ...base,
          id: 103,
          host: '10.0.0.3',
          status: 'failed',
          changed: true,
          changedFiles: ['zoo.cfg'],
          restarted: true,
          verified: false,
          rolledBack: true,
          durationMs: 64000,
          message: 'the observer did not answer Mode: observer within 60 s | rolled back'
        },
        { ...base, id: 104, host: 'vm4', status: 'skipped', changed: true, changedFiles: ['zoo.cfg'], verified: false, message: 'not restarted' },
        {
          ...base,
          id: 105,
          host: 'vm5',
          status: 'failed',
          compared: false,
          verified: false,
          mode: undefined,
          zxid: undefined,
          message: 'connection refused'
        }
      ])
    )
    expect(md).toBe(
      [
        '### Observers of prod-gz',
        '',
        '| id | host | status | files | restarted | verified | rolled back | time |',
        '|---:|---|---|---|---|---|---|---:|',
        '| 101 | 10.0.0.1 | ok | unchanged | no | ✅ observer, zxid 0x100000004 | no | 0.3 s |',
        '| 102 | 10.0.0.2 | ok | zoo.cfg changed | yes | ✅ observer, zxid 0x100000004 | no | 8.1 s |',
        '| 103 | 10.0.0.3 | **failed** | zoo.cfg (rolled back) | yes | ❌ now: observer, zxid 0x100000004 | **yes** | 64.0 s |',
        '| 104 | vm4 | skipped | would change: zoo.cfg (not applied: rollout stopped) | no | — | no | 0.3 s |',
        '| 105 | vm5 | **failed** | not compared | no | ❌ | no | 0.3 s |',
        '',
        '- **103** (10.0.0.3): the observer did not answer Mode: observer within 60 s | rolled back',
        '- **104** (vm4): not restarted',
        '- **105** (vm5): could not be reached or checked; nothing was changed on it: connection refused',
        ''
      ].join('\n')
    )
  })

  it('claims no change on a failed host whose new files did not stay in place', () => {
    const failed: ObserverResult = {
      ...base,
      status: 'failed',
      changed: true,
      changedFiles: ['zoo.cfg'],
      verified: false,
      message: 'cannot write in /data/zookeeper as user deploy: Permission denied; nothing was changed'
    }
    expect(deploySummaryMarkdown(report([failed]))).toContain(
      '| 101 | 10.0.0.1 | **failed** | zoo.cfg differed (see below) | no | ❌ now: observer, zxid 0x100000004 | no |'
    )
  })

  it('says so for a dry run and for an environment without observers', () => {
    expect(deploySummaryMarkdown(report([{ ...base, changed: true, changedFiles: ['zoo.cfg', 'myid'], verified: false }], true))).toContain(
      '| 101 | 10.0.0.1 | ok | would change: zoo.cfg, myid | no |'
    )
    expect(deploySummaryMarkdown(report([]))).toBe('### Observers of prod-gz\n\nThis environment has no observers.\n')
  })
})

describe('forEachLimit', () => {
  it('never runs more than the limit at once, and starts items in order', async () => {
    let running = 0
    let peak = 0
    const started: number[] = []
    await forEachLimit([0, 1, 2, 3, 4, 5, 6], 3, async item => {
      started.push(item)
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setImmediate(resolve))
      running--
    })
    expect(peak).toBe(3)
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('finishes every item before reporting the first failure', async () => {
    const done: number[] = []
    await expect(
      forEachLimit([0, 1, 2, 3], 2, async item => {
        await new Promise(resolve => setImmediate(resolve))
        if (item === 1) throw new Error('item 1 failed')
        done.push(item)
      })
    ).rejects.toThrow('item 1 failed')
    expect(done.sort()).toEqual([0, 2, 3])
  })

  it('refuses a limit below 1', async () => {
    await expect(forEachLimit([1], 0, async () => undefined)).rejects.toThrow('parallelism must be a whole number >= 1, got 0')
  })
})
