// The rollout's job summary: tables, the failed step at the top, and a Mermaid topology that the
// real mermaid parser (in jsdom, as in a browser) accepts, hostile labels included.
import { beforeAll, describe, expect, it } from '@jest/globals'
import { JSDOM } from 'jsdom'
import { rolloutSummaryMarkdown, topologyMermaid, type RolloutSummaryInput } from '../../workflows-lib/src/github/rollout-summary.js'
import { summaryInputFromSteps, type StepsContext } from '../../workflows-lib/src/github/rollout-steps.js'
import type { ObserverResult } from '../../workflows-lib/src/observers/results.js'

let parseMermaid: (text: string) => Promise<unknown>

beforeAll(async () => {
  const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true })
  Object.assign(globalThis, { window: dom.window, document: dom.window.document })
  const { default: mermaid } = await import('mermaid')
  parseMermaid = text => mermaid.parse(text)
}, 60_000)

const observer = (id: number, host: string, extra: Partial<ObserverResult> = {}): ObserverResult => ({
  id,
  host,
  status: 'ok',
  compared: true,
  changed: true,
  changedFiles: ['zoo.cfg'],
  restarted: true,
  verified: true,
  rolledBack: false,
  mode: 'observer',
  zxid: '0x100000004',
  durationMs: 900,
  ...extra
})

// A steps context as the runner serialises it for ${{ toJSON(steps) }}.
const steps: StepsContext = {
  lock: { outcome: 'success', conclusion: 'success', outputs: { holder: 'run 1' } },
  chart: {
    outcome: 'success',
    outputs: { release: 'zk', revision: '3', 'previous-revision': '2', changed: 'true', 'chart-version': '0.1.0', statefulset: 'zk-zookeeper' }
  },
  ready: {
    outcome: 'success',
    outputs: {
      pods: '["zk-zookeeper-0","zk-zookeeper-1","zk-zookeeper-2"]',
      times: '{"zk-zookeeper-0":4.2,"zk-zookeeper-1":3.1,"zk-zookeeper-2":2.9}'
    }
  },
  expose: { outcome: 'success', outputs: { services: '["zk0","zk1","zk2"]', addresses: '["10.1.0.12","10.1.0.13","10.1.0.6"]', changed: 'false' } },
  observers: {
    outcome: 'success',
    outputs: {
      results: JSON.stringify([
        observer(101, '10.104.170.174'),
        observer(102, '10.104.42.205', { changed: false, changedFiles: [], restarted: false })
      ])
    }
  },
  monitoring: { outcome: 'success', outputs: { targets: '["10.104.170.174:7000","10.104.42.205:7000"]', 'service-monitor': 'applied' } }
}

describe('the rollout summary', () => {
  it('reads every step back from the steps context', () => {
    const input = summaryInputFromSteps('example', steps, 'kube-public')
    expect(input.failed).toBeUndefined()
    expect(input.chart).toEqual({ release: 'zk', revision: '3', previousRevision: '2', changed: true, chartVersion: '0.1.0' })
    expect(input.servers).toEqual([
      { service: 'zk0', address: '10.1.0.12' },
      { service: 'zk1', address: '10.1.0.13' },
      { service: 'zk2', address: '10.1.0.6' }
    ])
    const md = rolloutSummaryMarkdown(input)
    expect(md).toContain('Release **zk** revision 2 → 3, chart 0.1.0 (upgraded).')
    expect(md).toContain('| 1 | zk-zookeeper-0 | zk0 | 10.1.0.12 | 4.2 s |')
    expect(md).toContain('| 101 | 10.104.170.174 | ok | zoo.cfg | yes | observer | 0x100000004 |')
    expect(md).toContain('| 102 | 10.104.42.205 | ok | unchanged | no | observer | 0x100000004 |')
    expect(md).toContain('Targets: `10.104.170.174:7000`, `10.104.42.205:7000`; ServiceMonitor: applied.')
    expect(md).toMatch(/```mermaid\nflowchart LR\n[\s\S]+\n```/)
  })

  it('names the first failed step and its reason at the top', () => {
    const failed: StepsContext = {
      ...steps,
      ready: { outcome: 'failure', outputs: { error: 'pod zk-zookeeper-1 container zookeeper is CrashLoopBackOff (restarts: 4)' } },
      expose: { outcome: 'skipped', outputs: {} },
      observers: { outcome: 'skipped', outputs: {} },
      monitoring: { outcome: 'skipped', outputs: {} }
    }
    const md = rolloutSummaryMarkdown(summaryInputFromSteps('example', failed))
    const lines = md.split('\n')
    expect(lines.slice(0, 4)).toEqual([
      '## zk-rollout: example',
      '',
      '> [!CAUTION]',
      '> **wait-ready failed**: pod zk-zookeeper-1 container zookeeper is CrashLoopBackOff (restarts: 4)'
    ])
  })

  it('draws a topology the real mermaid parser accepts', async () => {
    const input = summaryInputFromSteps('example', steps, 'kube-public')
    const diagram = topologyMermaid(input)
    expect(diagram).toContain('pod0 --- lb0')
    expect(diagram).toContain('lb2 -- "2888/3888" --> obs102')
    expect(diagram).toContain('obs101 -. "metrics" .-> prom')
    await expect(parseMermaid(diagram)).resolves.toBeTruthy()
  })

  it('keeps hostile labels inside their node', async () => {
    const input: RolloutSummaryInput = {
      environment: 'x',
      namespace: 'a"] --> evil["x',
      podTimes: { 'p"]\nclick pod0 "javascript:alert(1)"': 1 },
      servers: [{ service: 'zk0<script>', address: 'a"b' }],
      observers: [observer(101, 'h"]; x --> y["')]
    }
    const diagram = topologyMermaid(input)
    expect(diagram).not.toMatch(/^\s*click /m)
    expect(diagram).not.toContain('<script>')
    await expect(parseMermaid(diagram)).resolves.toBeTruthy()
  })

  it('is refused by the parser when broken, so the test above can fail', async () => {
    await expect(parseMermaid('flowchart LR\n  a["x"] --> b["y\n')).rejects.toThrow(/Parse error/)
  })
})
