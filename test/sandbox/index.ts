// startSandbox(): a real Kubernetes 1.20 control plane with a simulated node side: the sandbox
// kubelet (pods Ready after a delay, or running real ZooKeeper servers), cloud load balancers on
// loopback addresses, and optionally a fault proxy in front of the apiserver. Each sandbox has its
// own ports, directory and loopback block (127.0.<addressBlock>.x), so test files run in parallel.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { kubeconfigFor, startControlPlane, type ControlPlane } from './control-plane.js'
import { startFaultProxy, type FaultProxy, type FaultRule } from './fault-proxy.js'
import { apiPath, KubeApiError, KubeClient, sleep } from './kube-client.js'
import { AddressBook } from './addresses.js'
import { SandboxKubelet, type PodFault, type Pod, type ProcessModeOptions } from './kubelet.js'
import { SandboxLoadBalancers, type LbAddressKind } from './lb-controller.js'
import { sandboxTools } from './tools.js'
import { isProcessAlive } from '../support/processes.js'
import { removeScanned } from '../support/secret-hygiene.js'

export type { FaultProxy, FaultRule } from './fault-proxy.js'
export type { PodFault, PodProcess, ProcessModeOptions } from './kubelet.js'
export type { LbAddressKind } from './lb-controller.js'
export type { LabelSelector } from './label-selector.js'
export type { AddressBook } from './addresses.js'

export interface SandboxOptions {
  /** Names the node (sandbox-<name>), processes and directories. Default `sandbox-<addressBlock>`. */
  name?: string
  /** Pods live on 127.0.<addressBlock>.10-199, other LBs on .200-249. One block per test file. */
  addressBlock: number
  /**
   * Parent of the sandbox's directory. Default: a new temp directory, removed by stop() (etcd
   * alone writes ~60 MB) unless ZK_ROLLOUT_KEEP_SANDBOX is set, for looking at logs afterwards.
   */
  baseDir?: string
  /** Delay mode: from container start to Ready (default 300 ms), or per pod / ordinal. */
  readyDelayMs?: number | ((pod: Pod, ordinal: number | undefined) => number)
  /** From binding to container start (default 200 ms). */
  startDelayMs?: number
  /** One crash-loop round for crashLoop faults (default 1000 ms). */
  crashLoopIntervalMs?: number
  /** Pods matching process.selector run a real ZooKeeper server. */
  process?: ProcessModeOptions
  /** Pod faults at start, by pod name or namespace/name; change with sandbox.kubelet.setFault. */
  faults?: Record<string, PodFault>
  loadBalancer?: {
    /** Default ip; change with sandbox.lb.setAddressKind. */
    addressKind?: LbAddressKind
    /** Default 500 ms. */
    delayMs?: number
    /** Services (name or namespace/name) that stay pending; change with sandbox.lb.setPending. */
    pending?: string[]
  }
  /** Put a fault proxy between clients and the apiserver; `kubeconfig` then points at it. */
  faultProxy?: boolean | { rules?: FaultRule[] }
  /** Namespaces to create before returning. */
  namespaces?: string[]
}

