// Hostile environments, each a regression test for a hole an adversarial review found: the
// directory name, symlinks and special files, unbounded durations, huge or quadratic YAML,
// IPv6 and non-hosts, unbounded strings, Kubernetes metadata rules, and problems reported one
// run at a time.
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ConfigError, loadEnvironment, type ConfigProblem } from '../../workflows-lib/src/environment/index.js'
import { renderObserverFiles } from '../../workflows-lib/src/render/index.js'
import { minimalYaml, writeEnvironment } from '../support/environments.js'

async function problems(location: string, opts?: Parameters<typeof loadEnvironment>[1]): Promise<ConfigProblem[]> {
  try {
    await loadEnvironment(location, opts)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected the environment to be rejected')
}

const problemsOf = (yaml: string, opts?: Parameters<typeof writeEnvironment>[1]): Promise<ConfigProblem[]> => problems(writeEnvironment(yaml, opts))

const withObserver = (host: string): string => minimalYaml.replace('host: 10.0.0.1', `host: ${JSON.stringify(host)}`)

describe('the environment directory name', () => {
  // The exact name from the review: before the fix these lines landed in the observer's zoo.cfg.
  const hostile = 'x\nskipACL=yes\nserver.200=attacker.example:2888:3888\n#'

  it('is refused when it could write lines into a rendered file', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'zk-env-name-'))
    const dir = path.join(base, 'environments', hostile)
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, 'environment.yaml'), minimalYaml)
    writeFileSync(path.join(dir, 'values.yaml'), '{}\n')
    const [problem] = await problems(dir)
    expect(problem).toMatchObject({ line: 1, column: 1 })
    expect(problem.file).toBe(path.join(dir, 'environment.yaml'))
    expect(problem.message).toContain('must be a DNS label')
    // The name is shown escaped, on the message's one line.
    expect(problem.message).toContain(JSON.stringify(hostile))
    expect(problem.message).not.toContain('\n')
  })

  it.each(['Prod', 'prod_gz', '-prod', 'prod.gz', 'a'.repeat(64)])('refuses %j', async name => {
    const [problem] = await problemsOf(minimalYaml, { name })
    expect(problem.message).toMatch(/must be a DNS label/)
  })

  it('accepts a DNS label', async () => {
    await expect(loadEnvironment(writeEnvironment(minimalYaml, { name: 'prod-gz-2' }))).resolves.toMatchObject({ name: 'prod-gz-2' })
  })

  it('cannot add a line to a rendered file even when a renderer is handed a bad name', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml))
    const files = renderObserverFiles({
      environment: { name: hostile },
      observers: env.observers!,
      host: env.observers!.hosts[0],
      servers: ['10.1.0.1']
    })
    for (const text of Object.values(files)) {
      expect(text.split('\n')).not.toContain('skipACL=yes')
      expect(text.split('\n').some((line: string) => line.startsWith('server.200'))).toBe(false)
    }
  })
})

