// No orphans: a test run that is killed (SIGKILL of jest, or Ctrl-C in the terminal) before its
// afterAll hooks run must not leave its etcd, kube-apiserver, controller-manager, ZooKeeper JVMs
// and sshds running with parent 1. The reaper started by jest's globalSetup
// (test/support/reaper) does that; here a nested jest runs a whole world and is killed mid-run.
import { afterEach, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'
import { repoRoot } from '../support/environments.js'
import { isProcessAlive, listMarked, type MarkedProcess } from '../support/processes.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
let leftovers: MarkedProcess[] = []

afterEach(() => {
  // Only if the reaper failed: end what the killed run left, so later tests have their ports.
  for (const p of leftovers) if (isProcessAlive(p.pid)) process.kill(p.pid, 'SIGKILL')
  leftovers = []
})

interface KilledRun {
  before: MarkedProcess[]
  after: MarkedProcess[]
  reaperLog: string
}

async function killRunMidway(kill: (jest: ChildProcess) => void): Promise<KilledRun> {
  const owner = `orphans-${randomBytes(4).toString('hex')}`
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-orphans-run-'))
  const readyFile = path.join(dir, 'ready')
  const logFile = path.join(dir, 'jest.log')
  const log = openSync(logFile, 'a')
  const env: NodeJS.ProcessEnv = { ...process.env, ZK_ROLLOUT_TEST_RUN: owner, ORPHAN_READY_FILE: readyFile }
  delete env.JEST_WORKER_ID
  const jest = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      path.join(repoRoot, 'node_modules/jest/bin/jest.js'),
      '--selectProjects',
      'integration',
      '--testMatch',
      '<rootDir>/test/integration/fixtures/orphan-run.fixture.ts',
      '--runInBand'
    ],
    // Its own process group, like a job in a terminal: Ctrl-C signals that whole group.
    { cwd: repoRoot, env, stdio: ['ignore', log, log], detached: true }
  )
  closeSync(log)
  let exited = false
  jest.once('exit', () => (exited = true))
  const deadline = Date.now() + 300_000
  while (!existsSync(readyFile)) {
    if (exited || Date.now() > deadline) {
      if (!exited) process.kill(jest.pid!, 'SIGKILL')
      leftovers = listMarked(owner)
      throw new Error(`the nested run never got its world up:\n${readFileSync(logFile, 'utf8').slice(-4000)}`)
    }
    await sleep(200)
  }
  const before = listMarked(owner)
  leftovers = before
  kill(jest)
  // The reaper needs a few scans of /proc; a JVM or apiserver dies within milliseconds of SIGKILL.
  const settle = Date.now() + 30_000
  while (listMarked(owner).length > 0 && Date.now() < settle) await sleep(100)
  const reaperLog = path.join(os.tmpdir(), `zk-rollout-reaper-${owner}.log`)
  return { before, after: listMarked(owner), reaperLog: existsSync(reaperLog) ? readFileSync(reaperLog, 'utf8') : '' }
}

function expectWholeWorld(before: MarkedProcess[]): void {
  // comm is cut at 15 characters: kube-controller-manager reads "kube-controller".
  const names = [...new Set(before.map(p => p.comm))].sort()
  expect(names).toEqual(expect.arrayContaining(['etcd', 'java', 'kube-apiserver', 'kube-controller', 'sshd']))
  // 3 pod JVMs and 2 observer JVMs at least.
  expect(before.filter(p => p.comm === 'java').length).toBeGreaterThanOrEqual(5)
}

describe('a killed test run leaves no processes behind', () => {
  it('SIGKILL of jest: the reaper kills etcd, the apiserver, the controller-manager, every JVM and sshd', async () => {
    const run = await killRunMidway(jest => process.kill(jest.pid!, 'SIGKILL'))
    expectWholeWorld(run.before)
    expect(run.after).toEqual([])
    // The kills were the reaper's: its log names each process it ended.
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'sshd', 'java'])
      expect(run.reaperLog).toMatch(new RegExp(`killed (group )?\\d+ \\S*${name}[: ]`))
  }, 400_000)

  it('Ctrl-C (SIGINT to the foreground process group): the same', async () => {
    const run = await killRunMidway(jest => process.kill(-jest.pid!, 'SIGINT'))
    expectWholeWorld(run.before)
    expect(run.after).toEqual([])
  }, 400_000)
})
