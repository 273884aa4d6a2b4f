// The pull-request plan against the live release, on the sandbox's real API server (delay mode):
// first install, no change, a values change, a jump of two servers (refused) with the
// LoadBalancer Services it would add, and proof that comparing wrote nothing to the cluster.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as path from 'node:path'
import { run } from '../../workflows-lib/src/cli/main.js'
import { loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import type { Environment } from '../../workflows-lib/src/environment/types.js'
import { planEnvironments } from '../../workflows-lib/src/github/plan-comment.js'
import { planMarkdown } from '../../workflows-lib/src/github/plan-markdown.js'
import type { Helm } from '../../workflows-lib/src/kube/helm.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { KubeObject } from '../../workflows-lib/src/kube/types.js'
import { describeLiveDiff, liveDiff } from '../../workflows-lib/src/plan/live-diff.js'
import { deployChart } from '../../workflows-lib/src/steps/deploy-chart.js'
import { exposeServers } from '../../workflows-lib/src/steps/expose-servers.js'
import { waitReady } from '../../workflows-lib/src/steps/wait-ready.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { addressBlocks } from '../support/addresses.js'
import { repoRoot, writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, productClients, roots, sandboxValues, useSandboxToolEnv } from '../support/kube.js'

const namespace = 'livediff'
let sandbox: Sandbox
let kubectl: Kubectl
let helm: Helm

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: addressBlocks.sandboxBlocks.planLiveDiff, loadBalancer: { delayMs: 100 } })
  useSandboxToolEnv(sandbox)
  ;({ kubectl, helm } = productClients(sandbox, sandbox.helm4))
}, 120_000)

afterAll(async () => {
  await sandbox?.stop()
})

const environment = (servers: number, values = sandboxValues): Promise<Environment> =>
  loadEnvironment(writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk', servers }), { name: 'live', values }))

const diffOf = async (env: Environment): ReturnType<typeof liveDiff> => liveDiff({ env, helm, kubectl, roots })

/** What the comparison must leave alone: the release's revision, every object's resourceVersion. */
async function clusterState(): Promise<{ revision?: number; objects: Record<string, string | undefined> }> {
  const objects: Record<string, string | undefined> = {}
  for (const resource of ['statefulsets', 'services', 'secrets', 'configmaps'])
    for (const o of await kubectl.list<KubeObject>(resource, namespace)) objects[`${resource}/${o.metadata.name}`] = o.metadata.resourceVersion
  return { revision: (await helm.status('zk', namespace))?.revision, objects }
}

/** The state once two readings a second apart agree (the controllers are done). */
async function settledState(): Promise<Awaited<ReturnType<typeof clusterState>>> {
  let last = await clusterState()
  for (let i = 0; i < 30; i++) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const now = await clusterState()
    if (JSON.stringify(now) === JSON.stringify(last)) return now
    last = now
  }
  throw new Error(`the cluster did not settle: ${JSON.stringify(last)}`)
}

