import { describe, expect, it } from '@jest/globals'
import { ConfigError, loadEnvironment, type ConfigProblem } from '../../workflows-lib/src/environment/index.js'
import { exampleDir, minimalYaml, writeEnvironment } from '../support/environments.js'

async function problemsOf(yaml: string, opts?: Parameters<typeof writeEnvironment>[1]): Promise<ConfigProblem[]> {
  try {
    await loadEnvironment(writeEnvironment(yaml, opts))
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected the environment to be rejected')
}

describe('loadEnvironment', () => {
  it('loads the example environment with every default applied', async () => {
    const env = await loadEnvironment(exampleDir)
    expect(env.name).toBe('example')
    expect(env.kubernetes).toEqual({
      namespace: 'kube-public',
      release: 'zk',
      statefulSet: 'zk-zookeeper',
      headlessService: 'zk-zookeeper-headless',
      clusterDomain: 'cluster.local'
    })
    expect(env.chart.source).toEqual({ kind: 'bundled' })
    expect(env.expose.annotations).toEqual({
      'service.kubernetes.io/qcloud-loadbalancer-internal-subnetid': 'subnet-xxxxxxxx',
      'service.kubernetes.io/qcloud-loadbalancer-clusterid': 'cls-xxxxxxxx'
    })
    expect(env.observers?.hosts.map(h => h.id)).toEqual([101, 102])
    expect(env.observers?.metricsPort).toBe(7000)
    expect(env.monitoring?.serviceMonitor.labels).toEqual({ release: 'prometheus' })
    expect(env.timeouts).toEqual({ podReadyMs: 300_000, loadBalancerMs: 600_000, observerJoinMs: 120_000 })
  })

  it('fills defaults for a minimal environment', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml))
    expect(env.expose).toEqual({ serviceName: '{release}-lb-{ordinal}', cloud: 'none', addressKind: 'ip', annotations: {} })
    expect(env.observers).toMatchObject({
      image: 'zookeeper:3.9.4',
      metrics: 'native',
      directory: '/data/zookeeper',
      ssh: { user: 'deploy', port: 22 }
    })
    expect(env.monitoring?.serviceName).toBe('zk-observers-metrics')
  })

  it('derives AWS annotations and hostname addresses from cloud: aws', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml + 'expose:\n  cloud: aws\n'))
    expect(env.expose.addressKind).toBe('hostname')
    expect(env.expose.annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal')
  })

  it('accepts Service name patterns that start with {release}', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml + 'expose:\n  serviceName: "{release}-server-{ordinal}"\n'))
    expect(env.expose.serviceName).toBe('{release}-server-{ordinal}')
  })

  it('reads a repo chart reference', async () => {
    const env = await loadEnvironment(
      writeEnvironment(minimalYaml + 'chart:\n  repo: { url: "https://charts.example.com", name: zookeeper, version: 1.2.3 }\n')
    )
    expect(env.chart.source).toEqual({ kind: 'repo', url: 'https://charts.example.com', name: 'zookeeper', version: '1.2.3' })
  })
})

