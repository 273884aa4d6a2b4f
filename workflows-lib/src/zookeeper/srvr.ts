/** `Mode:` as ZooKeeper prints it; other values (e.g. `read-only`) pass through as text. */
export type SrvrMode = 'leader' | 'follower' | 'observer' | 'standalone' | (string & {})

export interface SrvrStatus {
  /** Release, e.g. `3.8.0`, for comparing observers with the ensemble. */
  version: string
  /** The whole `Zookeeper version:` value, build id and date included. */
  build: string
  mode: SrvrMode
  /** Last processed zxid: epoch in the high 32 bits, counter in the low 32 bits. */
  zxid: bigint
  nodeCount: number
  latency: { min: number; avg: number; max: number }
  received: number
  sent: number
  connections: number
  outstanding: number
  /** Only a leader reports proposal sizes. */
  proposalSizes?: { last: number; min: number; max: number }
}

/** The answer of a server that runs but has no quorum (yet), instead of its status. */
export class ZooKeeperNotServingError extends Error {
  constructor() {
    super('ZooKeeper is not currently serving requests: it has no quorum yet (still electing a leader or syncing), or lost it')
    this.name = 'ZooKeeperNotServingError'
  }
}

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests'

/** Parses the answer to `srvr` (or `stat`, whose extra client lines are ignored). */
export function parseSrvr(text: string): SrvrStatus {
  if (text.trim() === NOT_SERVING) throw new ZooKeeperNotServingError()
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    // Client lines of `stat` start with a space or '/', so only "Key: value" lines match.
    const m = /^([A-Za-z][A-Za-z/ ]*):\s*(.*?)\s*$/.exec(line)
    if (m) fields.set(m[1], m[2])
  }
  const build = fields.get('Zookeeper version')
  if (build === undefined) {
    throw new Error(`Not a ZooKeeper srvr answer (no "Zookeeper version:" line): ${JSON.stringify(text.slice(0, 200))}`)
  }
  const field = (name: string): string => {
    const value = fields.get(name)
    if (value === undefined) {
      throw new Error(`ZooKeeper srvr answer has no "${name}:" line: ${JSON.stringify(text.slice(0, 400))}`)
    }
    return value
  }
  const integer = (name: string): number => {
    const value = field(name)
    if (!/^-?\d+$/.test(value)) throw new Error(`ZooKeeper srvr answer: "${name}: ${value}" is not an integer`)
    return Number(value)
  }
  const triple = (name: string): [number, number, number] => {
    const parts = field(name).split('/').map(Number)
    if (parts.length !== 3 || parts.some(Number.isNaN)) {
      throw new Error(`ZooKeeper srvr answer: "${name}: ${field(name)}" is not three numbers a/b/c`)
    }
    return [parts[0], parts[1], parts[2]]
  }
  const zxidText = field('Zxid')
  if (!/^0x[0-9a-fA-F]+$/.test(zxidText)) throw new Error(`ZooKeeper srvr answer: "Zxid: ${zxidText}" is not hexadecimal`)
  const [min, avg, max] = triple('Latency min/avg/max')
  const status: SrvrStatus = {
    version: /^\d+\.\d+\.\d+/.exec(build)?.[0] ?? build,
    build,
    mode: field('Mode'),
    zxid: BigInt(zxidText),
    nodeCount: integer('Node count'),
    latency: { min, avg, max },
    received: integer('Received'),
    sent: integer('Sent'),
    connections: integer('Connections'),
    outstanding: integer('Outstanding')
  }
  if (fields.has('Proposal sizes last/min/max')) {
    const [last, pmin, pmax] = triple('Proposal sizes last/min/max')
    status.proposalSizes = { last, min: pmin, max: pmax }
  }
  return status
}
