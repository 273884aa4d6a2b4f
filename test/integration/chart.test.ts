// The bundled chart, checked by real helm 3 and helm 4 (no cluster needed) and by the
// Kubernetes schemas.
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { StatefulSet } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { sandboxTools } from '../sandbox/tools.js'
import { repoRoot } from '../support/environments.js'

const run = promisify(execFile)
const chart = path.join(repoRoot, 'charts', 'zookeeper')
const tools = sandboxTools()
const helms: [string, string][] = [
  ['helm 3', tools.helm3],
  ['helm 4', tools.helm4]
]

interface Doc {
  kind: string
  apiVersion: string
  metadata: { name: string }
  [k: string]: unknown
}

async function template(helm: string, args: string[]): Promise<Doc[]> {
  const { stdout } = await run(helm, ['template', 'zk', chart, '--namespace', 'kube-public', ...args])
  return parseAllDocuments(stdout)
    .map(d => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null)
}

describe.each(helms)('charts/zookeeper with %s', (_, helm) => {
  it('passes helm lint --strict', async () => {
    const { stdout } = await run(helm, ['lint', '--strict', chart])
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed')
  })

  it('renders valid objects: every port with a protocol, ordered pods, a static server list', async () => {
    const docs = await template(helm, ['--set', 'replicas=5', '--kube-version', '1.20.2'])
    expect(docs.map(d => d.kind).sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'Service', 'Service', 'StatefulSet'])
    for (const d of docs) {
      if (d.kind === 'Service') new Service(d as never).validate()
      if (d.kind === 'ConfigMap') new ConfigMap(d as never).validate()
      if (d.kind === 'StatefulSet') new StatefulSet(d as never).validate()
    }
    const services = docs.filter(d => d.kind === 'Service') as unknown as { spec: { ports: { protocol?: string }[] } }[]
    for (const s of services) for (const p of s.spec.ports) expect(p.protocol).toBe('TCP')
    const sts = docs.find(d => d.kind === 'StatefulSet') as unknown as {
      spec: {
        podManagementPolicy: string
        replicas: number
        template: { spec: { containers: { readinessProbe: { exec: { command: string[] } } }[] } }
      }
    }
    expect(sts.spec.podManagementPolicy).toBe('OrderedReady')
    expect(sts.spec.replicas).toBe(5)
    expect(sts.spec.template.spec.containers[0].readinessProbe.exec.command.join(' ')).toContain('ruok')
    const cfg = (docs.find(d => d.kind === 'ConfigMap') as unknown as { data: { 'zoo.cfg': string } }).data['zoo.cfg']
    expect(cfg.split('\n').filter(l => l.startsWith('server.'))).toEqual(
      [0, 1, 2, 3, 4].map(i => `server.${i + 1}=zk-zookeeper-${i}.zk-zookeeper-headless.kube-public.svc.cluster.local:2888:3888`)
    )
    expect(cfg).toContain('reconfigEnabled=false\n')
    expect(cfg).toContain('quorumListenOnAllIPs=true\n')
    expect(cfg).toContain('4lw.commands.whitelist=srvr,mntr,ruok\n')
  })

  it('leaves restarts to zk-rollout (OnDelete) and lists fewer voters than pods during a scale-down step', async () => {
    const docs = await template(helm, ['--set', 'replicas=5', '--set', 'servers=4'])
    const sts = docs.find(d => d.kind === 'StatefulSet') as unknown as {
      spec: { replicas: number; updateStrategy: { type: string }; template: { metadata: { annotations: Record<string, string> } } }
    }
    expect(sts.spec.updateStrategy.type).toBe('OnDelete')
    expect(sts.spec.replicas).toBe(5)
    expect(sts.spec.template.metadata.annotations['zk-rollout.io/voters']).toBe('4')
    const cfg = (docs.find(d => d.kind === 'ConfigMap') as unknown as { data: { 'zoo.cfg': string } }).data['zoo.cfg']
    expect(cfg.split('\n').filter(l => l.startsWith('server.'))).toHaveLength(4)
    // Without servers, every replica votes.
    const plain = (await template(helm, ['--set', 'replicas=5'])).find(d => d.kind === 'StatefulSet') as unknown as typeof sts
    expect(plain.spec.template.metadata.annotations['zk-rollout.io/voters']).toBe('5')
  })

  // The fallback to policy/v1beta1 needs a live 1.20 API (offline, helm always offers
  // policy/v1): kubernetes-rollout.test.ts checks it on the sandbox.
  it('uses policy/v1 for the PodDisruptionBudget where it is served', async () => {
    const current = (await template(helm, ['--api-versions', 'policy/v1'])).find(d => d.kind === 'PodDisruptionBudget')!
    expect(current.apiVersion).toBe('policy/v1')
    new PodDisruptionBudget(current as never).validate()
  })

  it('refuses values its schema does not allow', async () => {
    await expect(template(helm, ['--set', 'replicas=three'])).rejects.toThrow(/replicas/)
    await expect(template(helm, ['--set', 'replica=3'])).rejects.toThrow(/replica/)
  })

  it('renders a ServiceMonitor only where the CRD exists, and says why otherwise', async () => {
    await expect(template(helm, ['--set', 'metrics.serviceMonitor.enabled=true'])).rejects.toThrow(/no ServiceMonitor CRD/)
    const docs = await template(helm, ['--set', 'metrics.serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor'])
    expect(docs.filter(d => d.kind === 'ServiceMonitor')).toHaveLength(1)
  })
})
