// How the sandbox runs a command "in a container" for `kubectl exec`: as a host process in a
// network namespace of its own (unshare --net), whose loopback reaches only the pod's declared
// container ports. A relay inside that namespace listens on 127.0.0.1:<port> and forwards each
// connection through a Unix socket (paths cross namespaces) to the pod's real ZooKeeper address.
// So a probe like `exec 3<>/dev/tcp/127.0.0.1/2181` behaves as it would in the pod. There is no
// filesystem or user isolation: this is ours and simulated, for tests on loopback only.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { ownerEnv } from '../support/processes.js'

// Runs inside the namespace: bring lo up, listen, run the command, exit with its status.
const RELAY = `
import { spawn, spawnSync } from 'node:child_process'
import * as net from 'node:net'
import { constants } from 'node:os'
const args = process.argv.slice(1)
const sep = args.indexOf('--')
const [dir, ...ports] = args.slice(0, sep)
const command = args.slice(sep + 1)
const up = spawnSync('ip', ['link', 'set', 'lo', 'up'])
if (up.status !== 0) { process.stderr.write('sandbox exec: ip link set lo up failed\\n'); process.exit(126) }
await Promise.all(ports.map(port => new Promise((resolve, reject) => {
  const server = net.createServer(c => {
    const u = net.connect(dir + '/p' + port + '.sock')
    c.pipe(u); u.pipe(c)
    c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
  })
  server.once('error', reject)
  server.listen(Number(port), '127.0.0.1', resolve)
})))
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' })
child.on('error', e => { process.stderr.write('sandbox exec: ' + e.message + '\\n'); process.exit(127) })
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)))
`

export interface ExecTarget {
  /** Where the pod's ports really listen; undefined when its process is not running. */
  address?: string
  ports: number[]
  /** The pod's directory: the working directory and home of the per-exec sockets. */
  dir: string
  hostname: string
}

export interface RunningExec {
  child: ChildProcess
  /** Resolves with the exit code once the output is read to its end and the sockets are gone. */
  exited: Promise<number>
  /** Ends the command and everything it started (its process group). */
  kill: () => void
}

export async function startExec(target: ExecTarget, command: string[]): Promise<RunningExec> {
  const sockets = path.join(target.dir, `exec-${randomBytes(4).toString('hex')}`)
  fs.mkdirSync(sockets, { recursive: true })
  const servers: net.Server[] = []
  const cleanUp = (): void => {
    for (const s of servers) s.close()
    fs.rmSync(sockets, { recursive: true, force: true })
  }
  try {
    for (const port of target.ports) servers.push(await forward(target, port, path.join(sockets, `p${port}.sock`)))
  } catch (e) {
    cleanUp()
    throw e
  }
  // A process group of its own, so that a hang-up ends the command too, not only the relay.
  const child = spawn(
    'unshare',
    ['--net', '--', process.execPath, '--input-type=module', '-e', RELAY, sockets, ...target.ports.map(String), '--', ...command],
    {
      cwd: target.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: target.hostname, HOME: target.dir, ...ownerEnv() },
      stdio: 'pipe',
      detached: true
    }
  )
  // 'close', not 'exit': the output is read to its end before the status is sent.
  const exited = new Promise<number>(resolve => {
    let done = false
    const finish = (code: number): void => {
      if (done) return
      done = true
      cleanUp()
      resolve(code)
    }
    child.on('error', () => finish(127))
    child.on('close', (code, signal) => finish(code ?? (signal ? 137 : 1)))
  })
  const kill = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return { child, exited, kill }
}

/** A Unix socket whose connections go to the pod's real address and port. */
function forward(target: ExecTarget, port: number, socketPath: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(inner => {
      // A stopped container refuses, as its loopback would.
      if (!target.address) return inner.destroy()
      const outer = net.connect({ host: target.address, port })
      inner.pipe(outer)
      outer.pipe(inner)
      inner.on('error', () => outer.destroy())
      outer.on('error', () => inner.destroy())
    })
    server.once('error', reject)
    server.listen(socketPath, () => resolve(server))
  })
}
