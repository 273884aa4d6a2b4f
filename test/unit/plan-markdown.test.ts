// The plan comment's Markdown, read back with a real GFM parser (marked, already installed as
// mermaid's dependency): every file must come back as one code block holding exactly its
// content, whatever backticks or HTML it carries, and the comment must fit GitHub's limit.
import { describe, expect, it } from '@jest/globals'
import { marked, type Token, type Tokens } from 'marked'
import { loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import { buildPlan, type Plan } from '../../workflows-lib/src/plan/plan.js'
import {
  codeFence,
  codeSpan,
  COMMENT_LIMIT,
  PLAN_MARKER,
  planMarkdown,
  type PlannedEnvironment
} from '../../workflows-lib/src/github/plan-markdown.js'
import type { KubeObject } from '../../workflows-lib/src/kube/types.js'
import { compareManifests, describeLiveDiff, liveDiffError, type LiveComparison, type LiveDiff } from '../../workflows-lib/src/plan/live-diff.js'
import { exampleDir, repoRoot } from '../support/environments.js'

const roots = { bundled: repoRoot, repository: repoRoot }

async function examplePlan(): Promise<Extract<PlannedEnvironment, { status: 'planned' }>> {
  const env = await loadEnvironment(exampleDir, { repository: repoRoot })
  return {
    name: env.name,
    status: 'planned',
    plan: buildPlan(env, { roots }),
    servers: env.ensemble.servers,
    observers: env.observers?.hosts.length ?? 0
  }
}

/** Every token of the document, nested ones too. */
function tokens(markdown: string): Token[] {
  const out: Token[] = []
  marked.walkTokens(marked.lexer(markdown, { gfm: true }), t => {
    out.push(t)
  })
  return out
}

const codeBlocks = (markdown: string): string[] =>
  tokens(markdown)
    .filter((t): t is Tokens.Code => t.type === 'code')
    .map(t => t.text)
const codeSpans = (markdown: string): string[] =>
  tokens(markdown)
    .filter((t): t is Tokens.Codespan => t.type === 'codespan')
    .map(t => t.text)

const withFile = (planned: Extract<PlannedEnvironment, { status: 'planned' }>, path: string, content: string): typeof planned => ({
  ...planned,
  plan: { ...planned.plan, files: [...planned.plan.files, { path, content }] } satisfies Plan
})

describe('codeFence and codeSpan', () => {
  it.each([
    ['plain', 'a = 1\n'],
    ['a triple backtick line', 'x\n```\ny\n'],
    ['a long backtick run', '``````` and ` and ``\n'],
    ['a tilde fence and HTML', '~~~\n</details>\n<script>alert(1)</script>\n'],
    ['no final newline', 'last line'],
    ['empty', '']
  ])('gives back %s exactly', (_, content) => {
    const blocks = codeBlocks(`before\n\n${codeFence(content, 'yaml')}\n\nafter\n`)
    expect(blocks).toEqual([content.replace(/\n$/, '')])
  })

  it('uses a fence longer than any backtick run', () => {
    expect(codeFence('``````` x').split('\n')[0]).toBe('````````')
    expect(codeFence('no ticks').split('\n')[0]).toBe('```')
  })

  it.each(['plain', 'has ` one', '`starts', 'ends`', '``double``', '<b>@team</b> | pipe'])('keeps the span %p as code', text => {
    expect(codeSpans(`x ${codeSpan(text)} y`)).toEqual([text])
  })

  it('keeps a span on one line', () => {
    expect(codeSpan('a\nb')).toBe('`a\\u000ab`')
  })
})

describe('planMarkdown', () => {
  it('starts with the hidden marker and shows every step and file of the example', async () => {
    const planned = await examplePlan()
    const md = planMarkdown({ environments: [planned], unchanged: ['other', 'staging'], sha: '0123456789abcdef0123' })
    expect(md.split('\n')[0]).toBe(PLAN_MARKER)
    expect(md).toContain('<details><summary><code>example</code>: 5 steps, 8 files</summary>')
    expect(md).toContain('commit `0123456789ab`')
    expect(md).toContain('**Unchanged** (not rolled out): `other`, `staging`')
    for (const step of planned.plan.steps) expect(md).toContain(`**${step.action}**`)
    const blocks = codeBlocks(md)
    for (const file of planned.plan.files) expect(blocks).toContain(file.content.replace(/\n$/, ''))
    // The observers' files, by name.
    const paths = codeSpans(md)
    for (const name of ['zoo.cfg', 'myid', 'docker-compose.yaml']) expect(paths).toContain(`observers/101@10.104.170.174/${name}`)
    // The placeholders are text, not HTML tags that GitHub would swallow.
    expect(paths).toContain('addresses are not known yet: the files below show <service> placeholders')
    expect(blocks.some(b => b.includes('server.1=<zk0>:2888:3888'))).toBe(true)
  })

  it('keeps hostile content inside its code block', async () => {
    const hostile = '````\n</details>\n## heading\n@org/team <img src=x onerror=alert(1)>\n`````\n'
    const planned = withFile(await examplePlan(), 'observers/x/zoo.cfg', hostile)
    const md = planMarkdown({ environments: [planned], unchanged: [] })
    expect(codeBlocks(md)).toContain(hostile.replace(/\n$/, ''))
    expect(
      tokens(md)
        .filter(t => t.type === 'heading')
        .map(t => (t as Tokens.Heading).text)
    ).toEqual(['zk-rollout plan'])
  })

  it('lists an invalid environment with its problems, and says the check fails', () => {
    const md = planMarkdown({
      environments: [
        { name: 'bad', status: 'invalid', problems: ['environments/bad/environment.yaml:3:12: ensemble.servers: 4 servers tolerate 1 failure'] }
      ],
      unchanged: []
    })
    expect(md).toContain('<details open><summary><code>bad</code>: invalid, 1 problem</summary>')
    expect(codeBlocks(md)).toEqual(['environments/bad/environment.yaml:3:12: ensemble.servers: 4 servers tolerate 1 failure'])
    expect(md).toContain('**1 environment invalid**: the check fails until fixed.')
    expect(md).toContain('**Unchanged**: none')
  })

  it('escapes a hostile environment name in the summary element', () => {
    const md = planMarkdown({ environments: [{ name: '<b>x</b>&"', status: 'invalid', problems: ['p'] }], unchanged: [] })
    expect(md).toContain('<summary><code>&lt;b&gt;x&lt;/b&gt;&amp;&quot;</code>')
  })

  it('says when no environment changes', () => {
    const md = planMarkdown({ environments: [], unchanged: ['example'] })
    expect(md).toContain('This pull request changes no environment.')
    expect(md).toContain('`example`')
  })

  it('cuts files to fit GitHub’s limit, with a note, every fence closed', async () => {
    const big = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(30)}`).join('\n')
    const planned = withFile(withFile(await examplePlan(), 'observers/big/zoo.cfg', big), 'observers/big2/zoo.cfg', big)
    const whole = planMarkdown({ environments: [planned], unchanged: [] }, Number.MAX_SAFE_INTEGER)
    expect(whole.length).toBeGreaterThan(COMMENT_LIMIT)
    const md = planMarkdown({ environments: [planned], unchanged: [] })
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    expect(md.length).toBeGreaterThan(COMMENT_LIMIT - 2000)
    expect(md).toMatch(new RegExp(`Truncated: \\d+ of ${big.length} characters shown`))
    expect(md).toContain('`zk-rollout plan environments/example` prints it whole')
    // Small files stay whole; the cut ones end at a line break and are still code.
    const blocks = codeBlocks(md)
    for (const file of planned.plan.files.filter(f => f.content.length < 2000)) expect(blocks).toContain(file.content.replace(/\n$/, ''))
    const cut = blocks.filter(b => b.startsWith('line 0 '))
    expect(cut).toHaveLength(2)
    for (const b of cut) expect(big.startsWith(`${b}\n`)).toBe(true)
    expect(md.trimEnd().endsWith('</details>')).toBe(true)
  })

  it('leaves files out when even their names do not fit', async () => {
    const planned = await examplePlan()
    const md = planMarkdown({ environments: Array.from({ length: 30 }, (_, i) => ({ ...planned, name: `env-${i}` })), unchanged: [] })
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    expect(md).toContain("_8 files left out to fit GitHub's size limit._")
    expect(md.match(/<details>/g)).toHaveLength(30)
    expect(codeBlocks(md)).toEqual([])
  })

  it('then leaves out whole sections of the last environments', async () => {
    const planned = await examplePlan()
    const md = planMarkdown({ environments: Array.from({ length: 400 }, (_, i) => ({ ...planned, name: `env-${i}` })), unchanged: [] })
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    const shown = md.match(/<details>/g)?.length ?? 0
    expect(shown).toBeGreaterThan(10)
    expect(md.match(/<\/details>/g)).toHaveLength(shown)
    expect(md).toContain(`_${400 - shown} more environments left out to fit GitHub's size limit: the job summary has them._`)
    // The table still names every environment.
    expect(md).toContain('| `env-399` | plan below | 3 | 2 |')
  })

  it('shows at most 50 problems of an environment', () => {
    const problems = Array.from({ length: 80 }, (_, i) => `f:${i}:1: problem ${i}`)
    const md = planMarkdown({ environments: [{ name: 'bad', status: 'invalid', problems }], unchanged: [] })
    expect(codeBlocks(md)[0].split('\n')).toHaveLength(50)
    expect(md).toContain('_and 30 more: see the annotations and the job log._')
  })
})