// Each bad input: what to change in the minimal environment, the field and line the error must
// point at, and a fragment of the message.
const badInputs: { name: string; yaml: string; field: string; line: number; message: string }[] = [
  { name: 'YAML syntax', yaml: 'kubernetes: [\n', field: '', line: 2, message: 'YAML' },
  { name: 'duplicate key', yaml: minimalYaml + 'ensemble:\n  servers: 5\n', field: '', line: 10, message: 'YAML' },
  { name: 'typo in a key', yaml: minimalYaml.replace('ensemble:', 'ensembel:'), field: 'ensembel', line: 4, message: 'did you mean "ensemble"' },
  {
    name: 'unknown nested key',
    yaml: minimalYaml.replace('      host: 10.0.0.1', '      host: 10.0.0.1\n      hots: x'),
    field: 'observers.hosts[0].hots',
    line: 10,
    message: 'unknown key "hots" (did you mean "host"?)'
  },
  {
    name: 'missing namespace',
    yaml: minimalYaml.replace('  namespace: zk\n', ''),
    field: 'kubernetes',
    line: 2,
    message: 'missing required key "namespace"'
  },
  { name: 'wrong type', yaml: minimalYaml.replace('servers: 3', 'servers: three'), field: 'ensemble.servers', line: 5, message: 'must be integer' },
  {
    name: 'bad namespace',
    yaml: minimalYaml.replace('namespace: zk', 'namespace: Kube_Public'),
    field: 'kubernetes.namespace',
    line: 2,
    message: 'DNS label'
  },
  {
    name: 'even server count',
    yaml: minimalYaml.replace('servers: 3', 'servers: 4'),
    field: 'ensemble.servers',
    line: 5,
    message: 'a quorum is 3 of 4'
  },
  { name: 'one server', yaml: minimalYaml.replace('servers: 3', 'servers: 1'), field: 'ensemble.servers', line: 5, message: 'tolerates 0 failures' },
  {
    name: 'observer id not above participants',
    yaml: minimalYaml.replace('id: 101', 'id: 2'),
    field: 'observers.hosts[0].id',
    line: 8,
    message: 'above every participant id (1..3)'
  },
  {
    name: 'duplicate observer id',
    yaml: minimalYaml + '    - id: 101\n      host: 10.0.0.2\n',
    field: 'observers.hosts[1].id',
    line: 10,
    message: 'already used by observers.hosts[0]'
  },
  {
    name: 'duplicate observer host',
    yaml: minimalYaml + '    - id: 102\n      host: 10.0.0.1\n',
    field: 'observers.hosts[1].host',
    line: 11,
    message: 'already listed'
  },
  {
    name: 'shell in a host',
    yaml: minimalYaml.replace('host: 10.0.0.1', 'host: "x; rm -rf /"'),
    field: 'observers.hosts[0].host',
    line: 9,
    message: 'not a hostname or IP address'
  },
  {
    name: 'command substitution in a host',
    yaml: minimalYaml.replace('host: 10.0.0.1', 'host: "$(reboot)"'),
    field: 'observers.hosts[0].host',
    line: 9,
    message: 'not a hostname or IP address'
  },
  {
    name: 'ssh option smuggled as host',
    yaml: minimalYaml.replace('host: 10.0.0.1', 'host: "-oProxyCommand=x"'),
    field: 'observers.hosts[0].host',
    line: 9,
    message: 'not a hostname or IP address'
  },
  {
    name: 'newline in a user',
    yaml: minimalYaml + '  ssh:\n    user: "deploy\\nrm"\n',
    field: 'observers.ssh.user',
    line: 11,
    message: 'not a valid login name'
  },
  { name: 'dot-dot in the directory', yaml: minimalYaml + '  directory: /data/../etc\n', field: 'observers.directory', line: 10, message: 'no ".."' },
  { name: 'relative directory', yaml: minimalYaml + '  directory: data/zk\n', field: 'observers.directory', line: 10, message: 'absolute path' },
  { name: 'unpinned image', yaml: minimalYaml + '  image: zookeeper\n', field: 'observers.image', line: 10, message: 'not pinned' },
  { name: 'latest image', yaml: minimalYaml + '  image: zookeeper:latest\n', field: 'observers.image', line: 10, message: '"latest"' },
  { name: 'values path escaping', yaml: minimalYaml + 'chart:\n  values: ../secrets.yaml\n', field: 'chart.values', line: 11, message: 'no ".."' },
  {
    name: 'two chart sources',
    yaml: minimalYaml + 'chart:\n  bundled: true\n  path: charts/other\n',
    field: 'chart.path',
    line: 12,
    message: 'exactly one chart source'
  },
  {
    name: 'service name without ordinal',
    yaml: minimalYaml + 'expose:\n  serviceName: zk\n',
    field: 'expose.serviceName',
    line: 11,
    message: 'must contain {ordinal}'
  },
  { name: 'tke without subnet', yaml: minimalYaml + 'expose:\n  cloud: tke\n', field: 'expose.cloud', line: 11, message: 'public LoadBalancer' },
  {
    name: 'unknown cloud',
    yaml: minimalYaml + 'expose:\n  cloud: alibaba\n',
    field: 'expose.cloud',
    line: 11,
    message: 'must be one of: none, tke, aws, gke, azure'
  },
  {
    name: 'bad duration',
    yaml: minimalYaml + 'timeouts:\n  podReady: 5 minutes\n',
    field: 'timeouts.podReady',
    line: 11,
    message: 'a duration such as'
  },
  {
    name: 'hostname host with monitoring',
    yaml: minimalYaml.replace('host: 10.0.0.1', 'host: vm1.example.com'),
    field: 'observers.hosts[0].host',
    line: 9,
    message: 'add metricsAddress'
  },
  {
    name: 'client port on the election port',
    yaml: minimalYaml + '  clientPort: 3888\n',
    field: 'observers.clientPort',
    line: 10,
    message: 'the election port'
  },
  {
    name: 'newline in an annotation',
    yaml: minimalYaml + 'expose:\n  annotations:\n    a: "x\\ny"\n',
    field: 'expose.annotations.a',
    line: 12,
    message: 'without control characters'
  },
  { name: 'not a mapping', yaml: '- a\n- b\n', field: '', line: 1, message: 'expected a mapping' }
]

