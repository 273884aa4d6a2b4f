// `sandbox up|down|status`: a sandbox in the background, for a person at a shell or a demo.
// `up` starts a detached server process (`serve`) that owns the sandbox and records its state
// (PIDs with their command lines) in <dir>/<name>/state.json; `down` asks it to stop and then
// stops, by recorded PID, whatever it left behind (also after the server was killed).
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { startSandbox, type Sandbox, type SandboxOptions } from './index.js'
import { apiPath, KubeClient } from './kube-client.js'

const usage = `usage: sandbox <up|down|status> [options]
  --name NAME               sandbox name (default dev)
  --dir DIR                 parent directory of sandboxes (default .sandbox)
  --address-block N         pods on 127.0.N.x (default 100)
  --process-selector SEL    pods matching this label selector run real ZooKeeper servers
  --lb-kind ip|hostname     what LoadBalancer ingress reports (default ip)
  --lb-delay MS             delay before an LB gets its ingress (default 500)
  --ready-delay MS          delay-mode pods: container start to Ready (default 300)
  --fault-proxy             put the fault proxy in front of the apiserver
`

const options = {
  name: { type: 'string', default: 'dev' },
  dir: { type: 'string', default: '.sandbox' },
  'address-block': { type: 'string', default: '100' },
  'process-selector': { type: 'string' },
  'lb-kind': { type: 'string', default: 'ip' },
  'lb-delay': { type: 'string', default: '500' },
  'ready-delay': { type: 'string', default: '300' },
  'fault-proxy': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

type Args = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values']

interface RecordedProcess {
  pid: number
  /** /proc/<pid>/cmdline when recorded: a reused PID will not match it. */
  cmdline: string
}

interface State {
  name: string
  serverPid: number
  ready: boolean
  dir: string
  kubeconfig: string
  directKubeconfig: string
  apiUrl: string
  token: string
  caFile: string
  hostsFile: string
  kubectl: string
  helm3: string
  helm4: string
  addressBlock: number
  startSeconds: number
  processes: RecordedProcess[]
}

function sandboxDir(args: Args): string {
  return path.resolve(args.dir, args.name)
}

function stateFile(args: Args): string {
  return path.join(sandboxDir(args), 'state.json')
}

function readState(args: Args): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(args), 'utf8')) as State
  } catch {
    return undefined
  }
}

function writeState(file: string, state: State): void {
  const tmp = `${file}.tmp`
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  fs.renameSync(tmp, file)
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return undefined
  }
}

/** Alive and still the process we recorded (not a zombie, not a reused PID). */
function stillOurs(p: RecordedProcess): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8')
    if (/^\S+ \(.*\) [ZX] /.test(stat)) return false
  } catch {
    return false
  }
  // A process that is exiting has already dropped its cmdline but is not a zombie yet: still ours
  // to wait for (found by CI: down returned while a killed apiserver was still tearing down).
  const cmdline = cmdlineOf(p.pid)
  return cmdline === p.cmdline || cmdline === ''
}

