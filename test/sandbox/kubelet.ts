// The sandbox's node side: an ordinary API client that plays scheduler and kubelet for one
// Node. It binds pending pods, reports them Running/Ready with the status a real kubelet writes,
// and finishes pods being deleted. A pod either becomes Ready after a delay, or (process mode)
// runs a real ZooKeeper server on its own loopback address, configured from the zoo.cfg the chart
// mounted into it, and is Ready when `ruok` answers `imok`.
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import type { IncomingMessage } from 'node:http'
import * as https from 'node:https'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Duplex } from 'node:stream'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { startZooKeeperServer, type ZkServer } from '../support/zookeeper.js'
import type { AddressBook } from './addresses.js'
import { labelMatcher, type LabelSelector } from './label-selector.js'
import { podZooCfg } from './pod-zoo-cfg.js'
import { startExec } from './exec-command.js'
import { acceptExec, STDERR, STDOUT } from './exec-stream.js'
import { selfSignedCertificate } from './self-signed.js'
import { isProcessAlive } from '../support/processes.js'
import {
  apiPath,
  EventRecorder,
  KubeApiError,
  kubeMicroTime,
  kubeTime,
  sleep,
  type Informer,
  type KubeClient,
  type KubeObject
} from './kube-client.js'

export interface Container {
  name: string
  image?: string
  ports?: { containerPort: number }[]
  volumeMounts?: { name: string; mountPath: string }[]
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string
    schedulerName?: string
    containers: Container[]
    initContainers?: Container[]
    volumes?: { name: string; configMap?: { name: string } }[]
  }
  status?: {
    phase?: string
    podIP?: string
    conditions?: { type: string; status: string; lastTransitionTime?: string }[]
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[]
  }
}

export interface PodFault {
  /** Running, but Ready stays False until the fault is cleared. */
  holdNotReady?: boolean
  /** The container keeps exiting: Ready False, restartCount rising, CrashLoopBackOff, BackOff events. */
  crashLoop?: boolean
  /** Extra time in ContainerCreating before the container starts. */
  slowStartMs?: number
  /** The image cannot be pulled: ErrImagePull, then ImagePullBackOff, until the fault is cleared. */
  imagePullFails?: boolean
}

export interface ProcessModeOptions {
  /** Pods whose labels match run a real ZooKeeper server. */
  selector: LabelSelector
  /** myid for a StatefulSet pod; default ordinal + 1. */
  myid?: (pod: Pod, ordinal: number) => number
  /** Extra JVM options for the servers. */
  jvmArgs?: string[]
  /** Suffix of in-cluster DNS names in zoo.cfg (default cluster.local). */
  clusterDomain?: string
}

export interface KubeletOptions {
  client: KubeClient
  nodeName: string
  /** The kubelet's directory: pods' directories <dir>/pods/<namespace>/<pod> (their data survives
   *  pod restarts, like a PVC) and the kubelet endpoint's certificate in <dir>/tls. */
  dir: string
  addresses: AddressBook
  /** From container start to Ready in delay mode (default 300 ms); a function for per-ordinal delays. */
  readyDelayMs?: number | ((pod: Pod, ordinal: number | undefined) => number)
  /** From binding to container start (default 200 ms). */
  startDelayMs?: number
  /** One crash-loop round: run, exit, back off (default 1000 ms). */
  crashLoopIntervalMs?: number
  /** Readiness probe period in process mode (default 1000 ms). */
  probePeriodMs?: number
  process?: ProcessModeOptions
  /** Keyed by pod name or namespace/name. */
  faults?: Record<string, PodFault>
  log?: (line: string) => void
}

/** What a process-mode pod is running now. */
export interface PodProcess {
  namespace: string
  pod: string
  pid: number
  address: string
  clientPort: number
  dir: string
  logFile: string
}

/** One container start or stop, in the order the node saw them (for asserting restart orders). */
export interface PodLifecycleRecord {
  at: number
  namespace: string
  pod: string
  uid: string
  kind: 'start' | 'stop'
  /** The pod's controller-revision-hash label: which StatefulSet revision it runs. */
  revision?: string
}

const kubeletPort = 10250
const leaseSeconds = 40
const leaseRenewMs = 10_000
const nodeStatusMs = 60_000

