// Drift's pure parts: reading a live zoo.cfg, the lines that differ, the exit-code rule, when heal
// may act, and that nothing from a VM or the cluster reaches the report's Markdown as markup.
import { describe, expect, it } from '@jest/globals'
import {
  driftStatus,
  EXIT_CODES,
  formatDriftMarkdown,
  formatDriftText,
  formatHealMarkdown,
  healDecision,
  healNote,
  type DriftDetection,
  type DriftItem
} from '../../workflows-lib/src/drift/index.js'
import { zxidLag } from '../../workflows-lib/src/drift/detect.js'
import { differingLines, serverHosts } from '../../workflows-lib/src/drift/zoo-cfg.js'

const item = (kind: DriftItem['kind'], extra: Partial<DriftItem> = {}): DriftItem => ({
  kind,
  subject: 'observer 102 (10.0.1.5)',
  difference: 'lists 10.0.0.7 for server.2, the LB now has 10.0.0.9',
  meaning: 'it will lose sync',
  fix: 're-run deploy-observers',
  ...extra
})
const report = (items: DriftItem[], unchecked: DriftDetection['unchecked'] = []): DriftDetection => ({
  environment: 'prod',
  items,
  unchecked,
  checked: ['release zk'],
  addresses: ['10.0.0.1', '10.0.0.9', '10.0.0.3']
})

describe('live zoo.cfg', () => {
  it('lists the host of each server line, IPv6 and hostnames included', () => {
    const cfg = [
      '# header',
      'server.1=10.0.0.1:2888:3888',
      'server.2 = [fd00::2]:2888:3888',
      'server.3=zk2.zk.lb.example:2888:3888;2181',
      'server.102=10.0.1.5:2888:3888:observer'
    ].join('\n')
    expect([...serverHosts(cfg)]).toEqual([
      [1, '10.0.0.1'],
      [2, 'fd00::2'],
      [3, 'zk2.zk.lb.example'],
      [102, '10.0.1.5']
    ])
  })

  it('compares lines as sets, ignoring comments, blank lines and order', () => {
    const ours = '# rendered\ntickTime=2000\ninitLimit=10\n\nserver.1=a:2888:3888\n'
    expect(differingLines(ours, 'initLimit=10\n# edited by hand\ntickTime=2000\nserver.1=a:2888:3888\n')).toEqual([])
    expect(differingLines(ours, 'tickTime=2000\ninitLimit=20\nserver.1=a:2888:3888\nmaxClientCnxns=1000\n')).toEqual([
      '- initLimit=10',
      '+ initLimit= (value on the host not shown)',
      '+ maxClientCnxns= (value on the host not shown)'
    ])
    // What a person typed on the VM may be a secret: only its key reaches the report.
    expect(
      differingLines('', 'authProvider.1=x\n      - JVMFLAGS=-Dzookeeper.DigestAuthenticationProvider.superDigest=super:s3cr3t\nhunter2\n')
    ).toEqual([
      '+ authProvider.1= (value on the host not shown)',
      '+       - JVMFLAGS= (value on the host not shown)',
      '+ (a line on the host, not shown)'
    ])
  })
})

describe('drift status', () => {
  it('drift wins over what could not be checked; unchecked alone is a failure to check', () => {
    const unchecked = [{ subject: 'observer 103 (10.0.1.6)', why: 'connection refused' }]
    expect(driftStatus(report([]))).toBe('in-sync')
    expect(driftStatus(report([item('replicas')], unchecked))).toBe('drift')
    expect(driftStatus(report([], unchecked))).toBe('unchecked')
    expect(EXIT_CODES).toEqual({ 'in-sync': 0, drift: 2, unchecked: 1 })
  })
})

describe('observer lag', () => {
  // srvr's Zxid: the leader's epoch in the high 32 bits, its transaction counter in the low ones.
  it('counts transactions within one epoch, and calls an older epoch what it is', () => {
    expect(zxidLag(0x2_0000_0500n, 0x2_0000_0100n)).toBe(0x400)
    expect(zxidLag(0x2_0000_0500n, 0x2_0000_0500n)).toBe(0)
    // Read a moment after the leader: an observer may already be ahead of that reading.
    expect(zxidLag(0x2_0000_0500n, 0x2_0000_0501n)).toBe(0)
    expect(zxidLag(0x3_0000_0001n, 0x2_ffff_ffffn)).toBe('epoch')
    // A new leader elected between the two readings: the observer is not behind.
    expect(zxidLag(0x2_0000_0500n, 0x3_0000_0001n)).toBe(0)
  })
})