function sandboxOptions(args: Args): SandboxOptions {
  const int = (flag: keyof Args): number => {
    const n = Number(args[flag])
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number, got "${args[flag]}"`)
    return n
  }
  const kind = args['lb-kind']
  if (kind !== 'ip' && kind !== 'hostname') throw new Error(`--lb-kind must be ip or hostname, got "${kind}"`)
  return {
    name: args.name,
    baseDir: path.resolve(args.dir),
    addressBlock: int('address-block'),
    readyDelayMs: int('ready-delay'),
    process: args['process-selector'] ? { selector: args['process-selector'] } : undefined,
    loadBalancer: { addressKind: kind, delayMs: int('lb-delay') },
    faultProxy: args['fault-proxy']
  }
}

async function up(args: Args, argv: string[]): Promise<number> {
  const existing = readState(args)
  if (existing && stillOurs({ pid: existing.serverPid, cmdline: cmdlineOf(existing.serverPid) ?? '' }) && existing.ready) {
    console.log(`sandbox ${existing.name} is already up (server pid ${existing.serverPid})`)
    printAccess(existing)
    return 0
  }
  if (existing) await stopRecorded(existing)
  const dir = sandboxDir(args)
  // A fresh cluster every time: the previous run's etcd data and pods' data go.
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const logFile = path.join(dir, 'server.log')
  const out = fs.openSync(logFile, 'a')
  const started = Date.now()
  const serverArgs = argv.filter((_, i) => i !== argv.indexOf('up'))
  const server = spawn(process.execPath, [process.argv[1], 'serve', ...serverArgs], {
    detached: true,
    stdio: ['ignore', out, out]
  })
  fs.closeSync(out)
  let exited: number | null | undefined
  server.on('exit', code => (exited = code))
  server.unref()
  for (;;) {
    const state = readState(args)
    if (state?.ready) {
      console.log(`sandbox ${state.name} is up in ${((Date.now() - started) / 1000).toFixed(1)} s (server pid ${state.serverPid}, log ${logFile})`)
      printAccess(state)
      return 0
    }
    if (exited !== undefined) {
      console.error(`sandbox ${args.name} did not start (server exited with ${exited}); last lines of ${logFile}:`)
      console.error(fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n'))
      return 1
    }
    if (Date.now() - started > 180_000) {
      console.error(`sandbox ${args.name} is not up after 180 s; see ${logFile}; stop it with: sandbox down --name ${args.name}`)
      return 1
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

function printAccess(state: State): void {
  console.log(`API: ${state.apiUrl}   pods and LBs on 127.0.${state.addressBlock}.x   LB hostnames: ${state.hostsFile}`)
  console.log(`kubectl: ${state.kubectl}`)
  console.log(`helm 3: ${state.helm3}   helm 4: ${state.helm4}`)
  console.log(`kubeconfig: ${state.kubeconfig}`)
  console.log(`export KUBECONFIG=${state.kubeconfig}`)
}

async function serve(args: Args): Promise<number> {
  const file = stateFile(args)
  const started = Date.now()
  let sandbox: Sandbox
  try {
    sandbox = await startSandbox(sandboxOptions(args))
  } catch (e) {
    console.error((e as Error).message)
    return 1
  }
  const recorded = new Map<number, RecordedProcess>()
  const state = (): State => {
    for (const pid of sandbox.pids()) {
      const cmdline = cmdlineOf(pid)
      if (cmdline !== undefined && !recorded.has(pid)) recorded.set(pid, { pid, cmdline })
    }
    for (const [pid, p] of recorded) if (!stillOurs(p)) recorded.delete(pid)
    return {
      name: sandbox.name,
      serverPid: process.pid,
      ready: true,
      dir: sandbox.dir,
      kubeconfig: sandbox.kubeconfig,
      directKubeconfig: sandbox.directKubeconfig,
      apiUrl: sandbox.apiUrl,
      token: sandbox.token,
      caFile: sandbox.caFile,
      hostsFile: sandbox.hostsFile,
      kubectl: sandbox.kubectl,
      helm3: sandbox.helm3,
      helm4: sandbox.helm4,
      addressBlock: sandbox.addressBlock,
      startSeconds: (Date.now() - started) / 1000,
      processes: [...recorded.values()]
    }
  }
  let last = ''
  const record = (): void => {
    const s = state()
    const text = JSON.stringify(s)
    if (text !== last) writeState(file, s)
    last = text
  }
  record()
  console.log(`sandbox ${sandbox.name} up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sandbox.apiUrl}`)
  // ZooKeeper pods come and go: keep the recorded PIDs current for `down`.
  const ticker = setInterval(record, 1000)
  await new Promise<void>(resolve => {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => resolve())
  })
  clearInterval(ticker)
  console.log(`sandbox ${sandbox.name}: stopping`)
  try {
    await sandbox.stop()
  } catch (e) {
    console.error((e as Error).message)
    return 1
  }
  fs.rmSync(file, { force: true })
  console.log(`sandbox ${sandbox.name}: stopped`)
  return 0
}

/** SIGTERM to each recorded process group still ours, SIGKILL after 10 s. */
async function stopRecorded(state: State): Promise<string[]> {
  const left = (): RecordedProcess[] => state.processes.filter(stillOurs)
  const signal = (sig: NodeJS.Signals): void => {
    for (const p of left()) {
      for (const target of [-p.pid, p.pid]) {
        try {
          process.kill(target, sig)
        } catch {
          // not a group leader, or gone meanwhile
        }
      }
    }
  }
  const waitGone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms
    while (left().length > 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
    return left().length === 0
  }
  const stopped = left().map(p => String(p.pid))
  signal('SIGTERM')
  if (!(await waitGone(10_000))) {
    signal('SIGKILL')
    await waitGone(5000)
  }
  const survivors = left()
  if (survivors.length > 0) throw new Error(`processes survived SIGKILL: ${survivors.map(p => p.pid).join(', ')}`)
  return stopped
}

async function down(args: Args): Promise<number> {
  const state = readState(args)
  if (!state) {
    console.log(`sandbox ${args.name}: not running (no ${stateFile(args)})`)
    return 0
  }
  const server = { pid: state.serverPid, cmdline: cmdlineOf(state.serverPid) ?? '' }
  if (stillOurs(server)) {
    process.kill(state.serverPid, 'SIGTERM')
    const deadline = Date.now() + 60_000
    while (stillOurs(server) && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  }
  const fresh = readState(args) ?? state
  const killed = await stopRecorded(stillOurs(server) ? { ...fresh, processes: [...fresh.processes, server] } : fresh)
  fs.rmSync(stateFile(args), { force: true })
  console.log(`sandbox ${state.name}: down` + (killed.length > 0 ? ` (stopped leftover processes ${killed.join(', ')} by PID)` : ''))
  return 0
}

async function status(args: Args): Promise<number> {
  const state = readState(args)
  if (!state) {
    console.log(`sandbox ${args.name}: not running`)
    return 3
  }
  const serverAlive = stillOurs({ pid: state.serverPid, cmdline: cmdlineOf(state.serverPid) ?? '' })
  const alive = state.processes.filter(stillOurs)
  console.log(`sandbox ${state.name}: server pid ${state.serverPid} ${serverAlive ? 'running' : 'GONE (run: sandbox down)'}`)
  console.log(`processes: ${alive.length}/${state.processes.length} alive (${state.processes.map(p => p.pid).join(', ')})`)
  try {
    const client = new KubeClient({ apiUrl: state.apiUrl, token: state.token, caFile: state.caFile, timeoutMs: 5000 })
    const version = await client.get<{ gitVersion: string }>('/version')
    const nodes = await client.list<{ metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }>(
      apiPath('v1', 'nodes')
    )
    const pods = await client.list<{ metadata: { namespace?: string; name: string }; status?: { phase?: string } }>(apiPath('v1', 'pods'))
    client.close()
    const ready = nodes.items.map(n => `${n.metadata.name}=${n.status?.conditions?.find(c => c.type === 'Ready')?.status ?? '?'}`)
    console.log(`API ${state.apiUrl}: ${version.gitVersion}; nodes ${ready.join(', ')}; ${pods.items.length} pods`)
    for (const p of pods.items) console.log(`  ${p.metadata.namespace}/${p.metadata.name} ${p.status?.phase ?? ''}`)
  } catch (e) {
    console.log(`API ${state.apiUrl}: unreachable: ${(e as Error).message}`)
    return 1
  }
  console.log(`export KUBECONFIG=${state.kubeconfig}`)
  return serverAlive ? 0 : 1
}

async function main(argv: string[]): Promise<number> {
  const { values: args, positionals } = parseArgs({ args: argv, options, allowPositionals: true })
  const command = positionals[0]
  if (args.help || !command) {
    console.log(usage)
    return args.help ? 0 : 2
  }
  switch (command) {
    case 'up':
      return up(args, argv)
    case 'serve':
      return serve(args)
    case 'down':
      return down(args)
    case 'status':
      return status(args)
    default:
      console.error(`unknown command "${command}"\n${usage}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  code => process.exit(code),
  (e: Error) => {
    console.error(`sandbox: ${e.message}`)
    process.exit(1)
  }
)
