// register-monitoring against a real API server, with and without the Prometheus operator's
// ServiceMonitor CRD. Endpoints carry non-loopback example addresses (the API refuses loopback;
// nothing is ever sent to them).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { KubeObject } from '../../workflows-lib/src/kube/types.js'
import { registerMonitoring } from '../../workflows-lib/src/steps/register-monitoring.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { writeEnvironment } from '../support/environments.js'
import { productClients, serviceMonitorCrd } from '../support/kube.js'

let sandbox: Sandbox
let kubectl: Kubectl

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string }[]; ports?: { name: string; port: number }[] }[]
}

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: 72, namespaces: ['monitoring'] })
  ;({ kubectl } = productClients(sandbox, sandbox.helm3))
}, 120_000)

afterAll(async () => {
  await sandbox?.stop()
})

function environment(
  hosts: string[],
  monitoring = 'monitoring:\n  serviceName: zk-observers\n  serviceMonitor:\n    labels: { release: prometheus }\n'
): Promise<Environment> {
  return loadEnvironment(
    writeEnvironment(
      `kubernetes: { namespace: monitoring, release: zk }
ensemble: { servers: 3 }
observers:
  hosts:
${hosts.map((h, i) => `    - { id: ${101 + i}, host: ${h} }`).join('\n')}
${monitoring}`,
      { name: 'mon' }
    )
  )
}

async function endpointsIps(): Promise<string[]> {
  const ep = await kubectl.getOptional<Endpoints>('endpoints', 'zk-observers', 'monitoring')
  return (ep?.subsets ?? []).flatMap(s => (s.addresses ?? []).map(a => a.ip))
}

describe('register-monitoring', () => {
  it('without the CRD: Service and Endpoints, and says the ServiceMonitor was skipped', async () => {
    const r = await registerMonitoring(kubectl, await environment(['10.104.170.174', '10.104.42.205']))
    expect(r.serviceMonitor).toBe('skipped: CRD not installed')
    expect(r.outcome.changed.sort()).toEqual(['Endpoints/zk-observers', 'Service/zk-observers'])
    expect(await endpointsIps()).toEqual(['10.104.170.174', '10.104.42.205'])
    const ep = await kubectl.getOptional<Endpoints>('endpoints', 'zk-observers', 'monitoring')
    expect(ep!.subsets![0].ports).toEqual([expect.objectContaining({ name: 'metrics', port: 7000 })])
  })

  it('with the CRD installed: a ServiceMonitor labelled for the Prometheus release, selecting the Service', async () => {
    await kubectl.apply([serviceMonitorCrd])
    // A CRD is served a moment after it is created.
    await kubectl.run(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s'])
    const r = await registerMonitoring(kubectl, await environment(['10.104.170.174', '10.104.42.205']))
    expect(r.serviceMonitor).toBe('applied')
    expect(r.outcome.changed).toEqual(['ServiceMonitor/zk-observers'])
    expect(r.outcome.unchanged.sort()).toEqual(['Endpoints/zk-observers', 'Service/zk-observers'])
    const sm = await kubectl.getOptional<KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } }>(
      'servicemonitors.monitoring.coreos.com',
      'zk-observers',
      'monitoring'
    )
    expect(sm!.metadata.labels).toMatchObject({ release: 'prometheus' })
    expect(sm!.spec.endpoints[0].port).toBe('metrics')
    const selected = await kubectl.list<KubeObject>(
      'services',
      'monitoring',
      Object.entries(sm!.spec.selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    )
    expect(selected.map(s => s.metadata.name)).toEqual(['zk-observers'])
  })

  it('an observer that left the environment leaves the Endpoints; an unchanged run changes nothing', async () => {
    const r = await registerMonitoring(kubectl, await environment(['10.104.42.205']))
    expect(r.outcome.changed).toEqual(['Endpoints/zk-observers'])
    expect(await endpointsIps()).toEqual(['10.104.42.205'])
    const again = await registerMonitoring(kubectl, await environment(['10.104.42.205']))
    expect(again.outcome.changed).toEqual([])
  })

  it('monitoring switched off removes what it had registered', async () => {
    const r = await registerMonitoring(kubectl, await environment(['10.104.42.205'], 'monitoring:\n  enabled: false\n'))
    expect(r.outcome.deleted.sort()).toEqual(['Endpoints/zk-observers', 'Service/zk-observers', 'ServiceMonitor/zk-observers'])
    expect(await kubectl.getOptional('service', 'zk-observers', 'monitoring')).toBeUndefined()
  })
})
