import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
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

  it('prints the schema, and the committed schema file matches it', async () => {
    const { code, out } = await cli(['schema'])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual(environmentSchema)
    const committed = readFileSync(path.join(repoRoot, 'workflows-lib', 'schema', 'environment.schema.json'), 'utf8')
    expect(committed).toBe(out)
  })
})
