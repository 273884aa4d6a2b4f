// The sandbox's cloud load balancers: every `type: LoadBalancer` Service gets
// status.loadBalancer.ingress after a delay, the way a cloud controller reports a provisioned LB.
//
// The "LB" is the loopback address of the pod the Service selects (ports pass straight through,
// as a Service whose port equals its targetPort, which is how per-server ZooKeeper LBs are made),
// so a client that dials the reported address reaches that pod's ZooKeeper. Kind `hostname`
// reports an AWS-style name instead, resolvable through the hosts file the controller writes
// (a JVM started with -Djdk.net.hosts.file=<file> reads names from it; /etc/hosts is not touched).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { apiPath, EventRecorder, type Informer, type KubeClient, type KubeObject } from './kube-client.js'
import type { AddressBook } from './addresses.js'
import type { Pod } from './kubelet.js'
import { labelMatcher } from './label-selector.js'

export type LbAddressKind = 'ip' | 'hostname'

export interface Service extends KubeObject {
  spec: {
    type?: string
    selector?: Record<string, string>
    ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[]
  }
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } }
}

export interface LbControllerOptions {
  client: KubeClient
  addresses: AddressBook
  /** Written (whole, atomically) on every change. */
  hostsFile: string
  /** What ingress carries (default ip); changeable with setAddressKind. */
  addressKind?: LbAddressKind
  /** From seeing the Service to reporting its ingress (default 500 ms). */
  delayMs?: number
  /** Services (name or namespace/name) that never get an ingress, until setPending(ref, false). */
  pending?: string[]
  /** Hostnames are <service>.<namespace>.<suffix> (default lb.sandbox.test). */
  hostnameSuffix?: string
  log?: (line: string) => void
}

const podNameLabel = 'statefulset.kubernetes.io/pod-name'

export class SandboxLoadBalancers {
  private informer?: Informer<Service>
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly pending: Set<string>
  private readonly hosts = new Map<string, string>()
  private readonly provisioned = new Set<string>()
  private readonly events: EventRecorder
  private kind: LbAddressKind
  private delayMs: number
  private hostnameSuffix: string
  private stopped = false

  constructor(readonly options: LbControllerOptions) {
    this.kind = options.addressKind ?? 'ip'
    this.delayMs = options.delayMs ?? 500
    this.hostnameSuffix = options.hostnameSuffix ?? 'lb.sandbox.test'
    this.pending = new Set(options.pending ?? [])
    this.events = new EventRecorder(options.client, { component: 'service-controller' })
  }

  get hostsFile(): string {
    return this.options.hostsFile
  }

  async start(): Promise<void> {
    this.writeHosts()
    this.informer = this.options.client.inform<Service>(apiPath('v1', 'services'), (type, svc) => this.onService(type, svc))
    await this.informer.synced
  }

  /** Applies to Services that get their ingress from now on. */
  setAddressKind(kind: LbAddressKind): void {
    this.kind = kind
  }

  /**
   * Applies to Services that get their ingress from now on: a Service deleted and recreated after
   * this gets a new hostname (as a recreated cloud LB gets a new DNS name), still reaching its pod.
   */
  setHostnameSuffix(suffix: string): void {
    this.hostnameSuffix = suffix
  }

  setDelay(ms: number): void {
    this.delayMs = ms
  }

  /** Holds (or releases) a Service's ingress, by name or namespace/name. */
  setPending(ref: string, pending: boolean): void {
    if (pending) this.pending.add(ref)
    else this.pending.delete(ref)
    if (!pending) for (const svc of this.informer?.cache.values() ?? []) this.onService('MODIFIED', svc)
  }

  hostnameOf(namespace: string, service: string): string {
    return `${service}.${namespace}.${this.hostnameSuffix}`
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await this.informer?.stop()
  }

  private onService(type: string, svc: Service): void {
    if (this.stopped) return
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`
    const ingress = svc.status?.loadBalancer?.ingress ?? []
    if (type === 'DELETED' || svc.spec.type !== 'LoadBalancer') {
      clearTimeout(this.timers.get(key))
      this.timers.delete(key)
      this.provisioned.delete(key)
      if (this.hosts.delete(key)) this.writeHosts()
      // A Service that stopped being a LoadBalancer loses its LB, as in a cloud.
      if (type !== 'DELETED' && ingress.length > 0) this.setIngress(svc, []).catch(e => this.fail(key, e))
      return
    }
    // provisioned: our status write may not have come back through the watch yet.
    if (ingress.length > 0 || this.timers.has(key) || this.provisioned.has(key)) return
    if (this.pending.has(key) || this.pending.has(svc.metadata.name)) return
    this.events
      .record({ ...svc, kind: 'Service', apiVersion: 'v1' }, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer')
      .catch(e => this.fail(key, e))
    this.timers.set(
      key,
      setTimeout(() => {
        this.provision(svc).catch(e => {
          this.timers.delete(key)
          this.fail(key, e)
        })
      }, this.delayMs)
    )
  }

  private async provision(svc: Service): Promise<void> {
    const { namespace = 'default', name } = svc.metadata
    const key = `${namespace}/${name}`
    if (this.stopped || this.pending.has(key) || this.pending.has(name)) {
      this.timers.delete(key)
      return
    }
    const address = await this.addressFor(svc)
    if (this.kind === 'hostname') {
      const hostname = this.hostnameOf(namespace, name)
      this.hosts.set(key, `${address} ${hostname}`)
      this.writeHosts()
      await this.setIngress(svc, [{ hostname }])
    } else await this.setIngress(svc, [{ ip: address }])
    this.provisioned.add(key)
    this.timers.delete(key)
    await this.events.record({ ...svc, kind: 'Service', apiVersion: 'v1' }, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer')
  }

  /**
   * The pod the selector names (statefulset.kubernetes.io/pod-name, even before the pod exists),
   * else the one pod it matches now; otherwise an address of the LB's own that nothing serves.
   */
  private async addressFor(svc: Service): Promise<string> {
    const { namespace = 'default', name } = svc.metadata
    const selector = svc.spec.selector ?? {}
    const { addresses, client } = this.options
    if (selector[podNameLabel]) return addresses.podAddress(namespace, selector[podNameLabel])
    if (Object.keys(selector).length > 0) {
      const pods = await client.list<Pod>(apiPath('v1', 'pods', namespace))
      const match = labelMatcher(selector)
      const selected = pods.items.filter(p => !p.metadata.deletionTimestamp && match(p.metadata.labels))
      if (selected.length === 1) return addresses.podAddress(namespace, selected[0].metadata.name)
    }
    return addresses.lbAddress(namespace, name)
  }

  private async setIngress(svc: Service, ingress: { ip?: string; hostname?: string }[]): Promise<void> {
    const { namespace, name, uid } = svc.metadata
    await this.options.client.patch(apiPath('v1', 'services', namespace, name, 'status'), {
      metadata: { uid },
      status: { loadBalancer: ingress.length > 0 ? { ingress } : null }
    })
  }

  private writeHosts(): void {
    const file = this.options.hostsFile
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const text = ['# written by the sandbox LB controller', '127.0.0.1 localhost', ...[...this.hosts.values()].sort(), ''].join('\n')
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, text)
    fs.renameSync(tmp, file)
  }

  private fail(key: string, e: unknown): void {
    this.options.log?.(`lb-controller: ${key}: ${(e as Error).message}`)
  }
}
