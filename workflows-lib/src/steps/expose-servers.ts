// Step 3: one LoadBalancer Service per server pod, Services of pods beyond the current size
// removed, and every address (IP, or hostname on AWS) waited for and returned in ordinal order.
import * as log from '../output/log.js'
import { serverServiceName } from '../environment/defaults.js'
import type { Environment } from '../environment/types.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { KubeEvent, KubeList, Service } from '../kube/types.js'
import { listAndWatch } from '../kube/watch.js'
import { managedLabels } from '../render/labels.js'
import { serverAddress } from '../render/observer-files.js'
import { checkServerAddresses } from '../render/server-addresses.js'
import { renderServerServices, SERVER_ROLE } from '../render/server-services.js'
import { applyManaged, type ApplyOutcome } from './apply-managed.js'

export interface ExposeServersOptions {
  kubectl: Kubectl
  env: Environment
  /** From deploy-chart (read from the release); defaults to the environment's. */
  statefulSet?: string
  /** Default: the environment's timeouts.loadBalancer. */
  timeoutMs?: number
}

export interface ExposeServersResult {
  services: { name: string; ordinal: number; address: string }[]
  addresses: string[]
  /** server.N=<address>:2888:3888 lines, ready for an observer's zoo.cfg. */
  serverLines: string[]
  outcome: ApplyOutcome
}

export function selectorFor(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

export async function exposeServers({ kubectl, env, statefulSet, ...opts }: ExposeServersOptions): Promise<ExposeServersResult> {
  const timeoutMs = opts.timeoutMs ?? env.timeouts.loadBalancerMs
  const namespace = env.kubernetes.namespace
  const names = Array.from({ length: env.ensemble.servers }, (_, i) => serverServiceName(env, i))
  const selector = selectorFor(managedLabels(env, SERVER_ROLE))
  const outcome = await applyManaged(kubectl, namespace, ['services'], selector, renderServerServices(env, statefulSet))
  log.info(
    `Services ${names.join(', ')}: ${outcome.changed.length} created or changed, ${outcome.unchanged.length} unchanged` +
      (outcome.deleted.length ? `, removed ${outcome.deleted.join(', ')} (pods beyond the current size)` : '')
  )

  const kind = env.expose.addressKind
  const addresses = new Map<string, string>()
  const started = Date.now()
  let lastLogged = 0
  await listAndWatch<Service>(kubectl, {
    path: `/api/v1/namespaces/${namespace}/services`,
    labelSelector: selector,
    what: 'LoadBalancer addresses',
    timeoutMs,
    timeoutError: () => new Error('pending'),
    onChange: objects => {
      for (const name of names) {
        const ingress = objects.get(name)?.status?.loadBalancer?.ingress?.[0]
        const address = kind === 'ip' ? ingress?.ip : ingress?.hostname
        if (address && !addresses.has(name)) {
          addresses.set(name, address)
          log.info(`${name}: ${address} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
        } else if (ingress && !address) {
          const other = kind === 'ip' ? `hostname ${ingress.hostname}` : `IP ${ingress.ip}`
          throw new Error(
            `Service ${name} got a LoadBalancer ${other}, but expose.addressKind is ${kind}: set addressKind to ${kind === 'ip' ? 'hostname' : 'ip'}`
          )
        }
      }
      if (Date.now() - lastLogged > 10_000 && addresses.size < names.length) {
        lastLogged = Date.now()
        log.info(`waiting for LoadBalancer ${kind === 'ip' ? 'IPs' : 'hostnames'}: ${names.filter(n => !addresses.has(n)).join(', ')}`)
      }
      return addresses.size === names.length
    }
  }).catch(async error => {
    if ((error as Error).message !== 'pending') throw error
    const pending = names.filter(n => !addresses.has(n))
    const details = await Promise.all(pending.map(name => serviceEvents(kubectl, namespace, name)))
    throw new Error(
      `no LoadBalancer ${kind === 'ip' ? 'IP' : 'hostname'} after ${Math.round(timeoutMs / 1000)} s for Service ${pending.join(', ')} in namespace ${namespace}. ` +
        `Check the cloud's load-balancer controller and the annotations (expose.cloud/annotations).` +
        details
          .filter(Boolean)
          .map(d => `\n${d}`)
          .join('')
    )
  })

  const ordered = names.map(name => addresses.get(name)!)
  // The cloud's answer goes into zoo.cfg lines and job outputs: it must be a plain host, too.
  checkServerAddresses(ordered)
  return {
    services: names.map((name, ordinal) => ({ name, ordinal, address: ordered[ordinal] })),
    addresses: ordered,
    serverLines: ordered.map((address, i) => `server.${i + 1}=${serverAddress(address)}`),
    outcome
  }
}

async function serviceEvents(kubectl: Kubectl, namespace: string, name: string): Promise<string> {
  try {
    const events = await kubectl.raw<KubeList<KubeEvent>>(
      `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=Service`)}`
    )
    const lines = events.items.slice(-5).map(e => `  ${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`)
    return lines.length ? `Service ${name} events:\n${lines.join('\n')}` : `Service ${name}: no events (no load-balancer controller acted on it)`
  } catch {
    return ''
  }
}