export class SandboxKubelet {
  private readonly workers = new Map<string, PodWorker>()
  /** Per namespace/name: the previous pod's worker still stopping, so a successor waits for its address. */
  private readonly stopping = new Map<string, Promise<void>>()
  private readonly binding = new Set<string>()
  private readonly terminating = new Set<string>()
  private readonly faults = new Map<string, PodFault>()
  private readonly timers: NodeJS.Timeout[] = []
  private informer?: Informer<Pod>
  private readonly processSelector?: (labels: Record<string, string> | undefined) => boolean
  readonly events: EventRecorder
  private readonly schedulerEvents: EventRecorder
  private stopped = false
  private nodeUid = ''
  private readonly startedAt = kubeTime()
  private readonly machineId = randomBytes(16).toString('hex')
  private endpoint?: https.Server
  /** Container starts and stops, oldest first. */
  readonly lifecycle: PodLifecycleRecord[] = []

  constructor(readonly options: KubeletOptions) {
    this.events = new EventRecorder(options.client, { component: 'kubelet', host: options.nodeName })
    this.schedulerEvents = new EventRecorder(options.client, { component: 'default-scheduler' })
    if (options.process) this.processSelector = labelMatcher(options.process.selector)
    for (const [ref, fault] of Object.entries(options.faults ?? {})) this.faults.set(ref, fault)
  }

  get nodeName(): string {
    return this.options.nodeName
  }

  log(line: string): void {
    this.options.log?.(`kubelet: ${line}`)
  }

  /** Registers the Node, starts its heartbeats and the pod watch; resolves once pods are synced. */
  async start(): Promise<void> {
    await this.serve()
    await this.registerNode()
    await this.renewLease()
    this.timers.push(
      setInterval(() => this.renewLease().catch(e => this.log(`lease renewal failed: ${(e as Error).message}`)), leaseRenewMs),
      setInterval(() => this.patchNodeStatus().catch(e => this.log(`node status failed: ${(e as Error).message}`)), nodeStatusMs)
    )
    for (const t of this.timers) t.unref()
    this.informer = this.options.client.inform<Pod>(apiPath('v1', 'pods'), (type, pod) => this.onPod(type, pod))
    await this.informer.synced
  }

  /** Sets (or with undefined clears) the fault of a pod, by name or namespace/name; applies at once. */
  setFault(ref: string, fault: PodFault | undefined): void {
    if (fault) this.faults.set(ref, fault)
    else this.faults.delete(ref)
    for (const w of this.workers.values()) if (w.matches(ref)) w.wake()
  }

  faultOf(namespace: string, name: string): PodFault {
    return { ...this.faults.get(name), ...this.faults.get(`${namespace}/${name}`) }
  }

  /** The ZooKeeper servers of process-mode pods. */
  processes(): PodProcess[] {
    return [...this.workers.values()].flatMap(w => (w.process ? [w.process] : []))
  }

  /**
   * Stops watching and every pod's process; the Node object stays (like a kubelet that stopped).
   * The node goes away with the sandbox, so its ZooKeeper servers get SIGKILL, not a graceful
   * SIGTERM (~0.35 s per JVM); a pod deleted or restarted while the sandbox runs still gets SIGTERM.
   */
  async stop(): Promise<void> {
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    await this.informer?.stop()
    const endpoint = this.endpoint
    if (endpoint) {
      const closed = new Promise(resolve => endpoint.close(resolve))
      endpoint.closeAllConnections()
      await closed
    }
    await Promise.all([...this.workers.values()].map(w => w.stop('SIGKILL')))
    await Promise.all(this.stopping.values())
    this.workers.clear()
  }

  isProcessPod(pod: Pod): boolean {
    return this.processSelector?.(pod.metadata.labels) ?? false
  }

  private onPod(type: string, pod: Pod): void {
    if (this.stopped) return
    const uid = pod.metadata.uid ?? ''
    if (type === 'DELETED') {
      const w = this.workers.get(uid)
      if (w) void this.retire(w)
      this.binding.delete(uid)
      this.terminating.delete(uid)
      return
    }
    const nodeName = pod.spec.nodeName
    if (!nodeName) {
      const scheduler = pod.spec.schedulerName ?? 'default-scheduler'
      if (!pod.metadata.deletionTimestamp && scheduler === 'default-scheduler' && !this.binding.has(uid)) {
        this.binding.add(uid)
        this.bind(pod).catch(e => {
          this.binding.delete(uid)
          this.log(`binding ${podRef(pod)} failed: ${(e as Error).message}`)
        })
      }
      return
    }
    // A pod being finished gets no new worker, whatever events its last status writes cause.
    if (nodeName !== this.nodeName || this.terminating.has(uid)) return
    const w = this.workers.get(uid)
    if (pod.metadata.deletionTimestamp) {
      this.terminating.add(uid)
      this.finish(pod, w).catch(e => this.log(`finishing ${podRef(pod)} failed: ${(e as Error).message}`))
    } else if (w) w.update(pod)
    else {
      const worker = new PodWorker(this, pod, this.stopping.get(podRef(pod)))
      this.workers.set(uid, worker)
      worker.run()
    }
  }

