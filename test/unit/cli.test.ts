import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { run } from '../../workflows-lib/src/cli/main.js'
import { environmentSchema } from '../../workflows-lib/src/environment/schema.js'
import { minimalYaml, repoRoot, writeEnvironment } from '../support/environments.js'

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await run(args, { out: t => (out += t), err: t => (err += t), cwd: repoRoot, packageRoot: repoRoot, which: async t => t })
  return { code, out, err }
}

describe('zk-rollout CLI', () => {
  it('plans the example environment as text', async () => {
    const { code, out } = await cli(['plan', 'environments/example', '--servers', '10.1.0.12,10.1.0.13,10.1.0.6'])
    expect(code).toBe(0)
    expect(out).toContain('Plan for environment "example" (environments/example/environment.yaml)')
    expect(out).toContain('1. deploy-chart: helm upgrade --install zk charts/zookeeper into namespace kube-public')
    expect(out).toContain('server.3=10.1.0.6:2888:3888')
  })

  it('plans as JSON for machines', async () => {
    const { code, out } = await cli(['plan', 'environments/example', '--format', 'json'])
    expect(code).toBe(0)
    const plan = JSON.parse(out)
    expect(plan.environment.name).toBe('example')
    expect(plan.servers).toEqual(['<zk0>', '<zk1>', '<zk2>'])
    expect(plan.files).toHaveLength(8)
  })

  it('--base plans a size change against the environment at a git revision, one voter per step', async () => {
    const repo = mkdtempSync(path.join(os.tmpdir(), 'zk-cli-base-'))
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' })
    git('init', '-q')
    mkdirSync(path.join(repo, 'environments', 'prod'), { recursive: true })
    const file = path.join(repo, 'environments', 'prod', 'environment.yaml')
    writeFileSync(file, minimalYaml)
    writeFileSync(path.join(repo, 'environments', 'prod', 'values.yaml'), '{}\n')
    git('add', '.')
    git('commit', '-qm', 'three servers')
    writeFileSync(file, minimalYaml.replace('servers: 3', 'servers: 5'))
    let out = ''
    let err = ''
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), cwd: repo, packageRoot: repoRoot, which: async (t: string) => t }
    const code = await run(['plan', 'environments/prod', '--base', 'HEAD'], io)
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toContain('1. scale-ensemble: scale 3 -> 4 -> 5')
    expect(out).toContain('current size 3 from HEAD:environments/prod/environment.yaml')
    expect(out).toContain(
      'step 3 -> 4: start zk-zookeeper-3 (new, myid 4); restart zk-zookeeper-0, zk-zookeeper-1, zk-zookeeper-2: followers first, the leader last'
    )
    expect(out).toContain('then observers 101 get the 5-server list')
    expect(out).toContain('2. deploy-chart:')
    // A cluster that cannot be asked: said on stderr, and the base revision is used instead.
    out = ''
    expect(
      await run(['plan', 'environments/prod', '--base', 'HEAD', '--kubeconfig', path.join(repo, 'no-such-kubeconfig'), '--kubectl', 'false'], io)
    ).toBe(0)
    expect(err).toMatch(/^zk-rollout: cannot read the live size \(.*\); comparing with --base HEAD\n$/)
    expect(out).toContain('current size 3 from HEAD:environments/prod/environment.yaml')
    err = ''
    // Shrinking 5 -> 3, server.4 votes until the last step: observer id 4 is refused in the plan.
    git('commit', '-qam', 'five servers')
    writeFileSync(file, minimalYaml.replace('id: 101', 'id: 4'))
    out = ''
    err = ''
    expect(await run(['plan', 'environments/prod', '--base', 'HEAD'], io)).toBe(1)
    expect(err).toContain('zk-rollout: a rollout would be refused: observer id 4 would collide')
    expect(out).toContain('1. scale-ensemble: 5 -> 3 servers: refused')
    expect(out).toContain('observer id 4 would collide with participant id 4 of the 5-server configuration')
    // The same size: no scaling step; an unknown revision: a clear error.
    writeFileSync(file, minimalYaml.replace('servers: 3', 'servers: 5'))
    out = ''
    expect(await run(['plan', 'environments/prod', '--base', 'HEAD'], io)).toBe(0)
    expect(out).not.toContain('scale-ensemble')
    err = ''
    expect(await run(['plan', 'environments/prod', '--base', 'no-such-ref'], io)).toBe(1)
    expect(err).toContain('--base no-such-ref: cannot read environments/prod/environment.yaml at that revision')
    err = ''
    expect(await run(['plan', 'environments/prod', '--base=--output=/tmp/x'], io)).toBe(1)
    expect(err).toContain('is not a git revision name')
  })

  it('exits 1 with file:line:column on an invalid environment', async () => {
    const dir = writeEnvironment(minimalYaml.replace('servers: 3', 'servers: 2'))
    const { code, out, err } = await cli(['plan', dir])
    expect(code).toBe(1)
    expect(out).toBe('')
    expect(err).toMatch(/environment\.yaml:5:12: ensemble\.servers: 2 servers tolerate 0 failures/)
  })

  it('exits 1 on a bad --servers address', async () => {
    const { code, err } = await cli(['plan', 'environments/example', '--servers', '10.0.0.1,10.0.0.2,$(id)'])
    expect(code).toBe(1)
    expect(err).toContain('server address 2 ("$(id)") is not a hostname or IP address')
  })

  it.each([[[]], [['plan']], [['deploy', 'environments/example']], [['plan', 'x', '--format', 'xml']], [['plan', 'x', '--bogus']]])(
    'exits 2 with usage for %j',
    async args => {
      const { code, err } = await cli(args)
      expect(code).toBe(2)
      expect(err).toContain('Usage: zk-rollout plan')
    }
  )

  // For drift, 2 means "drift found": a usage error there must not look like one.
  it.each([[['drift']], [['drift', 'x', '--format', 'yaml']], [['drift', 'x', '--heal', 'all']], [['drift', 'x', '--jump-host', 'b']]])(
    'exits 1 with usage for %j',
    async args => {
      const { code, err } = await cli(args)
      expect(code).toBe(1)
      expect(err).toContain('zk-rollout drift <environment dir>')
    }
  )

  it('prints the schema, and the committed schema file matches it', async () => {
    const { code, out } = await cli(['schema'])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual(environmentSchema)
    const committed = readFileSync(path.join(repoRoot, 'workflows-lib', 'schema', 'environment.schema.json'), 'utf8')
    expect(committed).toBe(out)
  })
})