describe('validation errors name file, field and line', () => {
  it.each(badInputs)('$name', async ({ yaml, field, line, message }) => {
    const problems = await problemsOf(yaml)
    const match = problems.find(p => p.field === field)
    expect({ problems }).toEqual({ problems: expect.arrayContaining([expect.objectContaining({ field })]) })
    expect(match?.message).toContain(message)
    expect(match?.line).toBe(line)
    expect(match?.file).toMatch(/environments\/test\/environment\.yaml$/)
  })

  it('reports every problem at once, not just the first', async () => {
    const problems = await problemsOf(minimalYaml.replace('servers: 3', 'servers: 2').replace('id: 101', 'id: 1'))
    expect(problems.map(p => p.field).sort()).toEqual(['ensemble.servers', 'observers.hosts[0].id'])
  })

  it('accepts an even size when explicitly allowed', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml.replace('servers: 3', 'servers: 4\n  allowUnsafeSize: true')))
    expect(env.ensemble).toEqual({ servers: 4, allowUnsafeSize: true })
  })

  it('names a missing values file', async () => {
    const problems = await problemsOf(minimalYaml + 'chart:\n  values: prod-values.yaml\n')
    expect(problems).toEqual([
      expect.objectContaining({ field: 'chart.values', line: 11, message: expect.stringContaining('"prod-values.yaml" not found') })
    ])
  })

  it('points into a broken values file', async () => {
    const problems = await problemsOf(minimalYaml, { values: 'a: 1\nb: [\n' })
    expect(problems[0].file).toMatch(/values\.yaml$/)
    expect(problems[0].line).toBe(3)
  })

  it('says when there is no environment.yaml', async () => {
    await expect(loadEnvironment('/nonexistent/environments/x')).rejects.toThrow(/environment\.yaml:1:1: file not found/)
  })
})

describe('environment.yaml schema', () => {
  // The loader compiles it without checking it against the meta-schema (start-up cost): here it is.
  it('is a valid JSON Schema that ajv accepts in strict mode', async () => {
    const { Ajv } = await import('ajv')
    const { environmentSchema } = await import('../../workflows-lib/src/environment/schema.js')
    const ajv = new Ajv({ allErrors: true, strict: true })
    expect(ajv.validateSchema(environmentSchema)).toBe(true)
    expect(ajv.errors ?? null).toBeNull()
    expect(() => ajv.compile(environmentSchema)).not.toThrow()
  })
})
