import { describe, expect, it } from '@jest/globals'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import { buildPlan } from '../../workflows-lib/src/plan/plan.js'
import {
  checkServerAddresses,
  renderMonitoring,
  renderObserverFiles,
  renderServerServices,
  toYamlDocuments
} from '../../workflows-lib/src/render/index.js'
import { exampleDir, minimalYaml, repoRoot, writeEnvironment } from '../support/environments.js'
import { expectGolden } from '../support/golden.js'

const lbAddresses = ['10.1.0.12', '10.1.0.13', '10.1.0.6'] // as in the source write-up

async function example(): Promise<Environment & { observers: NonNullable<Environment['observers']> }> {
  const env = await loadEnvironment(exampleDir)
  if (!env.observers) throw new Error('example has observers')
  return { ...env, observers: env.observers }
}

describe('observer files', () => {
  it('renders zoo.cfg, myid and docker-compose.yaml for each example observer (golden)', async () => {
    const env = await example()
    for (const host of env.observers.hosts) {
      const files = renderObserverFiles({ environment: env, observers: env.observers, host, servers: lbAddresses })
      expectGolden(`example/observer-${host.id}/zoo.cfg`, files['zoo.cfg'])
      expectGolden(`example/observer-${host.id}/myid`, files.myid)
      expectGolden(`example/observer-${host.id}/docker-compose.yaml`, files['docker-compose.yaml'])
    }
  })

  it('lists every server in ordinal order, then the observer itself', async () => {
    const env = await example()
    const host = env.observers.hosts[1]
    const cfg = renderObserverFiles({ environment: env, observers: env.observers, host, servers: lbAddresses })['zoo.cfg']
    const serverLines = cfg.split('\n').filter(l => l.startsWith('server.'))
    expect(serverLines).toEqual([
      'server.1=10.1.0.12:2888:3888',
      'server.2=10.1.0.13:2888:3888',
      'server.3=10.1.0.6:2888:3888',
      'server.102=10.104.42.205:2888:3888:observer'
    ])
    for (const setting of [
      'peerType=observer',
      'reconfigEnabled=false',
      'quorumListenOnAllIPs=true',
      'tcpKeepAlive=true',
      '4lw.commands.whitelist=srvr,mntr,ruok'
    ])
      expect(cfg.split('\n')).toContain(setting)
  })

  it('renders the exporter option: a sidecar on 9141 and no native provider (golden)', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml + '  metrics: exporter\n', { name: 'exporter' }))
    const files = renderObserverFiles({ environment: env, observers: env.observers!, host: env.observers!.hosts[0], servers: lbAddresses })
    expectGolden('exporter/zoo.cfg', files['zoo.cfg'])
    expectGolden('exporter/docker-compose.yaml', files['docker-compose.yaml'])
    expect(files['zoo.cfg']).not.toContain('metricsProvider')
    expect(files['docker-compose.yaml']).toContain('-reset-on-scrape=false')
  })

  it('keeps AWS hostnames as they are', async () => {
    const env = await example()
    const names = ['internal-a.elb.us-east-1.amazonaws.com', 'internal-b.elb.us-east-1.amazonaws.com', 'internal-c.elb.us-east-1.amazonaws.com']
    const cfg = renderObserverFiles({ environment: env, observers: env.observers, host: env.observers.hosts[0], servers: names })['zoo.cfg']
    expect(cfg).toContain('server.1=internal-a.elb.us-east-1.amazonaws.com:2888:3888\n')
  })

  it.each([
    ['a newline that would add a server line', '10.0.0.1\nserver.9=evil:2888:3888'],
    ['a shell substitution', '$(reboot)'],
    ['an empty address', ''],
    ['a port glued on', '10.0.0.1:2888']
  ])('refuses a server address with %s', (_, address) => {
    expect(() => checkServerAddresses(['10.0.0.2', address, '10.0.0.3'])).toThrow(/server address 1 .* is not a hostname or IP address/s)
  })

  it('accepts placeholders only when asked to', () => {
    expect(() => checkServerAddresses(['<zk0>'], { placeholders: true })).not.toThrow()
    expect(() => checkServerAddresses(['<zk0>'])).toThrow(/not a hostname/)
  })
})

describe('Kubernetes manifests', () => {
  it('renders one LoadBalancer Service per server pod (golden)', async () => {
    const env = await example()
    const services = renderServerServices(env)
    expectGolden('example/server-services.yaml', toYamlDocuments(services))
    expect(services.map(s => (s.spec as { selector: Record<string, string> }).selector['statefulset.kubernetes.io/pod-name'])).toEqual([
      'zk-zookeeper-0',
      'zk-zookeeper-1',
      'zk-zookeeper-2'
    ])
  })

  it('renders the monitoring Service, Endpoints and ServiceMonitor with one port name (golden)', async () => {
    const env = await example()
    const m = renderMonitoring({ ...env, monitoring: env.monitoring! })
    expectGolden('example/observer-monitoring.yaml', toYamlDocuments([m.service, m.endpoints, m.serviceMonitor]))
    const servicePort = (m.service.spec as { ports: { name: string }[] }).ports[0].name
    const endpointsPort = (m.endpoints.subsets as { ports: { name: string }[] }[])[0].ports[0].name
    const monitorPort = (m.serviceMonitor!.spec as { endpoints: { port: string }[] }).endpoints[0].port
    expect(new Set([servicePort, endpointsPort, monitorPort])).toEqual(new Set(['metrics']))
    // The ServiceMonitor must select the Service it was rendered with.
    const selector = (m.serviceMonitor!.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels
    expect(m.service.metadata.labels).toMatchObject(selector)
    expect(m.serviceMonitor!.metadata.labels).toMatchObject({ release: 'prometheus' })
  })

  it('omits the ServiceMonitor when disabled', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml + 'monitoring:\n  serviceMonitor:\n    enabled: false\n'))
    expect(renderMonitoring({ ...env, observers: env.observers!, monitoring: env.monitoring! }).serviceMonitor).toBeUndefined()
  })
})

describe('plan', () => {
  it('lists the five steps and every file, with placeholders until addresses are known', async () => {
    const env = await example()
    const plan = buildPlan(env, { roots: { bundled: repoRoot, repository: repoRoot } })
    expect(plan.steps.map(s => s.action)).toEqual(['deploy-chart', 'wait-ready', 'expose-servers', 'deploy-observers', 'register-monitoring'])
    expect(plan.files.map(f => f.path)).toEqual([
      'kubernetes/server-services.yaml',
      'observers/101@10.104.170.174/zoo.cfg',
      'observers/101@10.104.170.174/myid',
      'observers/101@10.104.170.174/docker-compose.yaml',
      'observers/102@10.104.42.205/zoo.cfg',
      'observers/102@10.104.42.205/myid',
      'observers/102@10.104.42.205/docker-compose.yaml',
      'kubernetes/observer-monitoring.yaml'
    ])
    expect(plan.placeholders).toBe(true)
    expect(plan.files[1].content).toContain('server.1=<zk0>:2888:3888')
  })

  it('refuses a server list of the wrong length', async () => {
    const env = await example()
    expect(() => buildPlan(env, { servers: ['10.0.0.1'], roots: { bundled: repoRoot, repository: repoRoot } })).toThrow(
      /--servers gives 1 address\(es\) but ensemble.servers is 3/
    )
  })
})
