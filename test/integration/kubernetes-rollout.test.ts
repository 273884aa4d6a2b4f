// The Kubernetes half against a real control plane: the bundled chart deployed with real
// helm 3 and helm 4, its pods running real ZooKeeper servers (sandbox process mode), Ready in
// order, exposed through per-pod LoadBalancers that really reach each server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import type { Helm } from '../../workflows-lib/src/kube/helm.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { Pod, Service } from '../../workflows-lib/src/kube/types.js'
import { converge, rollBack } from '../../workflows-lib/src/ensemble/converge.js'
import { quorumProblem } from '../../workflows-lib/src/ensemble/state.js'
import { deployChart } from '../../workflows-lib/src/steps/deploy-chart.js'
import { exposeServers } from '../../workflows-lib/src/steps/expose-servers.js'
import { waitReady } from '../../workflows-lib/src/steps/wait-ready.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, productClients, roots, sandboxValues, useSandboxToolEnv } from '../support/kube.js'
import { runActionDist } from '../support/run-action.js'
import { zkCli } from '../support/zookeeper.js'

let sandbox: Sandbox
let toolEnv: Record<string, string>

beforeAll(async () => {
  sandbox = await startSandbox({
    addressBlock: 70,
    // Only the releases named zk run real ZooKeeper; anything else would be delay mode.
    process: { selector: 'app.kubernetes.io/name=zookeeper,app.kubernetes.io/instance=zk' },
    loadBalancer: { delayMs: 200 }
  })
  toolEnv = useSandboxToolEnv(sandbox)
}, 120_000)

afterAll(async () => {
  await sandbox?.stop()
})

const helms = (): [string, string][] => [
  ['helm 3', sandbox.helm3],
  ['helm 4', sandbox.helm4]
]

