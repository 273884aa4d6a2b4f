// The private ssh_config every connection uses, read back by the real ssh client (ssh -G prints
// the options it would use), plus the checks on the key and known-hosts inputs.
import { afterEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { SecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { writeSshClientConfig } from '../../workflows-lib/src/ssh/client-config.js'

const key = execFileSync('sh', ['-c', 'd=$(mktemp -d) && ssh-keygen -q -t ed25519 -N "" -f "$d/k" && cat "$d/k" && rm -r "$d"'], { encoding: 'utf8' })
const knownHosts = '10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7n3ib8u2hG3Wl1Q2Ezk1a0pA9w2U5Xh7m5qYq6vQyF\n'

let files: SecretFiles | undefined
afterEach(() => files?.remove())

function effectiveOptions(configFile: string): Map<string, string> {
  const out = execFileSync('ssh', ['-G', '-F', configFile, '-p', '22', '-l', 'deploy', '10.0.0.1'], { encoding: 'utf8' })
  return new Map(
    out
      .trim()
      .split('\n')
      .map(line => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)])
  )
}

describe('writeSshClientConfig', () => {
  it('makes ssh verify host keys against the given known_hosts only, with the given key only, never prompting', () => {
    files = new SecretFiles()
    const config = writeSshClientConfig(files, { privateKey: key, knownHosts })
    const options = effectiveOptions(config.configFile)
    expect(options.get('stricthostkeychecking')).toBe('true')
    expect(options.get('userknownhostsfile')).toBe(config.knownHostsFile)
    expect(options.get('globalknownhostsfile')).toBe('/dev/null')
    expect(options.get('updatehostkeys')).toBe('false')
    expect(options.get('batchmode')).toBe('yes')
    expect(options.get('identitiesonly')).toBe('yes')
    expect(options.get('identityfile')).toBe(`${files.directory}/id_observers`)
    expect(options.get('identityagent')).toBe('none')
    expect(options.get('passwordauthentication')).toBe('no')
    expect(options.get('forwardagent')).toBe('no')
    expect(readFileSync(config.configFile, 'utf8')).not.toMatch(/StrictHostKeyChecking (no|accept-new|off)/i)
  })

  it('writes the key, known_hosts and config with mode 0600 in a 0700 directory', () => {
    files = new SecretFiles()
    const config = writeSshClientConfig(files, { privateKey: key, knownHosts })
    expect(statSync(files.directory).mode & 0o777).toBe(0o700)
    for (const f of [config.configFile, config.knownHostsFile, `${files.directory}/id_observers`]) expect(statSync(f).mode & 0o777).toBe(0o600)
  })

  it('repairs CRLF line ends in a pasted key, which OpenSSH would reject', () => {
    files = new SecretFiles()
    writeSshClientConfig(files, { privateKey: key.replace(/\n/g, '\r\n'), knownHosts })
    const written = readFileSync(`${files.directory}/id_observers`, 'utf8')
    expect(written).toBe(key)
    // ssh-keygen -y reads the private key back: the file is a usable key.
    expect(execFileSync('ssh-keygen', ['-y', '-f', `${files.directory}/id_observers`], { encoding: 'utf8' })).toMatch(/^ssh-ed25519 /)
  })

  it.each([
    [
      'a public key instead of the private one',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7n3ib8u2hG3Wl1Q2Ezk1a0pA9w2U5Xh7m5qYq6vQyF',
      knownHosts,
      'input "ssh-private-key" is not a private key'
    ],
    ['empty known-hosts', key, '\n# only a comment\n', 'input "known-hosts" has no entries'],
    [
      'a fingerprint instead of a known_hosts line',
      key,
      'SHA256:mwgnbllpvLopxMz5jxcElIqyL7vsn97Y7cPLZ9nWDI4',
      'input "known-hosts" entry 1 is not a known_hosts line'
    ]
  ])('refuses %s', (_, privateKey, hosts, message) => {
    files = new SecretFiles()
    expect(() => writeSshClientConfig(files as SecretFiles, { privateKey, knownHosts: hosts })).toThrow(message)
  })
})
