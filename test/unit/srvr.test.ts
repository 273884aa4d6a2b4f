import { describe, expect, it } from '@jest/globals'
import { parseSrvr, ZooKeeperNotServingError } from '../../workflows-lib/src/zookeeper/srvr.js'

// Answers captured from Debian's ZooKeeper 3.8.0: a 3-server ensemble plus an observer on
// loopback addresses (test/support/zookeeper.ts), after a few writes.
const LEADER = `Zookeeper version: 3.8.0-\${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 13/14.5/16
Received: 5
Sent: 4
Connections: 1
Outstanding: 0
Zxid: 0x100000007
Mode: leader
Node count: 6
Proposal sizes last/min/max: 48/48/91
`

const FOLLOWER = `Zookeeper version: 3.8.0-\${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.0/0
Received: 2
Sent: 1
Connections: 1
Outstanding: 0
Zxid: 0x100000000
Mode: follower
Node count: 5
`

const OBSERVER = `Zookeeper version: 3.8.0-\${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.0/0
Received: 1
Sent: 0
Connections: 1
Outstanding: 0
Zxid: 0x100000007
Mode: observer
Node count: 6
`

const STANDALONE = `Zookeeper version: 3.8.0-\${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.0/0
Received: 1
Sent: 0
Connections: 1
Outstanding: 0
Zxid: 0x0
Mode: standalone
Node count: 5
`

// A server that has lost quorum (or has none yet) answers this instead of its status.
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n'

describe('parseSrvr', () => {
  it('reads a leader, with its proposal sizes', () => {
    expect(parseSrvr(LEADER)).toEqual({
      version: '3.8.0',
      build: '3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC',
      mode: 'leader',
      zxid: 0x100000007n,
      nodeCount: 6,
      latency: { min: 13, avg: 14.5, max: 16 },
      received: 5,
      sent: 4,
      connections: 1,
      outstanding: 0,
      proposalSizes: { last: 48, min: 48, max: 91 }
    })
  })

  it('reads a follower', () => {
    const status = parseSrvr(FOLLOWER)
    expect(status.mode).toBe('follower')
    expect(status.zxid).toBe(0x100000000n)
    expect(status.zxid >> 32n).toBe(1n) // epoch
    expect(status.nodeCount).toBe(5)
    expect(status.proposalSizes).toBeUndefined()
  })

  it('reads an observer', () => {
    const status = parseSrvr(OBSERVER)
    expect(status.mode).toBe('observer')
    expect(status.zxid).toBe(0x100000007n)
    expect(status.version).toBe('3.8.0')
  })

  it('reads a standalone server with zxid 0', () => {
    expect(parseSrvr(STANDALONE)).toMatchObject({ mode: 'standalone', zxid: 0n })
  })

  it('reports a server that is not serving as such', () => {
    expect(() => parseSrvr(NOT_SERVING)).toThrow(ZooKeeperNotServingError)
    expect(() => parseSrvr(NOT_SERVING)).toThrow(/not currently serving requests: it has no quorum yet/)
  })

  it('rejects text that is not a srvr answer', () => {
    expect(() => parseSrvr('imok')).toThrow('Not a ZooKeeper srvr answer (no "Zookeeper version:" line): "imok"')
    expect(() => parseSrvr('')).toThrow(/Not a ZooKeeper srvr answer/)
  })

  it('rejects a truncated answer, naming the missing line', () => {
    expect(() => parseSrvr(LEADER.split('Mode:')[0])).toThrow('ZooKeeper srvr answer has no "Mode:" line')
  })

  it('rejects a zxid that is not hexadecimal', () => {
    expect(() => parseSrvr(FOLLOWER.replace('Zxid: 0x100000000', 'Zxid: 42'))).toThrow('"Zxid: 42" is not hexadecimal')
  })
})