describe.each([['helm 3'], ['helm 4']])('bundled chart with %s', which => {
  const namespace = which === 'helm 3' ? 'zk-h3' : 'zk-h4'
  let env: Environment
  let kubectl: Kubectl
  let helm: Helm

  beforeAll(async () => {
    env = await loadEnvironment(writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk' }), { name: namespace, values: sandboxValues }))
    ;({ kubectl, helm } = productClients(sandbox, helms().find(h => h[0] === which)![1]))
  })

  afterAll(async () => {
    // Stops this release's ZooKeeper processes before the next helm version runs.
    await sandbox.deleteNamespace(namespace)
  }, 120_000)

  it('deploys, waits for pods in order, exposes them, and the exported addresses reach a real quorum', async () => {
    const deployed = await deployChart({ env, helm, kubectl, roots })
    expect(deployed).toMatchObject({ release: 'zk', namespace, revision: 1, statefulSet: 'zk-zookeeper', replicas: 3, changed: true })
    expect(deployed.previousRevision).toBeUndefined()
    // Kubernetes 1.20 serves no policy/v1: the chart chose v1beta1 through .Capabilities.
    const pdb = await kubectl.json<{ apiVersion: string; spec: { maxUnavailable: number } }>([
      'get',
      'poddisruptionbudgets.v1beta1.policy',
      'zk-zookeeper',
      '-n',
      namespace
    ])
    expect(pdb.spec.maxUnavailable).toBe(1)
    expect((await kubectl.run(['get', 'poddisruptionbudgets.v1.policy', '-n', namespace], { allowExitCodes: [1] })).stderr).toMatch(
      /the server doesn't have a resource type/
    )

    const ready = await waitReady({ kubectl, namespace, statefulSet: deployed.statefulSet, podTimeoutMs: 90_000, overallTimeoutMs: 240_000 })
    expect(ready.map(r => r.pod)).toEqual(['zk-zookeeper-0', 'zk-zookeeper-1', 'zk-zookeeper-2'])
    // The StatefulSet controller created each pod only after the previous one was Ready.
    const pods = await kubectl.list<Pod>('pods', namespace, 'app.kubernetes.io/instance=zk')
    const byName = new Map(pods.map(p => [p.metadata.name, p]))
    for (const i of [1, 2]) {
      const previousReady = byName.get(`zk-zookeeper-${i - 1}`)!.status!.conditions!.find(c => c.type === 'Ready')!.lastTransitionTime!
      expect(Date.parse(byName.get(`zk-zookeeper-${i}`)!.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(Date.parse(previousReady))
    }

    const exposed = await exposeServers({ kubectl, env, statefulSet: deployed.statefulSet, timeoutMs: 60_000 })
    const podAddresses = [0, 1, 2].map(i => sandbox.podAddress(namespace, `zk-zookeeper-${i}`))
    expect(exposed.addresses).toEqual(podAddresses)
    expect(exposed.serverLines).toEqual(podAddresses.map((a, i) => `server.${i + 1}=${a}:2888:3888`))
    expect(exposed.services.map(s => s.name)).toEqual(['zk-lb-0', 'zk-lb-1', 'zk-lb-2'])

    // A real quorum behind the exported addresses: one leader, two followers, shared data.
    const modes = await Promise.all(exposed.addresses.map(async a => parseSrvr(await fourLetterWord(a, 2181, 'srvr')).mode))
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader'])
    await zkCli(`${exposed.addresses[0]}:2181`, ['create', `/written-via-lb-0`, which])
    expect(await zkCli(`${exposed.addresses[2]}:2181`, ['get', '/written-via-lb-0'])).toContain(which)
  })

  it('a second run changes nothing: no new revision, no Service touched', async () => {
    const before = await kubectl.list<Service>('services', namespace, 'zk-rollout/role=server-lb')
    const deployed = await deployChart({ env, helm, kubectl, roots })
    expect(deployed).toMatchObject({ revision: 1, previousRevision: 1, changed: false })
    const ready = await waitReady({ kubectl, namespace, statefulSet: deployed.statefulSet, podTimeoutMs: 30_000, overallTimeoutMs: 60_000 })
    expect(ready).toHaveLength(3)
    const exposed = await exposeServers({ kubectl, env, statefulSet: deployed.statefulSet, timeoutMs: 30_000 })
    expect(exposed.outcome).toEqual({ changed: [], unchanged: ['Service/zk-lb-0', 'Service/zk-lb-1', 'Service/zk-lb-2'], deleted: [] })
    const after = await kubectl.list<Service>('services', namespace, 'zk-rollout/role=server-lb')
    expect(after.map(s => s.metadata.resourceVersion)).toEqual(before.map(s => s.metadata.resourceVersion))
  })

  it('a values change makes one new revision and restarts the servers followers first, the leader last', async () => {
    const changed = await loadEnvironment(
      writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk' }), {
        name: namespace,
        values: `${sandboxValues}podAnnotations: { team: platform }\n`
      })
    )
    const seen: { pod: string; mode: string | undefined; quorum: boolean }[] = []
    const since = Date.now()
    const result = await converge({
      env: changed,
      helm,
      kubectl,
      roots,
      // The state that chose each restart, read from srvr/mntr through kubectl exec.
      onRestart: (pod, state) => seen.push({ pod, mode: state.servers.find(s => s.pod === pod)?.mode, quorum: !quorumProblem(state, 3) })
    })
    expect(result.chart).toMatchObject({ revision: 2, previousRevision: 1, changed: true })
    expect(result.restarted).toHaveLength(3)
    expect(seen.map(s => s.mode)).toEqual(['follower', 'follower', 'leader'])
    expect(seen.every(s => s.quorum)).toBe(true)
    // The node's own record: each server stopped only after the previous one was back, in that order.
    const record = sandbox.kubelet.lifecycle.filter(r => r.namespace === namespace && r.at >= since)
    expect(record.filter(r => r.kind === 'stop').map(r => r.pod)).toEqual(result.restarted)
    for (const pod of result.restarted) {
      const stop = record.findIndex(r => r.pod === pod && r.kind === 'stop')
      expect(record[stop + 1]).toMatchObject({ pod, kind: 'start' })
    }
    const pods = await kubectl.list<Pod>('pods', namespace, 'app.kubernetes.io/instance=zk')
    expect(pods.map(p => p.metadata.annotations?.team)).toEqual(['platform', 'platform', 'platform'])
    // Nothing left for the controller or wait-ready: every pod runs the new revision.
    const ready = await waitReady({ kubectl, namespace, statefulSet: result.chart.statefulSet, podTimeoutMs: 30_000, overallTimeoutMs: 60_000 })
    expect(ready).toHaveLength(3)
  })

  it('a rollback restarts the servers onto the old revision in the same order, and one across a size change is refused', async () => {
    const modes: (string | undefined)[] = []
    const restarted = await rollBack({
      env,
      helm,
      kubectl,
      revision: 1,
      onRestart: (pod, state) => modes.push(state.servers.find(s => s.pod === pod)?.mode)
    })
    expect(restarted).toHaveLength(3)
    expect(modes).toEqual(['follower', 'follower', 'leader'])
    const pods = await kubectl.list<Pod>('pods', namespace, 'app.kubernetes.io/instance=zk')
    expect(pods.map(p => p.metadata.annotations?.team)).toEqual([undefined, undefined, undefined])
    // At five servers (revisions 4 and 5), back to revision 3 (three servers) would jump two voters.
    const five = await loadEnvironment(
      writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk', servers: 5 }), { name: namespace, values: sandboxValues })
    )
    await converge({ env: five, helm, kubectl, roots, afterStep: async () => undefined })
    await expect(rollBack({ env: five, helm, kubectl, revision: 3 })).rejects.toThrow(
      /revision 3 of zk has 3 servers and the live ensemble 5 .*Roll out ensemble.servers: 3 instead/
    )
    expect((await helm.status('zk', namespace))?.revision).toBeGreaterThan(3)
  })
})

describe('the four actions from their built dist/index.js, as a runner runs them', () => {
  const namespace = 'zk-dist'
  let envDir: string

  beforeAll(() => {
    envDir = writeEnvironment(
      kubeEnvironmentYaml({
        namespace,
        release: 'zk',
        extra: 'observers:\n  hosts:\n    - { id: 101, host: 10.20.0.5 }\nmonitoring:\n  serviceName: zk-observers\n'
      }),
      { name: namespace, values: sandboxValues }
    )
  })

  afterAll(async () => {
    await sandbox.deleteNamespace(namespace)
  }, 120_000)

  const common = (): Record<string, string> => ({
    environment: envDir,
    kubeconfig: readFileSync(sandbox.kubeconfig, 'utf8'),
    kubectl: sandbox.kubectl,
    helm: sandbox.helm4
  })

  it('deploy-chart, wait-ready, expose-servers and register-monitoring set their outputs', async () => {
    const deploy = await runActionDist('deploy-chart', common(), { env: toolEnv })
    expect(deploy.stderr + deploy.stdout).not.toContain('::error')
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs).toMatchObject({
      release: 'zk',
      revision: '1',
      'previous-revision': '',
      statefulset: 'zk-zookeeper',
      replicas: '3',
      changed: 'true'
    })
    expect(deploy.summary).toContain('| zk | zk-dist | 1 |')

    const wait = await runActionDist('wait-ready', { ...common(), statefulset: deploy.outputs.statefulset }, { env: toolEnv })
    expect(wait.exitCode).toBe(0)
    expect(JSON.parse(wait.outputs.pods)).toEqual(['zk-zookeeper-0', 'zk-zookeeper-1', 'zk-zookeeper-2'])
    expect(Object.keys(JSON.parse(wait.outputs.times))).toHaveLength(3)

    const expose = await runActionDist('expose-servers', common(), { env: toolEnv })
    expect(expose.exitCode).toBe(0)
    const addresses = [0, 1, 2].map(i => sandbox.podAddress(namespace, `zk-zookeeper-${i}`))
    expect(JSON.parse(expose.outputs.addresses)).toEqual(addresses)
    // Only declared outputs are set (action.yml cannot declare address-N for every N).
    expect(Object.keys(expose.outputs).sort()).toEqual(['addresses', 'changed', 'servers', 'services'])
    expect(expose.outputs.servers.split('\n')).toEqual(addresses.map((a, i) => `server.${i + 1}=${a}:2888:3888`))

    const monitoring = await runActionDist('register-monitoring', common(), { env: toolEnv })
    expect(monitoring.exitCode).toBe(0)
    expect(monitoring.outputs).toMatchObject({ targets: '["10.20.0.5:7000"]', 'service-monitor': 'skipped: CRD not installed', changed: 'true' })
    expect(monitoring.stdout).toContain('::warning::ServiceMonitor zk-observers skipped')

    // The kubeconfig was a secret: its token is registered as a mask and appears nowhere else.
    const token = /"?token"?:\s*"?([^",\s]+)/.exec(readFileSync(sandbox.kubeconfig, 'utf8'))![1]
    for (const run of [deploy, wait, expose, monitoring]) {
      const lines = `${run.stdout}\n${run.stderr}`.split('\n')
      expect(lines).toContain(`::add-mask::${token}`)
      expect(lines.filter(l => l.includes(token) && !l.startsWith('::add-mask::'))).toEqual([])
    }

    const again = await runActionDist('deploy-chart', common(), { env: toolEnv })
    expect(again.outputs).toMatchObject({ revision: '1', 'previous-revision': '1', changed: 'false' })
  })

  it('fails with an annotation naming file and line on an invalid environment', async () => {
    const bad = writeEnvironment(kubeEnvironmentYaml({ namespace, release: 'zk', servers: 2 }), { name: 'bad', values: sandboxValues })
    const run = await runActionDist('deploy-chart', { ...common(), environment: bad }, { env: toolEnv })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toMatch(
      /::error title=zk-rollout%3A invalid environment,file=.*environment\.yaml,line=2,col=\d+::ensemble\.servers: 2 servers/
    )
  })
})