  /**
   * The kubelet's HTTPS endpoint on the node address, for what the apiserver forwards to a node:
   * here `kubectl logs` (GET /containerLogs/<ns>/<pod>/<container>). The apiserver runs without
   * --kubelet-certificate-authority, so it accepts this self-signed certificate.
   */
  private async serve(): Promise<void> {
    const address = this.options.addresses.nodeAddress
    const { keyFile, certFile } = await selfSignedCertificate(path.join(this.options.dir, 'tls'), 'sandbox-kubelet', address)
    const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://kubelet')
      const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname)
      const answer = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
        res.end(text)
      }
      if (req.method === 'GET' && url.pathname === '/healthz') return answer(200, 'ok')
      if (req.method !== 'GET' || !logs) return answer(404, `${req.method} ${url.pathname}: not served by the sandbox kubelet\n`)
      const [namespace, name, container] = logs.slice(1).map(decodeURIComponent)
      const w = [...this.workers.values()].find(x => x.pod.metadata.namespace === namespace && x.pod.metadata.name === name)
      if (!w) return answer(404, `pod ${namespace}/${name} is not on node ${this.nodeName}\n`)
      if (!w.pod.spec.containers.some(c => c.name === container)) {
        return answer(400, `container ${container} is not valid for pod ${name}\n`)
      }
      const previous = url.searchParams.get('previous') === 'true'
      let text = w.logs(previous)
      if (text === undefined) return answer(400, `previous terminated container "${container}" in pod "${name}" not found\n`)
      const tail = Number(url.searchParams.get('tailLines') ?? NaN)
      if (Number.isInteger(tail) && tail >= 0)
        text = text
          .split('\n')
          .slice(0, -1)
          .slice(-tail)
          .map((l: string) => `${l}\n`)
          .join('')
      const limit = Number(url.searchParams.get('limitBytes') ?? NaN)
      if (Number.isInteger(limit) && limit > 0) text = Buffer.from(text).subarray(0, limit).toString()
      answer(200, text)
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => this.exec(req, socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', e =>
        reject(
          new Error(
            `sandbox kubelet: cannot listen on ${address}:${kubeletPort} (${e.message}); is another sandbox using address block ${this.options.addresses.block}?`
          )
        )
      )
      server.listen(kubeletPort, address, () => resolve())
    })
    this.endpoint = server
  }

  /**
   * `kubectl exec` (the apiserver forwards /exec/<ns>/<pod>/<container>?command=... as a
   * WebSocket upgrade). The command runs as a host process with the pod's ports on its loopback
   * (exec-command.ts): real for what crosses the wire, simulated for the container.
   */
  private exec(req: IncomingMessage, socket: Duplex): void {
    const url = new URL(req.url ?? '/', 'https://kubelet')
    const m = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    const refuse = (status: string, text: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${text}\n`)
    }
    if (!m) return refuse('404 Not Found', `${url.pathname}: not served by the sandbox kubelet`)
    const [namespace, name, container] = m.slice(1).map(decodeURIComponent)
    const w = [...this.workers.values()].find(x => x.pod.metadata.namespace === namespace && x.pod.metadata.name === name)
    if (!w) return refuse('404 Not Found', `pod ${namespace}/${name} is not on node ${this.nodeName}`)
    const spec = w.pod.spec.containers.find(c => c.name === container)
    if (!spec) return refuse('400 Bad Request', `container ${container} is not valid for pod ${name}`)
    if (!w.running) return refuse('500 Internal Server Error', `container not found ("${container}")`)
    const command = url.searchParams.getAll('command')
    if (command.length === 0) return refuse('400 Bad Request', 'you must specify at least 1 command')
    const channel = acceptExec(req, socket)
    if (!channel) return
    const process = w.process
    startExec(
      {
        address: process?.address,
        ports: (spec.ports ?? []).map(p => p.containerPort),
        dir: path.join(this.options.dir, 'pods', namespace, name),
        hostname: name
      },
      command
    )
      .then(({ child, exited, kill }) => {
        child.stdout?.on('data', (d: Buffer) => channel.send(STDOUT, d))
        child.stderr?.on('data', (d: Buffer) => channel.send(STDERR, d))
        if (url.searchParams.get('input') === '1') {
          channel.onStdin(d => child.stdin?.write(d))
          channel.onStdinEnd(() => child.stdin?.end())
        } else child.stdin?.end()
        channel.onClosed(kill)
        return exited.then(code => channel.finish(code, command))
      })
      .catch((e: Error) => {
        channel.send(STDERR, `sandbox exec failed: ${e.message}\n`)
        channel.finish(126, command)
      })
  }

  record(entry: Omit<PodLifecycleRecord, 'at'>): void {
    this.lifecycle.push({ at: Date.now(), ...entry })
  }

  private async bind(pod: Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata
    await this.options.client.create(apiPath('v1', 'pods', namespace, name, 'binding'), {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace, uid },
      target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName }
    })
    await this.schedulerEvents.record(
      { ...pod, kind: 'Pod' },
      'Normal',
      'Scheduled',
      `Successfully assigned ${namespace}/${name} to ${this.nodeName}`
    )
  }

  /** Stops the pod's containers, then deletes it for good (grace 0, only this incarnation). */
  private async finish(pod: Pod, w: PodWorker | undefined): Promise<void> {
    if (w) await this.retire(w)
    const { name, namespace, uid } = pod.metadata
    try {
      await this.options.client.delete(apiPath('v1', 'pods', namespace, name), {
        gracePeriodSeconds: 0,
        preconditions: { uid }
      })
    } catch (e) {
      // Gone already, or a new pod of the same name took its place: nothing left to finish.
      if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) throw e
    }
  }

  private retire(w: PodWorker): Promise<void> {
    const key = podRef(w.pod)
    const stopped = w
      .stop()
      .catch(e => this.log(`stopping ${key} failed: ${(e as Error).message}`))
      .finally(() => {
        this.workers.delete(w.uid)
        if (this.stopping.get(key) === stopped) this.stopping.delete(key)
      })
    this.stopping.set(key, stopped)
    return stopped
  }

  private nodeObject(): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: {
          'kubernetes.io/hostname': this.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': 'sandbox'
        }
      },
      spec: {}
    }
  }

  private async registerNode(): Promise<void> {
    const { client } = this.options
    const existing = await client.find(apiPath('v1', 'nodes', undefined, this.nodeName))
    const node = existing ?? (await client.create<KubeObject>(apiPath('v1', 'nodes'), this.nodeObject()))
    this.nodeUid = node.metadata.uid ?? ''
    await this.patchNodeStatus()
  }

  private async patchNodeStatus(): Promise<void> {
    const now = kubeTime()
    const condition = (type: string, status: string, reason: string, message: string): object => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.startedAt
    })
    const resources = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' }
    await this.options.client.patch(
      apiPath('v1', 'nodes', undefined, this.nodeName, 'status'),
      {
        status: {
          capacity: resources,
          allocatable: resources,
          conditions: [
            condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
          ],
          addresses: [
            // No Hostname address: the apiserver prefers it for `kubectl logs` and would look the
            // node's name up in DNS; the InternalIP is where the kubelet endpoint listens.
            { type: 'InternalIP', address: this.options.addresses.nodeAddress }
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
          nodeInfo: {
            machineID: this.machineId,
            systemUUID: this.machineId,
            bootID: this.machineId,
            kernelVersion: os.release(),
            osImage: 'zk-rollout sandbox node',
            containerRuntimeVersion: 'sandbox://1.0.0',
            kubeletVersion: 'v1.20.2',
            kubeProxyVersion: 'v1.20.2',
            operatingSystem: 'linux',
            architecture: 'amd64'
          }
        }
      },
      'strategic'
    )
  }

  private async renewLease(): Promise<void> {
    const { client } = this.options
    const leasePath = apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease', this.nodeName)
    const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: leaseSeconds, renewTime: kubeMicroTime() }
    try {
      await client.patch(leasePath, { spec })
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e
      await client.create(apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease'), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: this.nodeName,
          namespace: 'kube-node-lease',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: this.nodeUid }]
        },
        spec
      })
    }
  }
}

function podRef(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`
}

/** The ordinal of a StatefulSet pod (name <sts>-<n>, owned by that StatefulSet). */
export function statefulSetOrdinal(pod: Pod): number | undefined {
  const owner = pod.metadata.ownerReferences?.find(o => o.kind === 'StatefulSet')
  if (!owner) return undefined
  const m = new RegExp(`^${owner.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(pod.metadata.name)
  return m ? Number(m[1]) : undefined
}

type ContainerState = { kind: 'waiting'; reason: string; message?: string } | { kind: 'running'; startedAt: Date; id: string }

interface LastTermination {
  exitCode: number
  reason: string
  message?: string
  startedAt: Date
  finishedAt: Date
  id: string
}

/** One pod incarnation (one uid) on the node: its containers' lifecycle and status reports. */
class PodWorker {
  readonly uid: string
  readonly ordinal: number | undefined
  readonly processMode: boolean
  process?: PodProcess
  private server?: ZkServer
  private state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' }
  private lastTermination?: LastTermination
  private restartCount = 0
  private ready = false
  private readyChangedAt: Date
  private readonly scheduledAt: Date
  private startTime = new Date()
  private everStarted = false
  private lastUnhealthyAt = 0
  /** Container output: lines in delay mode, a slice of the server's log file in process mode. */
  private output: { lines: string[]; file?: string; from: number; to?: number } = { lines: [], from: 0 }
  private previousOutput?: { lines: string[]; file?: string; from: number; to?: number }
  private stopped = false
  /** What stop() ends the server with. */
  private stopSignal: NodeJS.Signals = 'SIGTERM'
  private wakeUp?: () => void
  private driver?: Promise<void>
  private posting?: Promise<void>
  private dirty = false

  constructor(
    private readonly kubelet: SandboxKubelet,
    public pod: Pod,
    private readonly predecessor: Promise<void> | undefined
  ) {
    this.uid = pod.metadata.uid ?? ''
    this.ordinal = statefulSetOrdinal(pod)
    this.processMode = kubelet.isProcessPod(pod)
    const scheduled = pod.status?.conditions?.find(c => c.type === 'PodScheduled')?.lastTransitionTime
    this.scheduledAt = scheduled ? new Date(scheduled) : new Date()
    this.readyChangedAt = this.startTime
  }

  private get options(): KubeletOptions {
    return this.kubelet.options
  }

  private get namespace(): string {
    return this.pod.metadata.namespace ?? 'default'
  }

  private get name(): string {
    return this.pod.metadata.name
  }

  get running(): boolean {
    return this.state.kind === 'running'
  }

  private recordLifecycle(kind: 'start' | 'stop'): void {
    const revision = this.pod.metadata.labels?.['controller-revision-hash']
    this.kubelet.record({ namespace: this.namespace, pod: this.name, uid: this.uid, kind, ...(revision ? { revision } : {}) })
  }

  matches(ref: string): boolean {
    return ref === this.name || ref === `${this.namespace}/${this.name}`
  }

  private fault(): PodFault {
    return this.kubelet.faultOf(this.namespace, this.name)
  }

  update(pod: Pod): void {
    this.pod = pod
  }

  wake(): void {
    this.wakeUp?.()
  }

  run(): void {
    this.driver = this.drive().catch(e => this.kubelet.log(`${podRef(this.pod)}: ${(e as Error).stack}`))
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopped = true
    this.stopSignal = signal
    this.wake()
    await this.driver
    await this.stopServer()
    await this.posting
  }

  /** Sleeps until ms passed, the fault changed, or the pod is being stopped. */
  private pause(ms: number): Promise<void> {
    // stop() may come while no pause is pending (during a probe): its wake() found nothing to wake.
    if (this.stopped) return Promise.resolve()
    return new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wakeUp = done
    })
  }

  private async drive(): Promise<void> {
    await this.predecessor
    if (this.stopped) return
    this.post()
    await sleep(this.options.startDelayMs ?? 200)
    let slow = this.fault().slowStartMs ?? 0
    while (slow > 0 && !this.stopped) {
      const started = Date.now()
      await this.pause(slow)
      slow = Math.min(slow - (Date.now() - started), this.fault().slowStartMs ?? 0)
    }
    await this.failImagePulls()
    let readyAfter: number | undefined
    while (!this.stopped) {
      if (this.fault().crashLoop) {
        await this.crashRound()
        continue
      }
      if (this.state.kind !== 'running' || (this.processMode && !this.server)) {
        if (this.processMode && !(await this.startServer())) continue
        if (!this.processMode) this.startContainer()
        readyAfter = undefined
      }
      if (this.processMode) await this.probeServer()
      else {
        readyAfter ??= Date.now() + this.readyDelay()
        const wait = readyAfter - Date.now()
        if (wait > 0) {
          await this.pause(wait)
          continue
        }
        this.setReady(!this.fault().holdNotReady, 'held NotReady by the sandbox fault knob')
        await this.pause(60_000)
      }
    }
  }

  private readyDelay(): number {
    const d = this.options.readyDelayMs ?? 300
    return typeof d === 'number' ? d : d(this.pod, this.ordinal)
  }

  private get containers(): Container[] {
    return this.pod.spec.containers
  }

  private fieldPath(): string {
    return `spec.containers{${this.containers[0]?.name}}`
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.kubelet.events
      .record({ ...this.pod, kind: 'Pod', apiVersion: 'v1' }, type, reason, message, this.fieldPath())
      .catch(e => this.kubelet.log(`event ${reason} for ${podRef(this.pod)} failed: ${(e as Error).message}`))
  }

  /** What `kubectl logs [--previous]` shows for this pod's container. */
  logs(previous: boolean): string | undefined {
    const out = previous ? this.previousOutput : this.output
    if (!out) return undefined
    if (!out.file) return out.lines.map(l => `${l}\n`).join('')
    try {
      const text = fs.readFileSync(out.file)
      return text.subarray(out.from, out.to ?? text.length).toString('utf8')
    } catch {
      return ''
    }
  }

  /** A line of the container's output in delay mode, where no process writes any. */
  private say(line: string): void {
    this.output.lines.push(`${new Date().toISOString()} [sandbox kubelet] ${line}`)
  }

  private startContainer(logFile?: string): void {
    const container = this.containers[0]
    if (this.everStarted) {
      if (this.output.file) this.output.to = fileSize(this.output.file)
      this.previousOutput = this.output
    }
    this.output = { lines: [], file: logFile, from: logFile ? fileSize(logFile) : 0 }
    if (!logFile) this.say(`container ${container?.name} started from image ${container?.image} (the sandbox runs no process for it)`)
    this.state = { kind: 'running', startedAt: new Date(), id: `sandbox://${randomBytes(32).toString('hex')}` }
    if (!this.everStarted) {
      this.event('Normal', 'Pulled', `Container image "${container?.image}" already present on machine`)
    }
    this.everStarted = true
    this.event('Normal', 'Created', `Created container ${container?.name}`)
    this.event('Normal', 'Started', `Started container ${container?.name}`)
    this.post()
  }

  /** The container exits; the next round (if the loop goes on) starts it after a back-off. */
  private terminate(exitCode: number, reason: string, message?: string): void {
    const startedAt = this.state.kind === 'running' ? this.state.startedAt : new Date()
    const id = this.state.kind === 'running' ? this.state.id : ''
    this.lastTermination = { exitCode, reason, message, startedAt, finishedAt: new Date(), id }
    this.say(`container exited with code ${exitCode}${message ? `: ${message}` : ''}`)
    this.restartCount++
    this.ready = false
    this.readyChangedAt = new Date()
    this.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off restarting failed container=${this.containers[0]?.name} pod=${this.name}_${this.namespace}(${this.uid})`
    }
    this.post()
    this.event('Warning', 'BackOff', 'Back-off restarting failed container')
  }

  /** While the imagePullFails fault holds: the states and events a real kubelet shows for a missing image. */
  private async failImagePulls(): Promise<void> {
    const image = this.containers[0]?.image ?? ''
    for (let attempt = 0; this.fault().imagePullFails && !this.stopped; attempt++) {
      const why = `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found (sandbox fault)`
      this.state =
        attempt === 0
          ? { kind: 'waiting', reason: 'ErrImagePull', message: why }
          : { kind: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` }
      this.post()
      this.event('Warning', attempt === 0 ? 'Failed' : 'BackOff', attempt === 0 ? why : `Back-off pulling image "${image}"`)
      await this.pause(this.options.crashLoopIntervalMs ?? 1000)
    }
  }

  private async crashRound(): Promise<void> {
    const half = (this.options.crashLoopIntervalMs ?? 1000) / 2
    await this.stopServer()
    if (this.state.kind !== 'running') this.startContainer()
    await this.pause(half)
    if (this.stopped) return
    this.terminate(1, 'Error', 'crash-loop fault set on this pod')
    await this.pause(half)
  }

  /** The readiness probe's verdict; a failure is an Unhealthy event (at most one per 10 s). */
  private setReady(ready: boolean, whyNot: string): void {
    if (!ready && Date.now() - this.lastUnhealthyAt >= 10_000) {
      this.lastUnhealthyAt = Date.now()
      this.event('Warning', 'Unhealthy', `Readiness probe failed: ${whyNot}`)
    }
    if (ready === this.ready) return
    this.ready = ready
    this.readyChangedAt = new Date()
    if (!this.output.file) this.say(ready ? 'ready' : `not ready: ${whyNot}`)
    this.post()
  }

  // --- process mode -------------------------------------------------------------------------

  private podDir(): string {
    return path.join(this.options.dir, 'pods', this.namespace, this.name)
  }

  /** zoo.cfg from the first configMap volume mounted into a container that holds that key. */
  private async loadZooCfg(): Promise<string | undefined> {
    const mounted = new Set(this.containers.flatMap(c => (c.volumeMounts ?? []).map(m => m.name)))
    const volumes = (this.pod.spec.volumes ?? []).filter(v => v.configMap && mounted.has(v.name))
    const missing: string[] = []
    for (const v of volumes) {
      const name = v.configMap?.name as string
      const cm = await this.options.client.find<KubeObject & { data?: Record<string, string> }>(apiPath('v1', 'configmaps', this.namespace, name))
      if (!cm) missing.push(name)
      else if (cm.data?.['zoo.cfg'] !== undefined) return cm.data['zoo.cfg']
    }
    if (missing.length > 0) {
      this.event('Warning', 'FailedMount', `MountVolume.SetUp failed for volume: configmap "${missing[0]}" not found`)
    } else {
      this.event(
        'Warning',
        'Failed',
        'sandbox process mode: no configMap volume mounted into this pod has a zoo.cfg key; mount the ZooKeeper configuration from a ConfigMap'
      )
    }
    return undefined
  }

  private myid(): number {
    if (this.ordinal === undefined) {
      throw new Error(`${podRef(this.pod)} is not a StatefulSet pod: process mode derives myid from the ordinal`)
    }
    return this.options.process?.myid?.(this.pod, this.ordinal) ?? this.ordinal + 1
  }

  /**
   * Starts the ZooKeeper server on the zoo.cfg mounted now (a restarted container sees an updated
   * ConfigMap, as with a real mount); false, after a pause, when it did not come up.
   */
  private async startServer(): Promise<boolean> {
    const zooCfg = await this.loadZooCfg().catch((e: Error) => {
      this.kubelet.log(`${podRef(this.pod)}: reading its ConfigMaps failed: ${e.message}`)
      return undefined
    })
    if (zooCfg === undefined) {
      await this.pause(2000)
      return false
    }
    const dir = this.podDir()
    const address = this.options.addresses.podAddress(this.namespace, this.name)
    const serverName = `${this.namespace}.${this.name}`
    // Where startZooKeeperServer writes the server's output (appended across restarts).
    this.startContainer(path.join(dir, `${serverName}.log`))
    try {
      const myid = this.myid()
      const cfg = podZooCfg(zooCfg, {
        namespace: this.namespace,
        myid,
        address,
        dataDir: path.join(dir, 'data'),
        dataLogDir: path.join(dir, 'datalog'),
        clusterDomain: this.options.process?.clusterDomain ?? 'cluster.local',
        podAddress: (ns, pod) => this.options.addresses.podAddress(ns, pod)
      })
      fs.mkdirSync(dir, { recursive: true })
      const server = await startZooKeeperServer({
        dir,
        zooCfg: cfg,
        myid,
        name: serverName,
        jvmArgs: this.options.process?.jvmArgs
      })
      this.server = server
      this.process = {
        namespace: this.namespace,
        pod: this.name,
        pid: server.pid,
        address: server.address,
        clientPort: server.clientPort,
        dir,
        logFile: server.logFile
      }
      this.kubelet.log(`${podRef(this.pod)}: ZooKeeper myid ${myid} pid ${server.pid} on ${address}:${server.clientPort}`)
      this.recordLifecycle('start')
      if (this.stopped) await this.stopServer()
      return true
    } catch (e) {
      this.kubelet.log(`${podRef(this.pod)}: ZooKeeper did not start: ${(e as Error).message}`)
      this.terminate(1, 'Error', (e as Error).message.slice(0, 1000))
      await this.pause(this.options.crashLoopIntervalMs ?? 1000)
      return false
    }
  }

  private async stopServer(): Promise<void> {
    const server = this.server
    this.server = undefined
    this.process = undefined
    if (server) {
      await server.stop(this.stopped ? this.stopSignal : 'SIGTERM')
      this.recordLifecycle('stop')
    }
  }

  /** One readiness probe period: ruok must answer imok; a dead process is a container exit. */
  private async probeServer(): Promise<void> {
    const server = this.server
    if (!server) return
    if (!isProcessAlive(server.pid)) {
      this.server = undefined
      this.process = undefined
      this.kubelet.log(`${podRef(this.pod)}: ZooKeeper pid ${server.pid} exited; restarting it`)
      this.recordLifecycle('stop')
      this.terminate(1, 'Error', `ZooKeeper exited; log ${server.logFile}`)
      await this.pause(this.options.crashLoopIntervalMs ?? 1000)
      return
    }
    let whyNot = 'held NotReady by the sandbox fault knob'
    let ok = false
    try {
      const answer = await fourLetterWord(server.address, server.clientPort, 'ruok', { timeoutMs: 2000 })
      ok = answer.trim() === 'imok'
      if (!ok) whyNot = `ruok answered "${answer.trim()}"`
    } catch (e) {
      whyNot = (e as Error).message
    }
    this.setReady(ok && !this.fault().holdNotReady, whyNot)
    await this.pause(this.options.probePeriodMs ?? 1000)
  }

  // --- status ---------------------------------------------------------------------------------

  /** Sends the current status (coalesced: at most one request in flight, the latest state wins). */
  private post(): void {
    this.dirty = true
    if (this.posting) return
    this.posting = (async () => {
      while (this.dirty) {
        this.dirty = false
        try {
          await this.options.client.patch(apiPath('v1', 'pods', this.namespace, this.name, 'status'), {
            // The uid makes this a precondition: a newer pod of the same name refuses the patch (422).
            metadata: { uid: this.uid },
            status: this.status()
          })
        } catch (e) {
          if (e instanceof KubeApiError && (e.status === 404 || e.status === 409 || e.status === 422)) return
          this.kubelet.log(`status of ${podRef(this.pod)} failed: ${(e as Error).message}`)
        }
      }
    })().finally(() => (this.posting = undefined))
  }

  // A JSON merge patch replaces lists whole, so conditions and containerStatuses are always
  // written complete, the way the real kubelet computes them.
  private status(): Record<string, unknown> {
    const running = this.state.kind === 'running'
    const started = running || this.everStarted
    const names = this.containers.map(c => c.name)
    const at = (d: Date): string => kubeTime(d)
    const notReady = this.ready
      ? { reason: null, message: null }
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` }
    const state =
      this.state.kind === 'running'
        ? { running: { startedAt: at(this.state.startedAt) } }
        : { waiting: { reason: this.state.reason, ...(this.state.message ? { message: this.state.message } : {}) } }
    const last = this.lastTermination
    const lastState = last
      ? {
          terminated: {
            exitCode: last.exitCode,
            reason: last.reason,
            ...(last.message ? { message: last.message } : {}),
            startedAt: at(last.startedAt),
            finishedAt: at(last.finishedAt),
            containerID: last.id
          }
        }
      : {}
    const podIP = this.options.addresses.podIP(this.namespace, this.name)
    const hostIP = this.options.addresses.nodeAddress
    return {
      phase: started ? 'Running' : 'Pending',
      conditions: [
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: at(this.scheduledAt) },
        { type: 'Ready', status: this.ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: at(this.readyChangedAt), ...notReady },
        {
          type: 'ContainersReady',
          status: this.ready ? 'True' : 'False',
          lastProbeTime: null,
          lastTransitionTime: at(this.readyChangedAt),
          ...notReady
        },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: at(this.scheduledAt) }
      ],
      hostIP,
      podIP: started ? podIP : null,
      podIPs: started ? [{ ip: podIP }] : null,
      startTime: at(this.startTime),
      initContainerStatuses: (this.pod.spec.initContainers ?? []).map(c => ({
        name: c.name,
        image: c.image,
        imageID: imageId(c.image),
        ready: true,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: at(this.startTime), finishedAt: at(this.startTime) } },
        lastState: {}
      })),
      containerStatuses: this.containers.map(c => ({
        name: c.name,
        image: c.image,
        imageID: this.everStarted ? imageId(c.image) : '',
        ...(running ? { containerID: (this.state as { id: string }).id } : {}),
        ready: this.ready,
        started: running,
        restartCount: this.restartCount,
        state,
        lastState
      }))
    }
  }
}

function imageId(image: string | undefined): string {
  const name = image ?? ''
  const repo = name.replace(/:[^:/]*$/, '')
  const full = repo.includes('/') ? repo : `docker.io/library/${repo}`
  return `${full}@sha256:${createHash('sha256').update(name).digest('hex')}`
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}
