// bench/RESULTS.md is rendered, not written by hand: every missed target carries its reason from
// bench/missed.ts, and one without a reason is reported, so a regression cannot hide in a table.
import { describe, expect, it } from '@jest/globals'
import { renderReport } from '../../bench/report.js'
import { compare, summarize, type Results } from '../../bench/results.js'

const machine = { cpus: 2, cpuModel: 'test cpu', memoryGiB: 4, node: 'v24', kernel: 'Linux 6' }

function results(met: boolean, targetCase = 'N=3'): Results {
  return {
    machine,
    sections: {
      readiness: {
        title: 'Readiness',
        method: 'how',
        at: '2026-12-03T13:00:00.000Z',
        rows: compare('N=3', 'ms', { tool: 'ours', samples: [2, 4, 3] }, [{ tool: 'helm 4', samples: [20, 30, 25] }]),
        targets: [{ case: targetCase, target: 'median added latency <= 10 ms', measured: '3 ms', met }]
      }
    }
  }
}

describe('bench report', () => {
  it('summarizes medians and spread, and the ratio of each other tool to ours', () => {
    expect(summarize([5, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 5, samples: 4 })
    const rows = compare('c', 'ms', { tool: 'ours', samples: [2, 4, 3] }, [{ tool: 'other', samples: [30] }])
    expect(rows[0].ratioToOurs).toBeUndefined()
    expect(rows[1].ratioToOurs).toBe(10)
  })

  it('renders the machine, the run time, the table and the targets', () => {
    const { markdown, unexplained } = renderReport(results(true))
    expect(unexplained).toEqual([])
    expect(markdown).toContain('Machine: 2 x test cpu, 4 GiB, Linux 6, node v24.')
    expect(markdown).toContain('Run 2026-12-03 13:00 UTC.')
    expect(markdown).toContain('| N=3 | helm 4 | 25.0 ms | 20.0 ms - 30.0 ms | 3 | 8.33x |')
    expect(markdown).toContain('| N=3: median added latency <= 10 ms | 3 ms | yes |')
  })

  it('names a missed target that bench/missed.ts does not explain', () => {
    const { markdown, unexplained } = renderReport(results(false, 'no such case'))
    expect(unexplained).toEqual(['readiness: no such case: median added latency <= 10 ms (measured 3 ms)'])
    expect(markdown).toContain('**no**: NOT EXPLAINED')
  })
})