describe('paths are checked by what they resolve to', () => {
  it('refuses a values file that is a symlink out of the environment', async () => {
    const dir = writeEnvironment(minimalYaml, { values: null })
    const outside = path.join(mkdtempSync(path.join(os.tmpdir(), 'zk-outside-')), 'secret.yaml')
    writeFileSync(outside, 'a: 1\n')
    symlinkSync(outside, path.join(dir, 'values.yaml'))
    const [problem] = await problems(dir)
    expect(problem).toMatchObject({ field: 'chart.values', line: 1, column: 1 })
    expect(problem.message).toMatch(/outside .* \(through a symlink\): refused/)
  })

  it('refuses a values path through a symlinked directory', async () => {
    const dir = writeEnvironment(minimalYaml + 'chart:\n  values: shared/values.yaml\n', { values: null })
    const outside = mkdtempSync(path.join(os.tmpdir(), 'zk-outside-'))
    writeFileSync(path.join(outside, 'values.yaml'), 'a: 1\n')
    symlinkSync(outside, path.join(dir, 'shared'))
    const [problem] = await problems(dir)
    expect(problem).toMatchObject({ field: 'chart.values', line: 11, column: 11 })
    expect(problem.message).toMatch(/outside/)
  })

  it('accepts a symlink that stays inside the environment', async () => {
    const dir = writeEnvironment(minimalYaml, { values: null })
    writeFileSync(path.join(dir, 'real-values.yaml'), 'a: 1\n')
    symlinkSync('real-values.yaml', path.join(dir, 'values.yaml'))
    await expect(loadEnvironment(dir)).resolves.toMatchObject({ name: 'test' })
  })

  it('refuses a chart.path through a symlink to /etc, and one that leaves the repository', async () => {
    const dir = writeEnvironment(minimalYaml + 'chart:\n  path: charts/zk\n')
    const repository = path.resolve(dir, '..', '..')
    mkdirSync(path.join(repository, 'charts'))
    symlinkSync('/etc', path.join(repository, 'charts', 'zk'))
    const [problem] = await problems(dir, { repository })
    expect(problem).toMatchObject({ field: 'chart.path', line: 11 })
    expect(problem.message).toMatch(/resolves to "\/etc", outside the repository/)
  })

  it('accepts a chart directory inside the repository, and says when it does not exist', async () => {
    const dir = writeEnvironment(minimalYaml + 'chart:\n  path: charts/zk\n')
    const repository = path.resolve(dir, '..', '..')
    expect((await problems(dir, { repository }))[0].message).toMatch(/"charts\/zk" does not exist/)
    mkdirSync(path.join(repository, 'charts', 'zk'), { recursive: true })
    await expect(loadEnvironment(dir, { repository })).resolves.toMatchObject({ chart: { source: { kind: 'path', path: 'charts/zk' } } })
  })

  it('refuses a FIFO as the values file at once, without reading from it', async () => {
    const dir = writeEnvironment(minimalYaml, { values: null })
    execFileSync('mkfifo', [path.join(dir, 'values.yaml')])
    const [problem] = await problems(dir)
    expect(problem.message).toContain('is a FIFO (named pipe), not a regular file')
  })

  it('refuses a device and a directory, naming what they are', async () => {
    const device = writeEnvironment(minimalYaml, { values: null })
    // A character device of our own (the same numbers as /dev/null), inside the environment.
    execFileSync('mknod', [path.join(device, 'values.yaml'), 'c', '1', '3'])
    expect((await problems(device))[0].message).toContain('is a device, not a regular file')
    const directory = writeEnvironment(minimalYaml, { values: null })
    mkdirSync(path.join(directory, 'values.yaml'))
    expect((await problems(directory))[0].message).toContain('is a directory, not a regular file')
  })

  it('refuses an environment.yaml that is a FIFO', async () => {
    const dir = writeEnvironment(minimalYaml)
    renameSync(path.join(dir, 'environment.yaml'), path.join(dir, 'old.yaml'))
    execFileSync('mkfifo', [path.join(dir, 'environment.yaml')])
    expect((await problems(dir))[0].message).toContain('is a FIFO (named pipe), not a regular file')
  })
})

describe('durations are bounded', () => {
  it.each([
    ['observerJoin: 300h', 'timeouts.observerJoin', /300h is out of range: use 1s to 1h/],
    ['podReady: 0s', 'timeouts.podReady', /0s is out of range: use 1s to 1h/],
    ['loadBalancer: 999999999999h', 'timeouts.loadBalancer', /must be a duration/],
    ['podReady: 500ms', 'timeouts.podReady', /500ms is out of range/]
  ])('%s', async (line, field, message) => {
    const list = await problemsOf(`${minimalYaml}timeouts:\n  ${line}\n`)
    expect(list).toEqual([expect.objectContaining({ field, line: 11, message: expect.stringMatching(message) })])
  })

  it('bounds the ServiceMonitor interval the same way', async () => {
    const list = await problemsOf(`${minimalYaml}monitoring:\n  serviceMonitor:\n    interval: 48h\n`)
    expect(list).toEqual([expect.objectContaining({ field: 'monitoring.serviceMonitor.interval', line: 12 })])
  })
})

describe('YAML input is bounded and linear', () => {
  it('finds a duplicate key among 40,000 at its line (the old check was quadratic)', async () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}: ${i}`)
    keys.push('k17: again')
    const list = await problemsOf(minimalYaml, { values: `${keys.join('\n')}\n` })
    expect(list).toEqual([expect.objectContaining({ line: 40_001, column: 1, message: expect.stringContaining('"k17" is repeated') })])
  })

  it('refuses files over the documented size, naming the limit', async () => {
    const values = await problemsOf(minimalYaml, { values: `a: "${'x'.repeat(1024 * 1024)}"\n` })
    expect(values[0].message).toMatch(/values file "values.yaml" has 1048582 bytes, more than the 1048576 allowed/)
    const environment = await problemsOf(`${minimalYaml}# ${'x'.repeat(70_000)}\n`)
    expect(environment[0]).toMatchObject({ line: 1, column: 1, message: expect.stringMatching(/more than the 65536 allowed/) })
  })

  it('locates an alias bomb at its first alias', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)
    ]
    const list = await problemsOf(minimalYaml, { values: `${bomb.join('\n')}\n` })
    expect(list).toEqual([expect.objectContaining({ line: 2, column: 8, message: expect.stringContaining('aliases expand to too many nodes') })])
  })

  it('refuses nesting too deep to walk, with a location', async () => {
    const list = await problemsOf(minimalYaml, { values: `a: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n` })
    expect(list[0]).toMatchObject({ line: expect.any(Number), message: expect.stringMatching(/^YAML: /) })
  })
})

