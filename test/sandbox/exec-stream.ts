// The kubelet side of `kubectl exec` over WebSocket: the streaming protocol that kubectl 1.30+
// tries first (KEP 4006) and that the apiserver passes through to the kubelet unchanged. Each
// binary message is one channel byte (0 stdin, 1 stdout, 2 stderr, 3 error: a metav1.Status
// JSON, 255 close, v5 only) followed by data. Only what exec needs: no TTY resize, no SPDY.
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

export const STDIN = 0
export const STDOUT = 1
export const STDERR = 2
export const ERROR = 3
const CLOSE = 255

export interface ExecChannel {
  protocol: string
  send(channel: number, data: Buffer | string): void
  /** Sends the exit status on the error channel and closes the connection. */
  finish(exitCode: number, command: string[]): void
  onStdin(listener: (data: Buffer) => void): void
  /** v5 only: the client closed stdin. */
  onStdinEnd(listener: () => void): void
  /** The client went away before the command finished. */
  onClosed(listener: () => void): void
}

/** Answers the upgrade with a channel protocol both sides speak, or refuses with 400. */
export function acceptExec(req: IncomingMessage, socket: Duplex): ExecChannel | undefined {
  const key = req.headers['sec-websocket-key']
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map(p => p.trim())
  const protocol = PROTOCOLS.find(p => offered.includes(p))
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string' || !protocol) {
    socket.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n` +
        `the sandbox kubelet serves exec over WebSocket with ${PROTOCOLS.join(' or ')} only (offered: ${offered.join(', ') || 'none'})\n`
    )
    return undefined
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64')
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`
  )
  return new Channel(socket, protocol)
}

class Channel implements ExecChannel {
  private buffered = Buffer.alloc(0)
  private stdin: ((data: Buffer) => void)[] = []
  private stdinEnd: (() => void)[] = []
  private closed: (() => void)[] = []
  private done = false

  constructor(
    private readonly socket: Duplex,
    readonly protocol: string
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('close', () => this.hangUp())
    socket.on('error', () => this.hangUp())
  }

  private hungUp = false

  /** The connection is gone before the command finished: its listeners end the command. */
  private hangUp(): void {
    const early = !this.done
    this.done = true
    if (this.hungUp) return
    this.hungUp = true
    if (early) for (const l of this.closed) l()
  }

  onStdinEnd(listener: () => void): void {
    this.stdinEnd.push(listener)
  }

  onStdin(listener: (data: Buffer) => void): void {
    this.stdin.push(listener)
  }

  onClosed(listener: () => void): void {
    this.closed.push(listener)
  }

  send(channel: number, data: Buffer | string): void {
    if (this.done) return
    this.frame(2, Buffer.concat([Buffer.from([channel]), Buffer.from(data)]))
  }

  finish(exitCode: number, command: string[]): void {
    const status =
      exitCode === 0
        ? { metadata: {}, status: 'Success' }
        : {
            metadata: {},
            status: 'Failure',
            message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] }
          }
    this.send(ERROR, JSON.stringify(status))
    if (this.done) return
    this.frame(8, Buffer.from([0x03, 0xe8])) // close, 1000 normal
    this.done = true
    this.socket.end()
  }

  private frame(opcode: number, payload: Buffer): void {
    const n = payload.length
    const header = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
    if (n >= 126 && n < 65536) {
      header[0] = 0x80 | opcode
      header[1] = 126
      header.writeUInt16BE(n, 2)
    } else if (n >= 65536) {
      header[0] = 0x80 | opcode
      header[1] = 127
      header.writeBigUInt64BE(BigInt(n), 2)
    }
    this.socket.write(Buffer.concat([header, payload]))
  }

  /** Client frames are masked; control frames are answered, data goes to the stdin listeners. */
  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk])
    for (;;) {
      const b = this.buffered
      if (b.length < 2) return
      const opcode = b[0] & 0x0f
      let len = b[1] & 0x7f
      let at = 2
      if (len === 126) {
        if (b.length < 4) return
        len = b.readUInt16BE(2)
        at = 4
      } else if (len === 127) {
        if (b.length < 10) return
        len = Number(b.readBigUInt64BE(2))
        at = 10
      }
      const masked = (b[1] & 0x80) !== 0
      const mask = masked ? b.subarray(at, at + 4) : undefined
      if (masked) at += 4
      if (b.length < at + len) return
      const payload = Buffer.from(b.subarray(at, at + len))
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4]
      this.buffered = b.subarray(at + len)
      if (opcode === 9) this.frame(10, payload)
      else if (opcode === 8) {
        // The client hangs up: answer the close, and let the listeners end the command.
        this.frame(8, payload.subarray(0, 2))
        this.socket.end()
        this.hangUp()
        return
      } else if ((opcode === 2 || opcode === 1) && payload[0] === STDIN) {
        for (const l of this.stdin) l(payload.subarray(1))
      } else if ((opcode === 2 || opcode === 1) && payload[0] === CLOSE && payload[1] === STDIN) {
        // v5: the client closed stdin.
        for (const l of this.stdinEnd) l()
      }
      // Continuation frames (opcode 0) are not sent by kubectl for exec; they are ignored.
    }
  }
}
