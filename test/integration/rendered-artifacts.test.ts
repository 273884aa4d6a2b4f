// Rendered files checked by other people's validators: the Kubernetes and prometheus-operator
// schemas (kubernetes-models) and Debian's docker-compose 1.29 (`config -q` needs no engine).
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { Endpoints, Service } from 'kubernetes-models/v1'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import { renderMonitoring, renderObserverCompose, renderServerServices, type Manifest } from '../../workflows-lib/src/render/index.js'
import { exampleDir, minimalYaml, writeEnvironment } from '../support/environments.js'

const run = promisify(execFile)

const environments = async (): Promise<Environment[]> => [
  await loadEnvironment(exampleDir),
  await loadEnvironment(writeEnvironment(minimalYaml + '  metrics: exporter\nexpose:\n  cloud: aws\n', { name: 'aws-exporter' })),
  await loadEnvironment(writeEnvironment(minimalYaml + 'expose:\n  cloud: azure\n  subnet: zk-subnet\n', { name: 'azure' }))
]

function validateManifest(m: Manifest): void {
  // The model classes carry the schema of their kind; validate() throws on any violation.
  switch (m.kind) {
    case 'Service':
      return new Service(m as never).validate()
    case 'Endpoints':
      return new Endpoints(m as never).validate()
    case 'ServiceMonitor':
      return new ServiceMonitor(m as never).validate()
    default:
      throw new Error(`no schema for ${m.kind}`)
  }
}

describe('rendered Kubernetes manifests', () => {
  it('validate against the Kubernetes and prometheus-operator schemas', async () => {
    let checked = 0
    for (const env of await environments()) {
      const manifests = [...renderServerServices(env)]
      if (env.observers && env.monitoring) {
        const m = renderMonitoring({ ...env, observers: env.observers, monitoring: env.monitoring })
        manifests.push(m.service, m.endpoints, ...(m.serviceMonitor ? [m.serviceMonitor] : []))
      }
      for (const manifest of manifests) {
        expect(() => validateManifest(manifest)).not.toThrow()
        checked++
      }
    }
    expect(checked).toBe(3 * 3 + 3 * 3)
  })

  it('the validator itself rejects a broken Service (the check can fail)', () => {
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'high' }] } })).toThrow()
  })
})

describe('rendered docker-compose.yaml', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-compose-'))
  const composeConfig = async (text: string, name: string): Promise<string> => {
    const file = path.join(dir, name)
    writeFileSync(file, text)
    writeFileSync(path.join(dir, 'zoo.cfg'), '')
    writeFileSync(path.join(dir, 'myid'), '')
    const { stdout } = await run('docker-compose', ['-f', file, 'config'], { cwd: dir })
    return stdout
  }

  it('passes docker-compose config for native metrics and the exporter option', async () => {
    for (const env of await environments()) {
      for (const host of env.observers?.hosts ?? []) {
        const text = renderObserverCompose({ environment: env, observers: env.observers!, host })
        const resolved = await composeConfig(text, `${env.name}-${host.id}.yaml`)
        // docker-compose resolved our file: the port mapping stayed a string, ZOO_MY_ID kept.
        expect(resolved).toContain(`ZOO_MY_ID: '${host.id}'`)
        expect(resolved).toMatch(/published: 2181/)
        if (env.observers!.metrics === 'exporter') expect(resolved).toContain('josdotso/zookeeper-exporter:v1.1.2')
      }
    }
  })

  it('docker-compose rejects what it cannot run (the check can fail)', async () => {
    await expect(composeConfig('name: zk\nservices:\n  z:\n    image: zookeeper:3.9.4\n', 'bad.yaml')).rejects.toThrow(/invalid/)
  })
})
