// The files an observer VM gets: zoo.cfg, myid and docker-compose.yaml (DESIGN.md section 3).
import { EXPORTER_IMAGE } from '../environment/defaults.js'
import type { Environment, ObserverHost, Observers } from '../environment/types.js'
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

export function renderObserverZooCfg(input: ObserverRenderInput): string {
  checkServerAddresses(input.servers, { placeholders: input.placeholders })
  const { observers: o, host } = input
  const whitelist = ['srvr', 'mntr', 'ruok']
  const lines = [
    header(input.environment.name, `ZooKeeper observer ${host.id} (${host.host})`).trimEnd(),
    `tickTime=${o.tuning.tickTime}`,
    `initLimit=${o.tuning.initLimit}`,
    `syncLimit=${o.tuning.syncLimit}`,
    'dataDir=/data',
    'dataLogDir=/datalog',
    `clientPort=${o.clientPort}`,
    `maxClientCnxns=${o.tuning.maxClientCnxns}`,
    'autopurge.snapRetainCount=3',
    'autopurge.purgeInterval=24',
    // An observer follows the leader but never votes.
    'peerType=observer',
    // Static membership: with reconfig on, the ensemble would push its in-cluster names here.
    'reconfigEnabled=false',
    'standaloneEnabled=false',
    // Inside the container the VM's address does not exist; listen on all of the container's.
    'quorumListenOnAllIPs=true',
    // LoadBalancers and NAT drop idle connections; keepalive keeps the follower link alive.
    'tcpKeepAlive=true',
    `4lw.commands.whitelist=${whitelist.join(',')}`,
    'admin.enableServer=false',
    ...(o.metrics === 'native' ? [`metricsProvider.className=${PROMETHEUS_PROVIDER}`, `metricsProvider.httpPort=${o.metricsPort}`] : []),
    ...input.servers.map((address, i) => `server.${i + 1}=${address}:${QUORUM_PORT}:${ELECTION_PORT}`),
    `server.${host.id}=${host.host}:${QUORUM_PORT}:${ELECTION_PORT}:observer`
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