describe('the plan against the live release', () => {
  let before: Awaited<ReturnType<typeof clusterState>>

  it('(a) says first install before the release exists, creating nothing (not even the namespace)', async () => {
    const diff = await diffOf(await environment(3))
    expect(diff.live).toBeUndefined()
    expect(diff.refusals).toEqual([])
    expect(diff.objects).toContainEqual({ kind: 'StatefulSet', name: 'zk-zookeeper', change: 'added' })
    expect(diff.objects.every(o => o.change === 'added')).toBe(true)
    expect(diff.services).toEqual({ create: ['zk-lb-0', 'zk-lb-1', 'zk-lb-2'], remove: [], keep: [] })
    const { summary, details } = describeLiveDiff(diff)
    expect(summary).toMatch(/^first install: release zk in namespace livediff does not exist yet; helm would create \d+ objects \(chart 0\.1\.0\)$/)
    expect(details).toContain('StatefulSet zk-zookeeper replicas: (none) -> 3')
    expect(details).toContain('LoadBalancer Services: create zk-lb-0, zk-lb-1, zk-lb-2; remove none')
    expect(await kubectl.getOptional('namespace', namespace)).toBeUndefined()
  })

  it('(b) says no change for the environment just deployed', async () => {
    const env = await environment(3)
    expect(await deployChart({ env, helm, kubectl, roots })).toMatchObject({ revision: 1, changed: true })
    expect((await exposeServers({ kubectl, env, timeoutMs: 30_000 })).addresses).toHaveLength(3)
    // Once the pods are Ready the controllers stop writing status: from here on nothing may change.
    await waitReady({ kubectl, namespace, statefulSet: 'zk-zookeeper', podTimeoutMs: 60_000, overallTimeoutMs: 120_000 })
    before = await settledState()
    expect(before.revision).toBe(1)

    const diff = await diffOf(env)
    expect(diff).toMatchObject({
      live: { revision: 1, status: 'deployed', chartVersion: '0.1.0' },
      unchanged: true,
      objects: [],
      refusals: [],
      statefulSet: { name: 'zk-zookeeper', live: 3, desired: 3 },
      services: { create: [], remove: [], keep: ['zk-lb-0', 'zk-lb-1', 'zk-lb-2'] }
    })
    const { summary, details } = describeLiveDiff(diff)
    expect(summary).toBe('no change: release zk in namespace livediff is at revision 1 (deployed, chart 0.1.0) and already matches; no new revision')
    expect(details).toEqual([
      'StatefulSet zk-zookeeper replicas: 3 (unchanged)',
      'LoadBalancer Services: zk-lb-0, zk-lb-1, zk-lb-2 already exist (none created or removed)'
    ])
  })

  it('(c) shows the StatefulSet paths a values change differs in', async () => {
    const values = `${sandboxValues.replace('heap: 64m', 'heap: 128m')}podAnnotations: { canary: "yes" }\n`
    const diff = await diffOf(await environment(3, values))
    expect(diff.unchanged).toBe(false)
    expect(diff.objects).toEqual([
      {
        kind: 'StatefulSet',
        name: 'zk-zookeeper',
        change: 'changed',
        more: 0,
        paths: [
          { path: 'spec.template.metadata.annotations.canary', from: '(none)', to: '"yes"' },
          { path: 'spec.template.spec.containers[zookeeper].env[JVMFLAGS].value', from: '"-Xmx64m -Xms64m"', to: '"-Xmx128m -Xms128m"' }
        ]
      }
    ])
    const { summary, details } = describeLiveDiff(diff)
    expect(summary).toBe(
      'release zk in namespace livediff is at revision 1 (deployed, chart 0.1.0): a new revision 2, objects 1 changed, 0 added, 0 removed'
    )
    expect(details).toContain(
      'changed StatefulSet/zk-zookeeper: spec.template.spec.containers[zookeeper].env[JVMFLAGS].value "-Xmx64m -Xms64m" -> "-Xmx128m -Xms128m"'
    )
  })

  it('(d) plans 3 -> 5 servers one server per step and lists the two LoadBalancer Services it would add, in the comment too', async () => {
    const env = await environment(5)
    const diff = await diffOf(env)
    const image = { zookeeper: 'zookeeper:3.9.4' }
    expect(diff.statefulSet).toEqual({
      name: 'zk-zookeeper',
      live: 3,
      desired: 5,
      steps: '3 -> 4 -> 5',
      observed: true,
      images: { desired: image, released: image, live: image }
    })
    expect(diff.refusals).toEqual([])
    expect(diff.services).toEqual({ create: ['zk-lb-3', 'zk-lb-4'], remove: [], keep: ['zk-lb-0', 'zk-lb-1', 'zk-lb-2'] })
    const changed = Object.fromEntries(diff.objects.map(o => [`${o.kind}/${o.name}`, o.change === 'changed' ? o.paths : o.change]))
    expect(Object.keys(changed).sort()).toEqual(['ConfigMap/zk-zookeeper', 'StatefulSet/zk-zookeeper'])
    expect(changed['StatefulSet/zk-zookeeper']).toContainEqual({ path: 'spec.replicas', from: '3', to: '5' })
    // zoo.cfg gains two server lines (the checksum annotation follows it).
    expect(changed['ConfigMap/zk-zookeeper']).toEqual([
      {
        path: expect.stringMatching(/^data\["zoo\.cfg"\] line \d+ \(-0 \+2 lines\)$/),
        from: '(none)',
        to: expect.stringMatching(/^"server\.4=zk-zookeeper-3\./)
      }
    ])
    const { summary, details } = describeLiveDiff(diff)
    expect(summary).not.toMatch(/refuse/)
    expect(details).toContain('StatefulSet zk-zookeeper replicas: 3 -> 5 (one server per step: 3 -> 4 -> 5)')
    expect(details).toContain('changed StatefulSet/zk-zookeeper: spec.replicas 3 -> 5')
    expect(details).toContain('LoadBalancer Services: create zk-lb-3, zk-lb-4; remove none; keep zk-lb-0, zk-lb-1, zk-lb-2')

    // Through the plan comment, as the action runs it.
    const workspace = path.resolve(env.directory, '..', '..')
    const planned = await planEnvironments({ names: ['live'], roots, workspace, live: e => liveDiff({ env: e, helm, kubectl, roots }) })
    const md = planMarkdown({ environments: planned.environments, unchanged: [] })
    expect(md).toContain('**Against the live release**: `release zk in namespace livediff is at revision 1 (deployed, chart 0.1.0): a new revision 2')
    expect(md).toContain('- `StatefulSet zk-zookeeper replicas: 3 -> 5 (one server per step: 3 -> 4 -> 5)`')
    // zk-rollout plan --kubeconfig reads the same live size (one get) and plans the same steps.
    let out = ''
    const code = await run(['plan', 'environments/live', '--kubeconfig', sandbox.kubeconfig, '--kubectl', sandbox.kubectl], {
      out: t => (out += t),
      err: t => (out += t),
      cwd: workspace,
      packageRoot: repoRoot,
      which: async t => t
    })
    expect(code).toBe(0)
    expect(out).toContain('1. scale-ensemble: scale 3 -> 4 -> 5')
    expect(out).toContain('current size 3 from the live StatefulSet')
    // The plan's first step is the scale, against the live size.
    const planned5 = planned.environments[0]
    expect(planned5.status === 'planned' && planned5.plan.steps[0]).toMatchObject({ action: 'scale-ensemble', summary: 'scale 3 -> 4 -> 5' })
    expect(md).toContain('scale 3 -> 4 -> 5')
    expect(md).toContain('- `LoadBalancer Services: create zk-lb-3, zk-lb-4; remove none; keep zk-lb-0, zk-lb-1, zk-lb-2`')
  })

  it('(e) wrote nothing: same revision, same resourceVersions', async () => {
    expect(await clusterState()).toEqual(before)
  })

  it('says so in one line when the cluster cannot be read, and still plans', async () => {
    const env = await environment(3)
    const workspace = path.resolve(env.directory, '..', '..')
    const planned = await planEnvironments({
      names: ['live'],
      roots,
      workspace,
      live: () =>
        Promise.reject(
          new Error('helm get metadata zk failed: Kubernetes cluster unreachable:\nGet "https://10.1.2.3:6443/version": dial tcp: i/o timeout')
        )
    })
    const md = planMarkdown({ environments: planned.environments, unchanged: [] })
    expect(md).toContain(
      '**Against the live release**: cannot read the cluster, `"helm get metadata zk failed: Kubernetes cluster unreachable: / Get \\"<url>\\": dial tcp: i/o timeout"`'
    )
    expect(md).not.toContain('10.1.2.3')
    expect(md).toContain('**deploy-chart**')
  })
})
