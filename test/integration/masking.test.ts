// Every secret field of a kubeconfig is masked on its own. The actions run from their built
// dist/ as a runner starts them, with real kubectl; the runner's masking (replace each string
// registered with ::add-mask:: wherever it appears) is applied to everything they printed,
// wrote to the step summary or set as an output, and no secret may survive it.
import { describe, expect, it } from '@jest/globals'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { stringify } from 'yaml'
import { sandboxTools } from '../sandbox/tools.js'
import { runActionDist, type ActionRun } from '../support/run-action.js'

const tools = sandboxTools()
const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-masking-'))

// An exec credential plugin that fails, printing what it was given: kubectl passes its stderr
// on, our error message carries kubectl's, so without masks these secrets reach the log.
const plugin = path.join(dir, 'credential-plugin')
writeFileSync(plugin, '#!/bin/sh\necho "plugin: token $PLUGIN_TOKEN, args $*" >&2\nexit 1\n')
chmodSync(plugin, 0o755)

const secrets = {
  token: 'tok-9f8e7d6c5b4a39281706',
  password: 'pass-w0rd-1234567',
  clientKey: 'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Fo',
  refresh: 'refresh-5e6f7a8b9c0d1e2f',
  pluginEnv: 'env-secret-a1b2c3d4e5f6',
  pluginArg: 'arg-secret-0a9b8c7d6e5f'
}

function kubeconfig(json: boolean): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'plugin' } }],
    'current-context': 'ctx',
    users: [
      {
        name: 'plugin',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: plugin,
            args: ['get-token', `--token=${secrets.pluginArg}`],
            env: [{ name: 'PLUGIN_TOKEN', value: secrets.pluginEnv }],
            interactiveMode: 'Never'
          }
        }
      },
      { name: 'static', user: { token: secrets.token, 'client-key-data': secrets.clientKey } },
      { name: 'basic', user: { username: 'admin', password: secrets.password } },
      {
        name: 'oidc',
        user: { 'auth-provider': { name: 'oidc', config: { 'refresh-token': secrets.refresh, 'idp-issuer-url': 'https://idp.example' } } }
      }
    ]
  }
  return json ? JSON.stringify(config, null, 2) : stringify(config)
}

/** What the runner shows: every registered mask replaced by ***, in every output channel. */
function masked(run: ActionRun): { masks: string[]; shown: string } {
  const masks = [...run.stdout.matchAll(/^::add-mask::(.*)$/gm)].map(m => m[1])
  let shown = [run.stdout.replace(/^::add-mask::.*$/gm, ''), run.stderr, run.summary, ...Object.values(run.outputs)].join('\n')
  for (const mask of [...masks].sort((a, b) => b.length - a.length)) shown = shown.split(mask).join('***')
  return { masks, shown }
}

describe.each([
  ['YAML', false],
  ['JSON', true]
])('a %s kubeconfig given as the kubeconfig input', (_, json) => {
  it('has each credential masked, and none survives in any output', async () => {
    const run = await runActionDist('register-monitoring', {
      environment: 'environments/example',
      kubeconfig: kubeconfig(json),
      kubectl: tools.kubectl
    })
    expect(run.exitCode).not.toBe(0)
    const raw = [run.stdout, run.stderr, run.summary].join('\n')
    // The test could fail: the plugin's secrets really were in what the action printed.
    expect(raw).toContain(secrets.pluginEnv)
    expect(raw).toContain(secrets.pluginArg)
    const { masks, shown } = masked(run)
    for (const secret of Object.values(secrets)) {
      expect(masks).toContain(secret)
      expect(shown).not.toContain(secret)
    }
    // Harmless parts stay readable: only credentials are masked.
    for (const readable of ['Config', 'https://127.0.0.1:1', 'admin', plugin, 'get-token']) expect(masks).not.toContain(readable)
    expect(shown).toContain('plugin: token ***')
  })
})
