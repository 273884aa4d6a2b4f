// The VM-side program, run here by a real /bin/sh exactly as `ssh host sh -s` runs it there:
// compare and upload (stage), dry run, discard, and what it reports; and the file handling of
// apply (swap, roll back, undo a half-done swap) with `docker` and a failing `mv` faked on PATH.
// (Real restarts and rollbacks with compose and ZooKeeper: test/integration/deploy-observers.)
import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
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

function runOnVm(command: RemoteCommand, dir: string, opts: { dryRun?: boolean; files?: ObserverFiles; env?: Record<string, string> } = {}) {
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
    env: { PATH: process.env.PATH, SSH_CONNECTION: '127.0.0.1 50000 127.0.0.34 22', ...opts.env }
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

  it('inspect (drift) reports each file, the content of one that differs, and writes nothing, not even a stale .staged', () => {
    const dir = path.join(tmp, 'inspect')
    mkdirSync(path.join(dir, '.staged'), { recursive: true })
    writeFileSync(path.join(dir, 'zoo.cfg'), 'tickTime=1000\nserver.1=old:2888:3888\n')
    writeFileSync(path.join(dir, 'myid'), files.myid)
    const { report, status } = runOnVm('inspect', dir)
    expect(status).toBe(0)
    expect(report).toMatchObject({
      files: { 'zoo.cfg': 'changed', myid: 'same', 'docker-compose.yaml': 'new' },
      contents: { 'zoo.cfg': 'tickTime=1000\nserver.1=old:2888:3888\n' },
      done: true
    })
    expect(listing(dir)).toEqual(['.staged', 'myid', 'zoo.cfg'])
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

// apply, with `docker` faked on PATH (compose succeeds; nothing ever answers srvr, so every wait
// gives up after the 1 s join timeout; `down` can mark the file system stuck, see mv) and, for
// some cases, an `mv` that refuses some moves.
const bin = path.join(tmp, 'bin')
const realMv = spawnSync('sh', ['-c', 'command -v mv'], { encoding: 'utf8' }).stdout.trim()
mkdirSync(bin)
writeFileSync(
  path.join(bin, 'docker'),
  `#!/bin/sh
printf '%s\\n' "$*" >> "$DOCKER_LOG"
case "$1 $2" in
  'compose version' | 'compose up') exit 0 ;;
  'compose down') [ -z "$STUCK_AFTER_DOWN" ] || : > "$STUCK_AFTER_DOWN"; exit 0 ;;
esac
exit 1
`
)
// Refuses to move anything onto a file named $MV_REFUSE (as for an immutable file); with
// $MV_STUCK set, every mv after that one fails too (a file system that went read-only).
writeFileSync(
  path.join(bin, 'mv'),
  `#!/bin/sh
for arg; do source=$target; target=$arg; done
if [ -n "$MV_STUCK" ] && [ -e "$MV_STUCK" ]; then echo "mv: cannot move '$source' to '$target': Read-only file system" >&2; exit 1; fi
if [ -n "$MV_REFUSE" ] && [ "\${target##*/}" = "$MV_REFUSE" ]; then
  [ -z "$MV_STUCK" ] || : > "$MV_STUCK"
  echo "mv: cannot move '$source' to '$target': Operation not permitted" >&2
  exit 1
fi
exec ${realMv} "$@"
`
)
chmodSync(path.join(bin, 'docker'), 0o755)
chmodSync(path.join(bin, 'mv'), 0o755)

// What the VM had before the deploy (any subset of the three files).
const old: ObserverFiles = { 'zoo.cfg': 'tickTime=2000\nserver.1=10.0.0.9:2888:3888\n', myid: '7\n', 'docker-compose.yaml': 'services: {}\n' }
const names = Object.keys(files) as (keyof ObserverFiles)[]

/** A VM directory holding `before`, with the new files staged by a real stage run. */
function stagedVm(name: string, before: (keyof ObserverFiles)[]): string {
  const dir = path.join(tmp, name)
  mkdirSync(dir)
  for (const f of before) writeFileSync(path.join(dir, f), old[f])
  expect(runOnVm('stage', dir).report.events).toEqual(['staged'])
  return dir
}

function applyOnVm(dir: string, env: Record<string, string> = {}) {
  const log = path.join(tmp, `${path.basename(dir)}.docker-calls`)
  const run = runOnVm('apply', dir, { env: { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, ...env } })
  return { ...run, docker: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] }
}

/** The observer files present in dir, with their content. */
const filesIn = (dir: string): Partial<ObserverFiles> =>
  Object.fromEntries(
    names.filter(f => statSync(path.join(dir, f), { throwIfNoEntry: false })?.isFile()).map(f => [f, readFileSync(path.join(dir, f), 'utf8')])
  )

describe('the VM-side program applying files', () => {
  it('rolls back a full previous generation, checked file by file, and restarts on it', () => {
    const dir = stagedVm('full-rollback', names)
    const { report, docker, stderr } = applyOnVm(dir)
    expect(filesIn(dir)).toEqual(old)
    expect(filesIn(path.join(dir, '.failed'))).toEqual(files)
    expect(report).toMatchObject({
      events: ['replaced', 'restarted', 'not-verified', 'failed-kept', 'rolled-back', 'restarted', 'rollback-not-verified'],
      done: true
    })
    expect(report.error).toBeUndefined()
    expect(docker).toEqual(['compose version', 'compose up -d --force-recreate', 'compose up -d --force-recreate'])
    expect(stderr).toContain(
      `restored the previous files from ${dir}/.previous, checked by their sha256 (the failed ones are kept in ${dir}/.failed)`
    )
  })

  it('on a first deploy, a failed verify stops the observer and removes the new files, keeping copies', () => {
    const dir = stagedVm('first-rollback', [])
    const { report, docker, stderr } = applyOnVm(dir)
    expect(listing(dir)).toEqual(['.failed'])
    expect(filesIn(path.join(dir, '.failed'))).toEqual(files)
    expect(report).toMatchObject({ events: ['replaced', 'restarted', 'not-verified', 'failed-kept', 'stopped', 'removed'], done: true })
    expect(report.error).toBeUndefined()
    expect(docker).toEqual(['compose version', 'compose up -d --force-recreate', 'compose down'])
    expect(stderr).toContain(`removed the new files (the failed ones are kept in ${dir}/.failed)`)
  })

  it('(a) with only zoo.cfg there before, a failed verify puts zoo.cfg back and removes the files that did not exist', () => {
    const dir = stagedVm('partial-rollback', ['zoo.cfg'])
    const { report, docker, stderr } = applyOnVm(dir)
    expect(filesIn(dir)).toEqual({ 'zoo.cfg': old['zoo.cfg'] })
    expect(listing(dir)).toEqual(['.failed', '.previous', 'zoo.cfg'])
    expect(filesIn(path.join(dir, '.failed'))).toEqual(files)
    expect(report).toMatchObject({
      events: ['replaced', 'restarted', 'not-verified', 'failed-kept', 'partial-previous', 'stopped', 'removed'],
      done: true
    })
    expect(report.error).toBeUndefined()
    // Stopped while its compose file was still there, before the files were put back.
    expect(docker).toEqual(['compose version', 'compose up -d --force-recreate', 'compose down'])
    expect(stderr).toContain(`put back zoo.cfg from ${dir}/.previous and removed myid, docker-compose.yaml, checked by their sha256`)
  })

  it('(b) undoes a swap whose third mv fails: the files moved before it are as they were, and only then says so', () => {
    const dir = stagedVm('mv-fails', ['zoo.cfg', 'docker-compose.yaml'])
    const { report, docker } = applyOnVm(dir, { MV_REFUSE: 'docker-compose.yaml' })
    // zoo.cfg and myid were moved in before docker-compose.yaml's mv failed.
    expect(filesIn(dir)).toEqual({ 'zoo.cfg': old['zoo.cfg'], 'docker-compose.yaml': old['docker-compose.yaml'] })
    expect(report.error).toBe(
      `cannot replace docker-compose.yaml in ${dir}: mv: cannot move '.staged/docker-compose.yaml' to 'docker-compose.yaml': Operation not permitted; ` +
        'nothing was changed: the files moved in before it are back as they were (checked by their sha256), and the observer was not restarted'
    )
    expect(report.events).toEqual([])
    expect(docker).toEqual(['compose version'])
  })

  it('(c) when putting the files back fails too, says what is left instead of claiming they are back', () => {
    const dir = stagedVm('restore-fails', ['zoo.cfg', 'docker-compose.yaml'])
    const { report } = applyOnVm(dir, { MV_REFUSE: 'docker-compose.yaml', MV_STUCK: path.join(tmp, 'restore-fails.stuck') })
    expect(report.error).not.toMatch(/back in place|back as they were|nothing was changed|restored/)
    expect(report.error).toBe(
      `cannot replace docker-compose.yaml in ${dir}: mv: cannot move '.staged/docker-compose.yaml' to 'docker-compose.yaml': Operation not permitted; ` +
        `putting back the files moved in before it failed too: zoo.cfg (copy it back from ${dir}/.previous/zoo.cfg; mv: cannot move '.zoo.cfg.restore' to 'zoo.cfg': Read-only file system). ` +
        'The observer was not restarted: put those files back by hand as listed, then run the deploy again'
    )
    expect(report.events).toEqual(['restore-failed'])
    // What the message describes: the new zoo.cfg is still there, its previous version is kept.
    expect(filesIn(dir)).toEqual({ 'zoo.cfg': files['zoo.cfg'], 'docker-compose.yaml': old['docker-compose.yaml'] })
    expect(filesIn(path.join(dir, '.previous'))).toEqual({ 'zoo.cfg': old['zoo.cfg'], 'docker-compose.yaml': old['docker-compose.yaml'] })
  })

  it('(c) when a rollback cannot put the files back, does not claim it did, and names what is left', () => {
    const dir = stagedVm('rollback-restore-fails', ['zoo.cfg'])
    const stuck = path.join(tmp, 'rollback-restore-fails.stuck')
    const { report, docker } = applyOnVm(dir, { MV_STUCK: stuck, STUCK_AFTER_DOWN: stuck })
    expect(report.events).not.toContain('removed')
    expect(report.events).toEqual(['replaced', 'restarted', 'not-verified', 'failed-kept', 'partial-previous', 'stopped', 'restore-failed'])
    expect(report.error).toBe(
      'the observer was stopped, but putting the files back as they were before this deploy failed: ' +
        `zoo.cfg (copy it back from ${dir}/.previous/zoo.cfg; mv: cannot move '.zoo.cfg.restore' to 'zoo.cfg': Read-only file system); ` +
        'put them back by hand as listed, or the next deploy will take the new ones for current'
    )
    expect(docker).toEqual(['compose version', 'compose up -d --force-recreate', 'compose down'])
    // As described: only zoo.cfg is not back (the new one is there), its previous version is kept.
    expect(filesIn(dir)).toEqual({ 'zoo.cfg': files['zoo.cfg'] })
    expect(filesIn(path.join(dir, '.previous'))).toEqual({ 'zoo.cfg': old['zoo.cfg'] })
  })

  it('refuses, before touching anything, a target that is not a regular file (mv would move into it)', () => {
    const dir = stagedVm('myid-directory', ['zoo.cfg', 'docker-compose.yaml'])
    mkdirSync(path.join(dir, 'myid'))
    const { report, docker } = applyOnVm(dir)
    expect(report.error).toBe(`${dir}/myid is not a regular file; nothing was changed: remove it or move it away, then run the deploy again`)
    expect(listing(dir)).toEqual(['.staged', 'docker-compose.yaml', 'myid', 'zoo.cfg'])
    expect(listing(path.join(dir, 'myid'))).toEqual([])
    expect(filesIn(dir)).toEqual({ 'zoo.cfg': old['zoo.cfg'], 'docker-compose.yaml': old['docker-compose.yaml'] })
    expect(docker).toEqual([])
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
      contents: {},
      srvr: 'Zookeeper version: 3.8.0\nZxid: 0x100000004\nMode: observer',
      compose: 'docker compose',
      waitStates: ['running, not serving (not in sync with a leader)'],
      done: true
    })
  })
})
