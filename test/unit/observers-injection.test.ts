// Hostile values on their way to the observer VMs: refused by validation (environment.yaml and
// action inputs) before any key is written or any connection made. Quoting, the second line of
// defence, is tested in ssh-quote.test.ts and observers-remote-script.test.ts.
import { describe, expect, it } from '@jest/globals'
import { readdirSync } from 'node:fs'
import { parseJumpHost } from '../../workflows-lib/src/runner/inputs.js'
import { SecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { ConfigError, loadEnvironment } from '../../workflows-lib/src/environment/index.js'
import { deployObservers } from '../../workflows-lib/src/steps/deploy-observers.js'
import { minimalYaml, writeEnvironment } from '../support/environments.js'

const hostile = ['$(reboot)', '`reboot`', '; rm -rf /', 'a && reboot', 'x\nreboot', "it's", '-oProxyCommand=reboot']

async function problemFor(yaml: string): Promise<{ field: string; message: string }[]> {
  try {
    await loadEnvironment(writeEnvironment(yaml))
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(p => ({ field: p.field, message: p.message }))
    throw error
  }
  throw new Error('the environment was accepted')
}

describe('hostile values in environment.yaml are refused', () => {
  it.each(hostile)('observers.directory containing %j', async value => {
    const problems = await problemFor(`${minimalYaml}  directory: ${JSON.stringify(`/data/${value}`)}\n`)
    expect(problems).toContainEqual(expect.objectContaining({ field: 'observers.directory' }))
  })

  it.each(hostile)('observers.ssh.user %j', async value => {
    const problems = await problemFor(`${minimalYaml}  ssh:\n    user: ${JSON.stringify(value)}\n`)
    expect(problems).toContainEqual(
      expect.objectContaining({ field: 'observers.ssh.user', message: expect.stringContaining('not a valid login name') })
    )
  })

  it.each(hostile)('observers.ssh.jumpHost.host %j', async value => {
    const problems = await problemFor(`${minimalYaml}  ssh:\n    jumpHost:\n      host: ${JSON.stringify(value)}\n`)
    expect(problems).toContainEqual(
      expect.objectContaining({ field: 'observers.ssh.jumpHost.host', message: expect.stringContaining('not a hostname or IP address') })
    )
  })

  it.each(hostile)('observers.hosts[].host %j', async value => {
    const problems = await problemFor(minimalYaml.replace('host: 10.0.0.1', `host: ${JSON.stringify(value)}`))
    expect(problems).toContainEqual(expect.objectContaining({ field: 'observers.hosts[0].host' }))
  })
})

describe('hostile action inputs are refused before anything connects', () => {
  it.each(hostile)('a server address %j: no key written, no connection', async value => {
    const environment = await loadEnvironment(writeEnvironment(minimalYaml))
    const files = new SecretFiles()
    try {
      await expect(
        deployObservers({
          environment,
          servers: ['10.0.0.11', value, '10.0.0.13'],
          credentials: {
            privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n',
            knownHosts: '10.0.0.1 ssh-ed25519 AAAA\n'
          },
          secretFiles: files
        })
      ).rejects.toThrow(/^server address 1 \(.*\) is not a hostname or IP address$/s)
      expect(readdirSync(files.directory)).toEqual([])
    } finally {
      files.remove()
    }
  })

  it.each([...hostile.map(h => `deploy@${h}`), ...hostile.map(h => `${h}@bastion.example.com`), 'bastion:99999', 'bastion:22:22'])(
    'jump-host %j',
    value => {
      expect(() => parseJumpHost(value)).toThrow(/^input "jump-host": /)
    }
  )

  it.each([
    ['bastion.example.com', { host: 'bastion.example.com', user: undefined, port: 22 }],
    ['ops@10.0.0.5:2222', { host: '10.0.0.5', user: 'ops', port: 2222 }],
    ['ops@[fd00::5]:2222', { host: 'fd00::5', user: 'ops', port: 2222 }]
  ])('jump-host %j is read as user, host and port', (value, expected) => {
    expect(parseJumpHost(value)).toEqual(expected)
  })
})
