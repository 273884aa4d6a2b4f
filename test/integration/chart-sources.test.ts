// deploy-chart with each kind of chart source (a Helm repository served over loopback HTTP, a
// local chart directory), rollback, the one-server-at-a-time guard, and expose-servers removing
// the Services of pods beyond the current size.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import type { Helm } from '../../workflows-lib/src/kube/helm.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { deployChart, rollbackChart } from '../../workflows-lib/src/steps/deploy-chart.js'
import { exposeServers } from '../../workflows-lib/src/steps/expose-servers.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { repoRoot, writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, productClients, roots, sandboxValues, useSandboxToolEnv } from '../support/kube.js'

const run = promisify(execFile)
let sandbox: Sandbox
let kubectl: Kubectl
let helm: Helm
let repoServer: Server
let repoUrl: string

beforeAll(async () => {
  sandbox = await startSandbox({ addressBlock: 73, loadBalancer: { delayMs: 100 } })
  useSandboxToolEnv(sandbox)
  ;({ kubectl, helm } = productClients(sandbox, sandbox.helm4))
  // A real chart repository: helm package + helm repo index, served on loopback.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-chart-repo-'))
  await run(sandbox.helm4, ['package', path.join(repoRoot, 'charts', 'zookeeper'), '-d', dir], { env: sandbox.env })
  repoServer = createServer((req, res) => {
    const file = path.join(dir, path.basename(req.url ?? '/'))
    if (!existsSync(file)) return res.writeHead(404).end()
    res.writeHead(200)
    createReadStream(file).pipe(res)
  })
  await new Promise<void>(resolve => repoServer.listen(0, '127.0.0.1', resolve))
  repoUrl = `http://127.0.0.1:${(repoServer.address() as AddressInfo).port}`
  await run(sandbox.helm4, ['repo', 'index', dir, '--url', repoUrl], { env: sandbox.env })
}, 120_000)

afterAll(async () => {
  repoServer?.close()
  await sandbox?.stop()
})

describe('chart sources', () => {
  it('installs a chart from a Helm repository at a pinned version, reading the StatefulSet from the release', async () => {
    const env = await loadEnvironment(
      writeEnvironment(
        kubeEnvironmentYaml({
          namespace: 'fromrepo',
          release: 'coord',
          extra: `chart:\n  repo: { url: "${repoUrl}", name: zookeeper, version: 0.1.0 }\n`
        }),
        { name: 'fromrepo', values: `${sandboxValues}replicas: 3\n` }
      )
    )
    const r = await deployChart({ env, helm, kubectl, roots })
    expect(r).toMatchObject({ revision: 1, chartVersion: '0.1.0', statefulSet: 'coord-zookeeper', replicas: 3, changed: true })
  })

  it('refuses a non-bundled chart whose values give another size than ensemble.servers', async () => {
    const env = await loadEnvironment(
      writeEnvironment(
        kubeEnvironmentYaml({
          namespace: 'mismatch',
          release: 'zk',
          extra: `chart:\n  repo: { url: "${repoUrl}", name: zookeeper, version: 0.1.0 }\n`
        }),
        { name: 'mismatch', values: `${sandboxValues}replicas: 5\n` }
      )
    )
    await expect(deployChart({ env, helm, kubectl, roots })).rejects.toThrow(
      /renders StatefulSet zk-zookeeper with 5 replicas but ensemble.servers is 3: set the chart's replica count in .*values\.yaml/
    )
  })

  it('installs a local chart directory relative to the repository', async () => {
    const repository = mkdtempSync(path.join(os.tmpdir(), 'zk-user-repo-'))
    mkdirSync(path.join(repository, 'charts'))
    cpSync(path.join(repoRoot, 'charts', 'zookeeper'), path.join(repository, 'charts', 'our-zk'), { recursive: true })
    const env = await loadEnvironment(
      writeEnvironment(kubeEnvironmentYaml({ namespace: 'local', release: 'zk', extra: 'chart:\n  path: charts/our-zk\n' }), {
        name: 'local',
        values: `${sandboxValues}replicas: 3\n`
      }),
      { repository }
    )
    const r = await deployChart({ env, helm, kubectl, roots: { ...roots, repository } })
    expect(r).toMatchObject({ revision: 1, statefulSet: 'zk-zookeeper', changed: true })
  })
})

describe('bundled chart lifecycle', () => {
  const yaml = (servers: number, extra = ''): string => kubeEnvironmentYaml({ namespace: 'life', release: 'zk', servers, extra })

  it('rolls back to the previous revision on request', async () => {
    const env1 = await loadEnvironment(writeEnvironment(yaml(3), { name: 'life', values: sandboxValues }))
    const first = await deployChart({ env: env1, helm, kubectl, roots })
    const env2 = await loadEnvironment(writeEnvironment(yaml(3), { name: 'life', values: `${sandboxValues}podAnnotations: { canary: "yes" }\n` }))
    const second = await deployChart({ env: env2, helm, kubectl, roots })
    expect(second).toMatchObject({ revision: first.revision + 1, previousRevision: first.revision, changed: true })
    await rollbackChart(helm, env2, first.revision)
    const now = await helm.status('zk', 'life')
    expect(now).toMatchObject({ revision: first.revision + 2, status: 'deployed' })
    expect(now!.manifest).not.toContain('canary')
    // After the rollback the first environment matches again: no new revision.
    expect(await deployChart({ env: env1, helm, kubectl, roots })).toMatchObject({ changed: false, revision: first.revision + 2 })
  })

  it('refuses to change the server count by more than one at a time', async () => {
    const env5 = await loadEnvironment(writeEnvironment(yaml(5), { name: 'life', values: sandboxValues }))
    await expect(deployChart({ env: env5, helm, kubectl, roots })).rejects.toThrow(
      /StatefulSet zk-zookeeper has 3 servers and the environment asks for 5: changing more than one server at a time can split the quorum.*Change it one server per rollout \(e\.g\. 3 -> 4\)/
    )
    expect((await helm.status('zk', 'life'))!.manifest).toContain('replicas: 3')
  })

  it('expose-servers removes the Services of pods beyond the current size', async () => {
    const five = await loadEnvironment(
      writeEnvironment(kubeEnvironmentYaml({ namespace: 'shrink', release: 'zk', servers: 5 }), { name: 'shrink', values: sandboxValues })
    )
    await sandbox.createNamespace('shrink')
    const wide = await exposeServers({ kubectl, env: five, timeoutMs: 30_000 })
    expect(wide.addresses).toHaveLength(5)
    const three = await loadEnvironment(
      writeEnvironment(kubeEnvironmentYaml({ namespace: 'shrink', release: 'zk', servers: 3 }), { name: 'shrink', values: sandboxValues })
    )
    const narrow = await exposeServers({ kubectl, env: three, timeoutMs: 30_000 })
    expect(narrow.outcome.deleted.sort()).toEqual(['Service/zk-lb-3', 'Service/zk-lb-4'])
    expect(narrow.outcome.unchanged).toHaveLength(3)
    expect(narrow.addresses).toEqual(wide.addresses.slice(0, 3))
  })
})
