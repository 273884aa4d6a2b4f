// Jest globalSetup (and the demo): gives every process this run starts a marker in its
// environment and starts the reaper that kills the marked ones once this process is gone. A test
// file's afterAll stops what it started, but a killed or interrupted run never gets there, and its
// etcd, apiservers, JVMs and sshds would live on with parent 1, holding ports and memory.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const OWNER_VARIABLE = 'ZK_ROLLOUT_TEST_OWNER'
const REAPER = join(dirname(fileURLToPath(import.meta.url)), 'reap.sh')

/**
 * Marks this process's future children and starts the reaper; returns the marker value.
 * ZK_ROLLOUT_TEST_RUN names the run (a test that kills a nested run needs to know its marker).
 * The marker must stay within what sshd_config's SetEnv accepts (test/support/sshd.ts).
 */
export function startReaper() {
  const existing = process.env[OWNER_VARIABLE]
  if (existing && process.env.ZK_ROLLOUT_REAPER_PID === String(process.pid)) return existing
  const requested = process.env.ZK_ROLLOUT_TEST_RUN
  const owner = requested && /^[A-Za-z0-9_.-]{1,64}$/.test(requested) ? requested : `run-${randomBytes(6).toString('hex')}`
  const log = join(tmpdir(), `zk-rollout-reaper-${owner}.log`)
  const groups = join(tmpdir(), `zk-rollout-reaper-${owner}.groups`)
  // The reaper itself is not marked (it would kill itself), and leads its own process group so a
  // Ctrl-C in the terminal, which signals the foreground group, leaves it to do its work.
  const env = { ...process.env }
  delete env[OWNER_VARIABLE]
  const reaper = spawn('bash', [REAPER, owner, log, groups], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env })
  reaper.unref()
  // The write end stays open for as long as this process lives and must not keep it alive.
  reaper.stdin.unref()
  reaper.stdin.on('error', () => undefined)
  process.env[OWNER_VARIABLE] = owner
  process.env.ZK_ROLLOUT_REAPER_PID = String(process.pid)
  process.env.ZK_ROLLOUT_REAPER_GROUPS = groups
  return owner
}

export default function globalSetup() {
  startReaper()
}
