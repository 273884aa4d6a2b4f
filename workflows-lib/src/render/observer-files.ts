// The files an observer VM gets: zoo.cfg, myid and docker-compose.yaml (DESIGN.md section 3).
import { EXPORTER_IMAGE } from '../environment/defaults.js'
import type { Environment, ObserverHost, Observers } from '../environment/types.js'
import { hostForAddress } from '../environment/rules.js'
import { propertyValue } from '../output/printable.js'
import { checkServerAddresses } from './server-addresses.js'
import { header, toYaml } from './yaml-text.js'

export const QUORUM_PORT = 2888
export const ELECTION_PORT = 3888
export const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider'

export interface ObserverFiles {
  'zoo.cfg': string
  myid: string
  'docker-compose.yaml': string
}

export const OBSERVER_FILE_NAMES: (keyof ObserverFiles)[] = ['zoo.cfg', 'myid', 'docker-compose.yaml']

export interface ObserverRenderInput {
  environment: Pick<Environment, 'name'>
  observers: Observers
  host: ObserverHost
  /** Server addresses in ordinal order: server.<i+1> is addresses[i]. */
  servers: readonly string[]
  placeholders?: boolean
}

/** One zoo.cfg line, key=value, the value escaped so that it stays on this line. */
const property = (key: string, value: string | number): string => `${key}=${propertyValue(String(value))}`

/** A server line's address part: host:2888:3888, IPv6 in brackets (ZooKeeper's own syntax). */
export const serverAddress = (host: string): string => `${hostForAddress(host)}:${QUORUM_PORT}:${ELECTION_PORT}`

export function renderObserverZooCfg(input: ObserverRenderInput): string {
  checkServerAddresses(input.servers, { placeholders: input.placeholders })
  const { observers: o, host } = input
  const whitelist = ['srvr', 'mntr', 'ruok']
  const lines = [
    header(input.environment.name, `ZooKeeper observer ${host.id} (${host.host})`).trimEnd(),
    property('tickTime', o.tuning.tickTime),
    property('initLimit', o.tuning.initLimit),
    property('syncLimit', o.tuning.syncLimit),
    property('dataDir', '/data'),
    property('dataLogDir', '/datalog'),
    property('clientPort', o.clientPort),
    property('maxClientCnxns', o.tuning.maxClientCnxns),
    property('autopurge.snapRetainCount', 3),
    property('autopurge.purgeInterval', 24),
    // An observer follows the leader but never votes.
    property('peerType', 'observer'),
    // Static membership: with reconfig on, the ensemble would push its in-cluster names here.
    property('reconfigEnabled', 'false'),
    property('standaloneEnabled', 'false'),
    // Inside the container the VM's address does not exist; listen on all of the container's.
    property('quorumListenOnAllIPs', 'true'),
    // LoadBalancers and NAT drop idle connections; keepalive keeps the follower link alive.
    property('tcpKeepAlive', 'true'),
    property('4lw.commands.whitelist', whitelist.join(',')),
    property('admin.enableServer', 'false'),
    ...(o.metrics === 'native'
      ? [property('metricsProvider.className', PROMETHEUS_PROVIDER), property('metricsProvider.httpPort', o.metricsPort)]
      : []),
    ...input.servers.map((address, i) => property(`server.${i + 1}`, serverAddress(address))),
    property(`server.${host.id}`, `${serverAddress(host.host)}:observer`)
  ]
  return `${lines.join('\n')}\n`
}

export function renderObserverMyid(host: ObserverHost): string {
  return `${host.id}\n`
}

export function renderObserverCompose(input: Omit<ObserverRenderInput, 'servers'>): string {
  const { observers: o, host } = input
  const logging = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } }
  const zookeeper = {
    image: o.image,
    restart: 'unless-stopped',
    // The image writes /data/myid from ZOO_MY_ID only when absent and defaults to 1, which
    // would collide with participant 1; the mounted myid file makes the id authoritative.
    environment: { ZOO_MY_ID: String(host.id) },
    ports: [`${o.clientPort}:${o.clientPort}`, ...(o.metrics === 'native' ? [`${o.metricsPort}:${o.metricsPort}`] : [])],
    volumes: ['./zoo.cfg:/conf/zoo.cfg:ro', './myid:/data/myid', 'data:/data', 'datalog:/datalog'],
    logging
  }
  const services: Record<string, unknown> = { zookeeper }
  if (o.metrics === 'exporter') {
    services.exporter = {
      image: EXPORTER_IMAGE,
      restart: 'unless-stopped',
      depends_on: ['zookeeper'],
      // reset-on-scrape would zero the counters for every other scraper: keep it off.
      command: ['-bind-addr=:9141', '-metrics-path=/metrics', `-zookeeper=zookeeper:${o.clientPort}`, '-reset-on-scrape=false'],
      ports: [`${o.metricsPort}:9141`],
      logging
    }
  }
  return header(input.environment.name, `ZooKeeper observer ${host.id} (${host.host})`) + toYaml({ services, volumes: { data: {}, datalog: {} } })
}

export function renderObserverFiles(input: ObserverRenderInput): ObserverFiles {
  return {
    'zoo.cfg': renderObserverZooCfg(input),
    myid: renderObserverMyid(input.host),
    'docker-compose.yaml': renderObserverCompose(input)
  }
}