export interface Sandbox {
  name: string
  addressBlock: number
  /** This sandbox's directory: control plane, pods' data, logs, kubeconfigs, hosts file. */
  dir: string
  /** <dir>/kubeconfig, for clients (kubectl, helm, the product): through the fault proxy when there is one. */
  kubeconfig: string
  /** Straight to the apiserver, whatever the proxy does. */
  directKubeconfig: string
  apiUrl: string
  token: string
  caFile: string
  kubectl: string
  helm3: string
  helm4: string
  /** Environment for kubectl/helm child processes: KUBECONFIG and private helm/kubectl caches. */
  env: NodeJS.ProcessEnv
  /** LB hostnames (and localhost): pass -Djdk.net.hosts.file=<hostsFile> to a JVM. */
  hostsFile: string
  /** Straight to the apiserver. */
  client: KubeClient
  kubelet: SandboxKubelet
  lb: SandboxLoadBalancers
  proxy?: FaultProxy
  addresses: AddressBook
  /** A pod's loopback address (what its processes bind, and what its LB reports). */
  podAddress(namespace: string, pod: string): string
  createNamespace(name: string): Promise<void>
  /** Deletes a namespace and waits until it is gone (its pods finished by the kubelet). */
  deleteNamespace(name: string, timeoutMs?: number): Promise<void>
  /** Live processes of this sandbox: etcd, kube-apiserver, kube-controller-manager, ZooKeeper pods. */
  pids(): number[]
  /** Sum of their resident memory. */
  rssBytes(): number
  /** Stops everything; throws if a process outlived it. Safe to call twice. */
  stop(): Promise<void>
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const addresses = new AddressBook(options.addressBlock)
  const name = options.name ?? `sandbox-${options.addressBlock}`
  const parent = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zk-rollout-sandbox-'))
  const dir = path.join(parent, name)
  fs.mkdirSync(dir, { recursive: true })
  const logFile = path.join(dir, 'sandbox.log')
  const log = (line: string): void => fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`)
  const tools = sandboxTools()

  let controlPlane: ControlPlane | undefined
  let client: KubeClient | undefined
  let kubelet: SandboxKubelet | undefined
  let lb: SandboxLoadBalancers | undefined
  let proxy: FaultProxy | undefined
  const knownPids = new Set<number>()
  let stopping: Promise<void> | undefined

  const alivePids = (): number[] => {
    for (const p of kubelet?.processes() ?? []) knownPids.add(p.pid)
    return [...knownPids].filter(isProcessAlive)
  }
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Children are unref'd (a forgotten one must not keep jest alive); while stopping, this
      // timer keeps a bare Node process (the CLI server) alive until each exit is reaped.
      const keepAlive = setInterval(() => undefined, 1000)
      const errors: string[] = []
      const attempt = async (what: string, f?: () => Promise<void>): Promise<void> => {
        try {
          await f?.()
        } catch (e) {
          errors.push(`${what}: ${(e as Error).message}`)
        }
      }
      // The API clients first, side by side, so nothing writes to the apiserver as it goes away;
      // no pod is deleted through the API first: the kubelet ends the pods' processes itself.
      await Promise.all([
        attempt('LB controller', lb && (() => lb!.stop())),
        attempt('kubelet', kubelet && (() => kubelet!.stop())),
        attempt('fault proxy', proxy && (() => proxy!.stop()))
      ])
      await attempt('control plane', controlPlane && (() => controlPlane!.stop()))
      client?.close()
      clearInterval(keepAlive)
      const left = alivePids()
      if (left.length > 0) errors.push(`processes still running: ${left.join(', ')}`)
      if (errors.length > 0) throw new Error(`sandbox ${name} (${dir}) did not stop cleanly:\n${errors.join('\n')}`)
      if (!options.baseDir && !process.env.ZK_ROLLOUT_KEEP_SANDBOX) removeScanned(parent)
    })()
    return stopping
  }

  try {
    const started = Date.now()
    controlPlane = await startControlPlane({ baseDir: dir, name })
    const controlPlaneMs = Date.now() - started
    for (const pid of controlPlane.pids) knownPids.add(pid)
    client = new KubeClient({ apiUrl: controlPlane.apiUrl, token: controlPlane.token, caFile: controlPlane.caFile })
    const hostsFile = path.join(dir, 'hosts')
    kubelet = new SandboxKubelet({
      client,
      nodeName: name,
      dir,
      addresses,
      readyDelayMs: options.readyDelayMs,
      startDelayMs: options.startDelayMs,
      crashLoopIntervalMs: options.crashLoopIntervalMs,
      process: options.process && {
        ...options.process,
        // Pods resolve LB hostnames (observers listed by LB name) like any other JVM here.
        jvmArgs: [`-Djdk.net.hosts.file=${hostsFile}`, ...(options.process.jvmArgs ?? [])]
      },
      faults: options.faults,
      log
    })
    lb = new SandboxLoadBalancers({
      client,
      addresses,
      hostsFile,
      addressKind: options.loadBalancer?.addressKind,
      delayMs: options.loadBalancer?.delayMs,
      pending: options.loadBalancer?.pending,
      log
    })
    await Promise.all([kubelet.start(), lb.start()])

    const directKubeconfig = controlPlane.kubeconfig
    if (options.faultProxy) {
      proxy = await startFaultProxy({
        upstreamUrl: controlPlane.apiUrl,
        upstreamCaFile: controlPlane.caFile,
        dir: path.join(dir, 'fault-proxy'),
        rules: typeof options.faultProxy === 'object' ? options.faultProxy.rules : undefined
      })
    }
    // At a fixed place in the sandbox's directory, so a person can find it: <dir>/kubeconfig.
    const kubeconfig = path.join(dir, 'kubeconfig')
    fs.writeFileSync(kubeconfig, kubeconfigFor(name, proxy?.url ?? controlPlane.apiUrl, proxy?.caFile ?? controlPlane.caFile, controlPlane.token), {
      mode: 0o600
    })
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: kubeconfig,
      KUBECACHEDIR: path.join(dir, 'kube-cache'),
      HELM_CACHE_HOME: path.join(dir, 'helm', 'cache'),
      HELM_CONFIG_HOME: path.join(dir, 'helm', 'config'),
      HELM_DATA_HOME: path.join(dir, 'helm', 'data')
    }
    const c = client
    const sandbox: Sandbox = {
      name,
      addressBlock: options.addressBlock,
      dir,
      kubeconfig,
      directKubeconfig,
      apiUrl: controlPlane.apiUrl,
      token: controlPlane.token,
      caFile: controlPlane.caFile,
      kubectl: tools.kubectl,
      helm3: tools.helm3,
      helm4: tools.helm4,
      env,
      hostsFile,
      client,
      kubelet,
      lb,
      proxy,
      addresses,
      podAddress: (namespace, pod) => addresses.podAddress(namespace, pod),
      createNamespace: name => createNamespace(c, name),
      deleteNamespace: (name, timeoutMs) => deleteNamespace(c, name, timeoutMs ?? 60_000),
      pids: alivePids,
      rssBytes: () => alivePids().reduce((sum, pid) => sum + rssOf(pid), 0),
      stop
    }
    for (const ns of options.namespaces ?? []) await sandbox.createNamespace(ns)
    log(
      `sandbox ${name} up in ${Date.now() - started} ms (control plane ${controlPlaneMs} ms): ` +
        `${controlPlane.apiUrl}, pods on 127.0.${options.addressBlock}.x`
    )
    return sandbox
  } catch (e) {
    await stop().catch(() => undefined)
    throw new Error(`sandbox ${name} did not start (${dir}, log ${logFile}): ${(e as Error).message}`, { cause: e })
  }
}

async function createNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(apiPath('v1', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  } catch (e) {
    if (!(e instanceof KubeApiError && e.status === 409)) throw e
  }
}

async function deleteNamespace(client: KubeClient, name: string, timeoutMs: number): Promise<void> {
  const nsPath = apiPath('v1', 'namespaces', undefined, name)
  try {
    await client.delete(nsPath)
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return
    throw e
  }
  const deadline = Date.now() + timeoutMs
  while (await client.find(nsPath)) {
    if (Date.now() > deadline) {
      const pods = await client.list<Pod>(apiPath('v1', 'pods', name))
      throw new Error(
        `namespace ${name} still exists ${timeoutMs} ms after its deletion; pods left: ${pods.items.map(p => p.metadata.name).join(', ') || 'none'}`
      )
    }
    await sleep(250)
  }
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