describe('heal: observers', () => {
  it('acts only when moved addresses are the whole drift and everything was checked', () => {
    expect(healDecision('observers', report([item('addresses'), item('addresses')]))).toEqual({ heal: true })
    expect(healDecision('none', report([item('addresses')])).heal).toBe(false)
    expect(healDecision('observers', report([item('replicas')]))).toEqual({ heal: false, why: 'no LoadBalancer address moved' })
    expect(healDecision('observers', report([item('addresses'), item('observer-files')]))).toEqual({
      heal: false,
      why: 'other drift needs a person first: observer-files'
    })
    expect(healDecision('observers', report([item('addresses')], [{ subject: 'x', why: 'y' }])).heal).toBe(false)
    // An observer that already lost sync through the moved address is the case heal is for.
    expect(healDecision('observers', report([item('addresses'), item('observer-serving')]))).toEqual({ heal: true })
    expect(healDecision('observers', report([item('addresses'), item('observer-serving', { subject: 'observer 101 (10.0.1.4)' })])).heal).toBe(false)
    // A hand-set image or a restart nobody did is not the observers' business.
    expect(healDecision('observers', report([item('addresses'), item('image'), item('revision')])).why).toBe(
      'other drift needs a person first: image, revision'
    )
  })

  it("says what healing did, and a failed heal's host messages stay code in the issue", () => {
    expect(healNote(undefined)).toBeUndefined()
    expect(healNote({ decision: { heal: false, why: 'no LoadBalancer address moved' } })).toEqual({
      text: 'Not healed: no LoadBalancer address moved.',
      failed: false
    })
    const deploy = { environment: 'prod', dryRun: false, changed: true, rolledBack: ['101'], durationMs: 1 }
    expect(healNote({ decision: { heal: true }, report: { ...deploy, ok: true, results: [] } })).toMatchObject({ failed: false, text: /^Healed: / })
    const failed = healNote({
      decision: { heal: true },
      report: {
        ...deploy,
        ok: false,
        results: [{ id: 101, host: '10.0.1.4', status: 'failed', message: '@team **<img src=x>** ``` [x](y)' }] as never
      }
    })!
    expect(failed.failed).toBe(true)
    expect(failed.detail).toContain('101 (10.0.1.4): @team **<img src=x>**')
    const markdown = formatHealMarkdown(failed)
    // The fence is longer than any backtick run inside it, so the message cannot close it.
    expect(markdown).toMatch(/\n````\n1 of 1 observers failed:\n {2}101 \(10\.0\.1\.4\): @team \*\*<img src=x>\*\* ``` \[x\]\(y\)\n````\n$/)
  })
})

describe('formatting', () => {
  it('keeps values from a VM inert in Markdown and on one line in text', () => {
    const hostile = item('observer-files', {
      subject: 'observer 102 (10.0.1.5)',
      difference: 'zoo.cfg differs | <img src=x> @admin',
      details: ['+ evil=```\n::error::x', '- ok=1']
    })
    const md = formatDriftMarkdown(report([hostile]))
    expect(md).toContain('| observer-files |')
    // Outside code (where GitHub renders nothing), no tag and no live @mention remain.
    const outsideCode = md.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '').replace(/`+[^`\n]*`+/g, '')
    expect(outsideCode).not.toContain('<img')
    expect(outsideCode).not.toMatch(/(^|[^\\])@admin/)
    // The table row has exactly its 6 pipes: the one in the value is escaped.
    const row = md.split('\n').find(l => l.startsWith('| observer-files'))!
    expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(7)
    const text = formatDriftText(report([hostile]))
    expect(text.split('\n').some(l => l.startsWith('::'))).toBe(false)
    expect(text).toContain('Drift of environment "prod": DRIFT')
  })
})