describe('the live release subsection', () => {
  const diff = (over: Partial<LiveDiff> = {}): LiveDiff => ({
    release: 'zk',
    namespace: 'prod',
    live: { revision: 4, status: 'deployed', chartVersion: '0.1.0' },
    chartVersion: '0.1.0',
    unchanged: false,
    objects: compareManifests(
      [
        {
          kind: 'StatefulSet',
          metadata: { name: 'zk-zookeeper' },
          spec: { replicas: 3, template: { spec: { containers: [{ name: 'zk', image: 'zookeeper:3.9.3' }] } } }
        } as KubeObject
      ],
      [
        {
          kind: 'StatefulSet',
          metadata: { name: 'zk-zookeeper' },
          spec: { replicas: 4, template: { spec: { containers: [{ name: 'zk', image: 'zookeeper:3.9.4' }] } } }
        } as KubeObject
      ]
    ),
    statefulSet: { name: 'zk-zookeeper', live: 3, desired: 4 },
    refusals: [],
    services: { create: ['zk-lb-3'], remove: [], keep: ['zk-lb-0', 'zk-lb-1', 'zk-lb-2'] },
    ...over
  })
  const withLive = async (live: LiveComparison): Promise<string> =>
    planMarkdown({ environments: [{ ...(await examplePlan()), live }], unchanged: [] })

  it('shows the release, the differing paths, the replicas and the Services, as code', async () => {
    const md = await withLive({ status: 'compared', diff: diff() })
    expect(md).toContain(
      '**Against the live release**: `release zk in namespace prod is at revision 4 (deployed, chart 0.1.0): a new revision 5, objects 1 changed, 0 added, 0 removed`'
    )
    const spans = codeSpans(md)
    expect(spans).toContain('StatefulSet zk-zookeeper replicas: 3 -> 4')
    expect(spans).toContain('changed StatefulSet/zk-zookeeper: spec.replicas 3 -> 4')
    expect(spans).toContain('changed StatefulSet/zk-zookeeper: spec.template.spec.containers[zk].image "zookeeper:3.9.3" -> "zookeeper:3.9.4"')
    expect(spans).toContain('LoadBalancer Services: create zk-lb-3; remove none; keep zk-lb-0, zk-lb-1, zk-lb-2')
    // Before the files, inside the environment's section.
    expect(md.indexOf('Against the live release')).toBeLessThan(md.indexOf('kubernetes/server-services.yaml'))
    expect(md.indexOf('Against the live release')).toBeGreaterThan(md.indexOf('<details><summary><code>example</code>'))
  })

  it('says first install, no change, and a refusal', async () => {
    expect(
      await withLive({
        status: 'compared',
        diff: diff({ live: undefined, objects: [{ kind: 'StatefulSet', name: 'zk-zookeeper', change: 'added' }] })
      })
    ).toContain('`first install: release zk in namespace prod does not exist yet; helm would create 1 object (chart 0.1.0)`')
    expect(await withLive({ status: 'compared', diff: diff({ unchanged: true, objects: [] }) })).toContain(
      '`no change: release zk in namespace prod is at revision 4 (deployed, chart 0.1.0) and already matches; no new revision`'
    )
    const refused = await withLive({
      status: 'compared',
      diff: diff({
        statefulSet: { name: 'zk-zookeeper', live: 3, desired: 5, refused: true },
        refusals: ['StatefulSet zk-zookeeper has 3 servers and the environment asks for 5']
      })
    })
    expect(codeSpans(refused)).toContain('StatefulSet zk-zookeeper replicas: 3 -> 5 (refused, see above)')
    expect(codeSpans(refused)).toContain('refused: StatefulSet zk-zookeeper has 3 servers and the environment asks for 5')
    // The bundled chart's scale is planned, not refused: the steps show instead.
    const stepped = await withLive({
      status: 'compared',
      diff: diff({ statefulSet: { name: 'zk-zookeeper', live: 3, desired: 5, steps: '3 -> 4 -> 5' } })
    })
    expect(codeSpans(stepped)).toContain('StatefulSet zk-zookeeper replicas: 3 -> 5 (one server per step: 3 -> 4 -> 5)')
  })

  it('says in one line that the cluster could not be read', async () => {
    const md = await withLive({
      status: 'unreachable',
      error: liveDiffError(new Error('Get "https://10.0.0.9:6443/version":\ndial tcp: i/o timeout'))
    })
    expect(md).toContain('**Against the live release**: cannot read the cluster, `"Get \\"<url>\\": / dial tcp: i/o timeout"`')
    expect(md).not.toContain('10.0.0.9')
  })

  it('keeps hostile values in their code spans, cut, and never shows a Secret’s data', () => {
    const hostile = '`x` </details>\u2028@org/team <img src=x onerror=alert(1)>\u0007'.repeat(3)
    const objects = compareManifests(
      [
        { kind: 'ConfigMap', metadata: { name: 'c', annotations: { note: 'old' } }, data: { 'zoo.cfg': 'a=1\nb=2\n' } } as KubeObject,
        { kind: 'Secret', metadata: { name: 's' }, data: { password: 'b2xk' } } as KubeObject
      ],
      [
        { kind: 'ConfigMap', metadata: { name: 'c', annotations: { note: hostile } }, data: { 'zoo.cfg': 'a=1\nb=3\n' } } as KubeObject,
        { kind: 'Secret', metadata: { name: 's' }, data: { password: 'bmV3' } } as KubeObject
      ]
    )
    const { details } = describeLiveDiff(diff({ objects }))
    expect(details).toContain('changed ConfigMap/c: data["zoo.cfg"] line 2 (-1 +1 lines) "b=2" -> "b=3"')
    expect(details).toContain('changed Secret/s: data.password (hidden) -> (hidden)')
    expect(details.join('\n')).not.toMatch(/b2xk|bmV3/)
    const note = details.find(d => d.startsWith('changed ConfigMap/c: metadata.annotations.note'))!
    expect(note).toContain(`(${hostile.length} characters)`)
    // eslint-disable-next-line no-control-regex
    expect(note).not.toMatch(/[\u0000-\u001f\u2028]/)
    const md = details.map(d => `- ${codeSpan(d)}`).join('\n')
    expect(codeSpans(md)).toContain(note)
    expect(tokens(md).some(t => t.type === 'html')).toBe(false)
  })

  it('shows at most 10 paths of an object', () => {
    const spec = (v: number): Record<string, number> => Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, v]))
    const [changed] = compareManifests(
      [{ kind: 'ConfigMap', metadata: { name: 'c' }, spec: spec(1) } as KubeObject],
      [{ kind: 'ConfigMap', metadata: { name: 'c' }, spec: spec(2) } as KubeObject]
    )
    expect(changed).toMatchObject({ change: 'changed', more: 4 })
    expect(describeLiveDiff(diff({ objects: [changed] })).details).toContain('changed ConfigMap/c: and 4 more paths')
  })
})
