// The VM-side program, run here by a real /bin/sh exactly as `ssh host sh -s` runs it there:
// compare and upload (stage), dry run, discard, and what it reports. (Swapping files in,
// restarting and rolling back need compose and ZooKeeper: test/integration/deploy-observers.)
import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseRemoteOutput, remoteProgram, type RemoteCommand } from '../../workflows-lib/src/observers/remote-script.js'
import type { ObserverFiles } from '../../workflows-lib/src/render/observer-files.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'zk-remote-script-'))
const canary = path.join(tmp, 'pwned')

// File content that would break a here-document or an unquoted echo.
const files: ObserverFiles = {
  'zoo.cfg': `tickTime=2000\nserver.1=10.0.0.1:2888:3888\n# EOF\n'$(touch ${canary})' \`touch ${canary}\` \\ "\n\n`,
  myid: '101\n',
  'docker-compose.yaml': `services:\n  zookeeper:\n    image: "zookeeper:3.9.4"\nEOF\n'\n`
}

function runOnVm(command: RemoteCommand, dir: string, opts: { dryRun?: boolean; files?: ObserverFiles } = {}) {
  const program = remoteProgram(command, {
    directory: dir,
    clientPort: 2181,
    joinTimeoutMs: 1000,
    dryRun: opts.dryRun ?? false,
    files: opts.files ?? files
  })
  // The probe goes to the SSH session's server address: 127.0.0.34, where nothing listens.
  const run = spawnSync('sh', ['-s'], {
    input: program,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, SSH_CONNECTION: '127.0.0.1 50000 127.0.0.34 22' }
  })
  return { ...run, report: parseRemoteOutput(run.stdout) }
}

const listing = (dir: string): string[] => readdirSync(dir).sort()

describe('the VM-side program', () => {
  it('stages every file of a first deploy byte for byte, under a hostile directory name', () => {
    const dir = path.join(tmp, `vm a/it's $(touch ${canary}); x`, 'zookeeper')
    const { report, status, stderr } = runOnVm('stage', dir)
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' })
    expect(report).toMatchObject({ events: ['staged'], files: { 'zoo.cfg': 'new', myid: 'new', 'docker-compose.yaml': 'new' }, srvr: '', done: true })
    for (const [name, content] of Object.entries(files)) expect(readFileSync(path.join(dir, '.staged', name), 'utf8')).toBe(content)
    // Staged only: nothing is in place until apply renames it.
    expect(listing(dir)).toEqual(['.staged'])
    expect(existsSync(canary)).toBe(false)
  })

  it('reports unchanged files and writes nothing when the host already has them', () => {
    const dir = path.join(tmp, 'unchanged')
    mkdirSync(dir)
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content)
    const { report } = runOnVm('stage', dir)
    expect(report).toMatchObject({ events: ['unchanged'], files: { 'zoo.cfg': 'same', myid: 'same', 'docker-compose.yaml': 'same' }, done: true })
    expect(listing(dir)).toEqual(['docker-compose.yaml', 'myid', 'zoo.cfg'])
  })

  it('names the one file that differs', () => {
    const dir = path.join(tmp, 'one-changed')
    mkdirSync(dir)
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content)
    writeFileSync(path.join(dir, 'zoo.cfg'), 'tickTime=1000\n')
    const { report } = runOnVm('stage', dir)
    expect(report.files).toEqual({ 'zoo.cfg': 'changed', myid: 'same', 'docker-compose.yaml': 'same' })
    expect(readFileSync(path.join(dir, 'zoo.cfg'), 'utf8')).toBe('tickTime=1000\n')
  })

  it('on a dry run, reports the change and creates nothing', () => {
    const dir = path.join(tmp, 'dry', 'zookeeper')
    const { report } = runOnVm('stage', dir, { dryRun: true })
    expect(report).toMatchObject({ events: ['would-change'], done: true })
    expect(existsSync(path.join(tmp, 'dry'))).toBe(false)
  })

  it('fails without writing when the directory cannot be created, saying why', () => {
    const blocker = path.join(tmp, 'a-file')
    writeFileSync(blocker, 'not a directory\n')
    const { report, status } = runOnVm('stage', path.join(blocker, 'zookeeper'))
    expect(status).toBe(1)
    expect(report.done).toBe(false)
    expect(report.error).toMatch(
      new RegExp(`^cannot create ${blocker}/zookeeper as user \\S+: mkdir: .*Not a directory; create it on the VM, writable by that user$`)
    )
  })

  it('discards a staged upload', () => {
    const dir = path.join(tmp, 'discard')
    runOnVm('stage', dir)
    expect(listing(dir)).toEqual(['.staged'])
    expect(runOnVm('discard', dir).report).toMatchObject({ events: ['discarded'], done: true })
    expect(listing(dir)).toEqual([])
  })

  it('refuses to apply files that are not the staged ones, before touching anything', () => {
    const dir = path.join(tmp, 'tampered')
    runOnVm('stage', dir)
    writeFileSync(path.join(dir, '.staged', 'myid'), '1\n')
    const { report } = runOnVm('apply', dir)
    expect(report.error).toBe(
      `the staged myid in ${dir}/.staged is missing or was altered since the upload; nothing was changed: run the deploy again`
    )
    expect(listing(dir)).toEqual(['.staged'])
  })
})

describe('parseRemoteOutput', () => {
  it('collects events, file states, the last srvr answer and the states a wait gave up on', () => {
    const report = parseRemoteOutput(
      [
        '@compose docker compose',
        '@replaced',
        'stray line from a tool',
        '@restarted',
        '@probe',
        '@srvr This ZooKeeper instance is not currently serving requests',
        '@last-state running, not serving (not in sync with a leader)',
        '@not-verified',
        '@rolled-back',
        '@restarted',
        '@probe',
        '@srvr Zookeeper version: 3.8.0',
        '@srvr Zxid: 0x100000004',
        '@srvr Mode: observer',
        '@rollback-verified',
        '@done'
      ].join('\n')
    )
    expect(report).toEqual({
      events: ['replaced', 'restarted', 'not-verified', 'rolled-back', 'restarted', 'rollback-verified'],
      files: {},
      srvr: 'Zookeeper version: 3.8.0\nZxid: 0x100000004\nMode: observer',
      compose: 'docker compose',
      waitStates: ['running, not serving (not in sync with a leader)'],
      done: true
    })
  })
})