describe('hosts', () => {
  it('renders IPv6 observers and servers in brackets, as ZooKeeper parses them', async () => {
    const env = await loadEnvironment(writeEnvironment(withObserver('fd00::1') + 'monitoring: { enabled: false }\n'))
    const { 'zoo.cfg': cfg } = renderObserverFiles({
      environment: env,
      observers: env.observers!,
      host: env.observers!.hosts[0],
      servers: ['fd00::a', '10.0.0.2', 'zk.example']
    })
    expect(cfg).toContain('server.1=[fd00::a]:2888:3888\n')
    expect(cfg).toContain('server.2=10.0.0.2:2888:3888\n')
    expect(cfg).toContain('server.3=zk.example:2888:3888\n')
    expect(cfg).toContain('server.101=[fd00::1]:2888:3888:observer\n')
  })

  it.each([
    ['fe80::1%eth0', /zone id/],
    ['999.999.999.999', /not an IPv4 address/],
    ['10.104.170', /not an IPv4 address/],
    ['-oProxyCommand=x', /not a hostname or IP address/],
    ['host.123', /not a hostname or IP address/]
  ])('refuses %j', async (host, message) => {
    const list = await problemsOf(withObserver(host))
    expect(list).toContainEqual(expect.objectContaining({ field: 'observers.hosts[0].host', line: 9, message: expect.stringMatching(message) }))
  })

  it('sees ::1 and 0:0:0:0:0:0:0:1 as one host, and EXAMPLE.org as example.org', async () => {
    const yaml = (a: string, b: string): string =>
      `${minimalYaml}    - id: 102\n      host: "${b}"\n`.replace('host: 10.0.0.1', `host: "${a}"`) + 'monitoring: { enabled: false }\n'
    expect(await problemsOf(yaml('::1', '0:0:0:0:0:0:0:1'))).toEqual([
      expect.objectContaining({ field: 'observers.hosts[1].host', message: expect.stringContaining('already listed as observers.hosts[0]') })
    ])
    expect(await problemsOf(yaml('example.org', 'EXAMPLE.org'))).toHaveLength(1)
  })

  it('refuses a server address the cloud or an input gives that is not a host', async () => {
    const env = await loadEnvironment(writeEnvironment(minimalYaml))
    const render = (servers: string[]) => () =>
      renderObserverFiles({ environment: env, observers: env.observers!, host: env.observers!.hosts[0], servers })
    expect(render(['10.0.0.1\nskipACL=yes'])).toThrow(/server address 0 \("10.0.0.1\\nskipACL=yes"\) is not a hostname/)
    expect(render(['fe80::1%eth0'])).toThrow(/zone id/)
  })
})

describe('strings and Kubernetes metadata', () => {
  it('bounds every string (a long subnet is refused by length, not accepted)', async () => {
    const list = await problemsOf(`${minimalYaml}expose:\n  cloud: tke\n  subnet: subnet-${'x'.repeat(300)}\n`)
    expect(list).toEqual([expect.objectContaining({ field: 'expose.subnet', line: 12, message: 'is too long: at most 255 characters' })])
  })

  it.each([
    ['$(id)', /must be a label value/],
    ['a'.repeat(64), /is too long: at most 63 characters/],
    ['-x', /must be a label value/]
  ])('refuses the label value %j', async (value, message) => {
    const list = await problemsOf(`${minimalYaml}monitoring:\n  labels:\n    team: "${value}"\n`)
    expect(list).toEqual([expect.objectContaining({ field: 'monitoring.labels.team', line: 12, message: expect.stringMatching(message) })])
  })

  it.each([
    ['Example.com/x', /prefix that is not a DNS subdomain/],
    [`${'a'.repeat(260)}.io/x`, /prefix that is not a DNS subdomain/],
    ['x/-y', /is not a valid name/],
    ['a/b/c', /key "a\/b\/c"/]
  ])('refuses the annotation key %j, saying which rule it breaks', async (key, message) => {
    const list = await problemsOf(`${minimalYaml}expose:\n  annotations:\n    "${key}": "v"\n`)
    expect(list).toEqual([expect.objectContaining({ field: `expose.annotations.${key}`, line: 12, message: expect.stringMatching(message) })])
  })

  it('reports schema and semantic problems in one run', async () => {
    const list = await problemsOf(minimalYaml.replace('id: 101', 'id: 2') + 'expose:\n  cloudd: tke\ntimeouts:\n  podReady: 2h\n')
    expect(list.map(p => p.field).sort()).toEqual(['expose.cloudd', 'observers.hosts[0].id', 'timeouts.podReady'])
  })
})
