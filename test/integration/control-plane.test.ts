// The sandbox control plane (etcd + kube-apiserver + kube-controller-manager 1.20.2) answers the
// real kubectl and helm binaries, two of them run side by side, and stop() leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startControlPlane, type ControlPlane } from '../sandbox/control-plane.js'
import { sandboxTools, type SandboxTools } from '../sandbox/tools.js'
import { listTrackedAlive, stopAllTracked, isProcessAlive } from '../support/processes.js'
import { removeScanned } from '../support/secret-hygiene.js'

const execFileAsync = promisify(execFile)
// Starting a control plane takes seconds; jest's default of 5 s is for unit tests.
const TIMEOUT_MS = 120_000

let tools: SandboxTools
let baseDir: string
let cp: ControlPlane

// kubectl and helm keep caches and config under HOME: give them the test's directory.
async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { env: { PATH: process.env.PATH, HOME: baseDir }, timeout: 60_000 })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err })
  }
}

beforeAll(async () => {
  tools = sandboxTools()
  baseDir = mkdtempSync(join(tmpdir(), 'zk-rollout-control-plane-'))
  cp = await startControlPlane({ baseDir, name: 'first' })
}, TIMEOUT_MS)

afterAll(async () => {
  await stopAllTracked()
  if (baseDir) removeScanned(baseDir)
}, 60_000)

describe('sandbox control plane', () => {
  it(
    'serves Kubernetes v1.20.2 to kubectl 1.35 and 1.33',
    async () => {
      for (const kubectl of [tools.kubectl, tools.kubectl133]) {
        const version = JSON.parse(await run(kubectl, ['--kubeconfig', cp.kubeconfig, 'version', '-o', 'json']))
        expect(version.serverVersion.gitVersion).toBe('v1.20.2')
      }
    },
    TIMEOUT_MS
  )

  it(
    'lists the built-in namespaces',
    async () => {
      const names = (await run(tools.kubectl, ['--kubeconfig', cp.kubeconfig, 'get', 'ns', '-o', 'name'])).split('\n')
      expect(names).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']))
    },
    TIMEOUT_MS
  )

  it(
    'stores a namespace and a ConfigMap created with kubectl',
    async () => {
      const kubectl = (...args: string[]): Promise<string> => run(tools.kubectl, ['--kubeconfig', cp.kubeconfig, ...args])
      await kubectl('create', 'namespace', 'demo')
      await kubectl('-n', 'demo', 'create', 'configmap', 'settings', '--from-literal=tickTime=2000')
      expect(await kubectl('-n', 'demo', 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.tickTime}')).toBe('2000')
      // The serviceaccount controller runs: the new namespace gets its default ServiceAccount.
      await kubectl('-n', 'demo', 'wait', '--for=create', 'serviceaccount/default', '--timeout=30s')
    },
    TIMEOUT_MS
  )

  it(
    'installs a local chart with helm 3 and helm 4 and lists both releases',
    async () => {
      const chart = join(baseDir, 'chart')
      mkdirSync(join(chart, 'templates'), { recursive: true })
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.1.0\n')
      writeFileSync(
        join(chart, 'templates', 'configmap.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n'
      )
      expect(await run(tools.helm3, ['version', '--short'])).toMatch(/^v3\.18\.0/)
      expect(await run(tools.helm4, ['version', '--short'])).toMatch(/^v4\.1\.4/)
      await run(tools.helm3, ['--kubeconfig', cp.kubeconfig, 'install', 'by-helm3', chart, '-n', 'demo', '--wait'])
      await run(tools.helm4, ['--kubeconfig', cp.kubeconfig, 'install', 'by-helm4', chart, '-n', 'demo', '--wait'])
      for (const helm of [tools.helm3, tools.helm4]) {
        const releases = JSON.parse(await run(helm, ['--kubeconfig', cp.kubeconfig, 'ls', '-A', '-o', 'json'])) as { name: string; status: string }[]
        expect(releases.map(r => [r.name, r.status]).sort()).toEqual([
          ['by-helm3', 'deployed'],
          ['by-helm4', 'deployed']
        ])
      }
      const rendered = await run(tools.kubectl, [
        '--kubeconfig',
        cp.kubeconfig,
        '-n',
        'demo',
        'get',
        'configmap',
        'by-helm4',
        '-o',
        'jsonpath={.data.kubeVersion}'
      ])
      expect(rendered).toBe('v1.20.2')
    },
    TIMEOUT_MS
  )

  it(
    'runs a second control plane independently of the first',
    async () => {
      const second = await startControlPlane({ baseDir, name: 'second' })
      try {
        expect(second.apiUrl).not.toBe(cp.apiUrl)
        expect(second.baseDir).not.toBe(cp.baseDir)
        expect(second.pids.filter(pid => cp.pids.includes(pid))).toEqual([])
        await run(tools.kubectl, ['--kubeconfig', second.kubeconfig, 'create', 'namespace', 'only-in-second'])
        const inSecond = await run(tools.kubectl, ['--kubeconfig', second.kubeconfig, 'get', 'ns', '-o', 'name'])
        const inFirst = await run(tools.kubectl, ['--kubeconfig', cp.kubeconfig, 'get', 'ns', '-o', 'name'])
        expect(inSecond).toContain('namespace/only-in-second')
        expect(inSecond).not.toContain('namespace/demo')
        expect(inFirst).not.toContain('namespace/only-in-second')
        // Each apiserver accepts only its own token.
        await expect(
          run(tools.kubectl, ['--server', second.apiUrl, '--certificate-authority', second.caFile, '--token', cp.token, 'get', 'ns'])
        ).rejects.toThrow(/Unauthorized/)
      } finally {
        await second.stop()
      }
      expect(second.pids.filter(isProcessAlive)).toEqual([])
      // The first one is untouched by the second's shutdown.
      expect(await run(tools.kubectl, ['--kubeconfig', cp.kubeconfig, 'get', 'ns', 'demo', '-o', 'name'])).toBe('namespace/demo\n')
    },
    TIMEOUT_MS
  )

  it(
    'stop() ends every process it started',
    async () => {
      await cp.stop()
      expect(cp.pids.filter(isProcessAlive)).toEqual([])
      expect(listTrackedAlive()).toEqual([])
      await cp.stop() // a second call is harmless
    },
    TIMEOUT_MS
  )
})
