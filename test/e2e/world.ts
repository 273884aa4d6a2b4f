// A whole world for a real rollout on one machine: a Kubernetes sandbox whose ZooKeeper pods
// run real servers, observer "VMs" that are real sshd processes (each in its own mount
// namespace, `docker compose` provided by the compose shim), and an environment pointing at
// them. Used by the end-to-end test and by `npm run demo`.
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { prepareShimState, shimContainers, stopShimContainers } from '../support/compose-shim/shim.js'
import { repoRoot } from '../support/environments.js'
import { sandboxValues, serviceMonitorCrd } from '../support/kube.js'
import { isProcessAlive, stopAllTracked } from '../support/processes.js'
import { generateKey, sshPortFor, startSshd, type Sshd } from '../support/sshd.js'

export interface World {
  sandbox: Sandbox
  vms: Sshd[]
  /** environments/<name>/ with environment.yaml and values.yaml */
  environmentDir: string
  sshKeyFile: string
  knownHostsFile: string
  /** Observer id -> VM address. */
  observers: { id: number; address: string }[]
  stop(): Promise<void>
}

export interface WorldOptions {
  dir: string
  addressBlock: number
  vmAddresses: readonly string[]
  name?: string
  /** hostname: the LBs report AWS-style names, which the observer JVMs resolve through the sandbox's hosts file. */
  addressKind?: 'ip' | 'hostname'
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const name = opts.name ?? 'sandbox'
  const vmRoot = path.join(opts.dir, 'vm')
  const vms: Sshd[] = []
  let sandbox: Sandbox | undefined
  // The observers, the VMs and the sandbox side by side: none needs another to stop.
  const stop = async (): Promise<void> => {
    const results = await Promise.allSettled([killObservers(vms.map(vm => vm.shimState)), ...vms.map(vm => vm.stop()), sandbox?.stop()])
    const failures = results.flatMap(r => (r.status === 'rejected' ? [String(r.reason)] : []))
    try {
      await stopAllTracked()
    } catch (error) {
      failures.push(String(error))
    }
    if (failures.length > 0) throw new Error(`the world did not stop cleanly:\n${failures.join('\n')}`)
  }
  try {
    sandbox = await startSandbox({
      addressBlock: opts.addressBlock,
      baseDir: path.join(opts.dir, 'cluster'),
      process: { selector: 'app.kubernetes.io/name=zookeeper' },
      loadBalancer: { delayMs: 300, addressKind: opts.addressKind ?? 'ip' }
    })
    // The Prometheus operator's CRD, so register-monitoring writes a ServiceMonitor too.
    const kubectl = new Kubectl(sandbox.kubectl, sandbox.kubeconfig)
    await kubectl.apply([serviceMonitorCrd])
    await kubectl.run(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s'])

    const key = generateKey(path.join(opts.dir, 'keys'), 'deployer')
    const port = await sshPortFor(opts.vmAddresses)
    for (const [i, address] of opts.vmAddresses.entries()) {
      const vm = await startSshd({
        name: `vm${i + 1}`,
        address,
        port,
        dir: path.join(opts.dir, `vm${i + 1}`),
        authorizedKeys: [key.publicKey],
        rootMount: vmRoot
      })
      prepareShimState(vm.shimState, opts.addressKind === 'hostname' ? { jvmArgs: [`-Djdk.net.hosts.file=${sandbox.hostsFile}`] } : {})
      vms.push(vm)
    }
    const knownHostsFile = path.join(opts.dir, 'known_hosts')
    writeFileSync(knownHostsFile, `${vms.map(vm => vm.knownHosts).join('\n')}\n`)

    const observers = opts.vmAddresses.map((address, i) => ({ id: 101 + i, address }))
    const environmentDir = path.join(opts.dir, 'environments', name)
    mkdirSync(environmentDir, { recursive: true })
    writeFileSync(
      path.join(environmentDir, 'environment.yaml'),
      `# A rollout onto this machine: the sandbox cluster and observer VMs on loopback addresses.
kubernetes: { namespace: zk, release: zk }
chart: { bundled: true, values: values.yaml }
ensemble: { servers: 3 }
expose:
  serviceName: "zk{ordinal}"
  addressKind: ${opts.addressKind ?? 'ip'}
observers:
  directory: ${path.join(vmRoot, 'data', 'zookeeper')}
  ssh: { user: ${execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()}, port: ${port} }
  hosts:
${observers
  .map(
    // Endpoints refuse loopback addresses: the monitoring objects carry TEST-NET-1 addresses
    // (RFC 5737), which nothing here ever connects to.
    o => `    - { id: ${o.id}, host: ${o.address}, metricsAddress: 192.0.2.${o.id} }`
  )
  .join('\n')}
monitoring:
  serviceName: zk-observers-external
  serviceMonitor: { labels: { release: prometheus } }
timeouts: { podReady: 2m, loadBalancer: 1m, observerJoin: 1m }
`
    )
    writeFileSync(path.join(environmentDir, 'values.yaml'), sandboxValues)
    return { sandbox, vms, environmentDir, sshKeyFile: key.privateKeyFile, knownHostsFile, observers, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Ends the observer JVMs the compose shim started on the VMs, by PID (the shim's pidfiles) with
 * SIGKILL: their data goes with the world, and a graceful stop costs a JVM ~0.35 s.
 * stopShimContainers then finds nothing left, or stops what appeared meanwhile.
 */
async function killObservers(stateDirs: string[]): Promise<void> {
  const pids = stateDirs.flatMap(dir => shimContainers(dir).map(c => c.pid))
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL') // the shim starts each JVM under setsid: its PID is its group
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }
  const deadline = Date.now() + 5000
  while (pids.some(isProcessAlive) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  await stopShimContainers(stateDirs)
}

/** The CLI bundle's arguments for a rollout onto this world. */
export function rolloutArgs(world: World): string[] {
  return [
    'rollout',
    world.environmentDir,
    '--kubeconfig',
    world.sandbox.kubeconfig,
    '--kubectl',
    world.sandbox.kubectl,
    '--helm',
    world.sandbox.helm4,
    '--ssh-key',
    world.sshKeyFile,
    '--known-hosts',
    world.knownHostsFile
  ]
}

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs the committed CLI bundle (workflows-lib/dist/cli) against this world; never throws on a non-zero exit. */
export function runCli(world: World, args: string[]): Promise<CliRun> {
  return new Promise(resolve =>
    execFile(
      process.execPath,
      [path.join(repoRoot, 'workflows-lib', 'dist', 'cli', 'index.js'), ...args],
      { env: { ...process.env, ...world.sandbox.env }, timeout: 300_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0
        resolve({ code, stdout, stderr })
      }
    )
  )
}
