// An HTTPS proxy between Kubernetes clients and the sandbox's apiserver that misbehaves on
// demand: answers 5xx/429, delays, or cuts (watch) streams, so retry and resume logic is tested
// against real protocol traffic instead of a mock. Clients reach it through their own kubeconfig;
// it forwards everything else untouched, Authorization header included, except protocol
// upgrades (exec), which it holds unanswered.
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { selfSignedCertificate } from './self-signed.js'

export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string
  /** Matched against the request path including the query string. */
  path?: RegExp | string
  /** Only watch requests (`?watch=1|true`), or only non-watch requests when false. */
  watch?: boolean
  /** Let this many matching requests through untouched before the rule acts. */
  skip?: number
  /** How many requests the rule acts on (default: every one). */
  times?: number
  /** Answer this instead of forwarding (body defaults to a Kubernetes Status object). */
  respond?: { status: number; body?: string; retryAfterSeconds?: number }
  /** Wait this long before forwarding (or before answering with `respond`). */
  delayMs?: number
  /** Forward, then cut the response this long after its headers went out. */
  cutAfterMs?: number
  /** Forward, then cut the response after this many complete lines (watch events). */
  cutAfterEvents?: number
}

export interface ActiveRule {
  readonly id: number
  readonly rule: FaultRule
  /** Requests the rule acted on. */
  readonly hits: number
  /** Matching requests seen, including skipped ones. */
  readonly matches: number
}

export interface ProxyLogEntry {
  method: string
  path: string
  status: number
  ruleId?: number
  /** What the rule did: 'respond', 'delay', 'cut'. */
  fault?: string
}

export interface FaultProxy {
  /** https://127.0.0.1:<port>, the server address for kubeconfigs. */
  url: string
  /** The proxy's self-signed certificate, to trust as the cluster CA. */
  caFile: string
  addRule(rule: FaultRule): ActiveRule
  removeRule(id: number): void
  clearRules(): void
  /** Every request, newest last (capped). */
  readonly log: ProxyLogEntry[]
  stop(): Promise<void>
}

export interface FaultProxyOptions {
  upstreamUrl: string
  upstreamCaFile: string
  /** Where the proxy's key and certificate go. */
  dir: string
  host?: string
  port?: number
  rules?: FaultRule[]
}

interface RuleState {
  id: number
  rule: FaultRule
  hits: number
  matches: number
}

const logCap = 2000

function isWatch(url: string): boolean {
  const q = new URL(url, 'https://x').searchParams.get('watch')
  return q === '1' || q === 'true'
}

function statusBody(code: number): string {
  const reason = code === 429 ? 'TooManyRequests' : code === 503 ? 'ServiceUnavailable' : 'InternalError'
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `injected by the sandbox fault proxy (HTTP ${code})`,
    reason,
    code
  })
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1'
  const { keyFile, certFile } = await selfSignedCertificate(options.dir, 'sandbox-fault-proxy', host)
  const upstream = new URL(options.upstreamUrl)
  const upstreamCa = fs.readFileSync(options.upstreamCaFile)
  const agent = new https.Agent({ keepAlive: true, ca: upstreamCa })
  const rules: RuleState[] = []
  const log: ProxyLogEntry[] = []
  let nextId = 1

  function record(entry: ProxyLogEntry): void {
    log.push(entry)
    if (log.length > logCap) log.splice(0, log.length - logCap)
  }

  function pick(req: http.IncomingMessage): RuleState | undefined {
    const url = req.url ?? '/'
    for (const r of rules) {
      const { method, path: p, watch, skip = 0, times = Infinity } = r.rule
      if (method && method.toUpperCase() !== req.method) continue
      if (p && !(typeof p === 'string' ? new RegExp(p) : p).test(url)) continue
      if (watch !== undefined && watch !== isWatch(url)) continue
      if (r.hits >= times) continue
      r.matches++
      if (r.matches <= skip) continue
      r.hits++
      return r
    }
    return undefined
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, r: RuleState | undefined): void {
    const url = req.url ?? '/'
    const headers = { ...req.headers, host: upstream.host }
    const up = https.request({ agent, hostname: upstream.hostname, port: upstream.port, method: req.method, path: url, headers }, upRes => {
      const status = upRes.statusCode ?? 502
      res.writeHead(status, upRes.statusMessage, upRes.headers)
      // Watch responses carry no body until the first event: send the headers now, or a
      // client waits for them as long as nothing changes.
      res.flushHeaders()
      const cutAfterEvents = r?.rule.cutAfterEvents
      const cutAfterMs = r?.rule.cutAfterMs
      const entry: ProxyLogEntry = { method: req.method ?? '', path: url, status, ruleId: r?.id }
      let timer: NodeJS.Timeout | undefined
      const cut = (): void => {
        entry.fault = 'cut'
        clearTimeout(timer)
        upRes.destroy()
        res.destroy()
      }
      if (cutAfterMs !== undefined) timer = setTimeout(cut, cutAfterMs)
      let lines = 0
      upRes.on('data', (chunk: Buffer) => {
        if (res.destroyed) return
        if (cutAfterEvents !== undefined) {
          let at = -1
          while ((at = chunk.indexOf(10, at + 1)) >= 0) {
            if (++lines >= cutAfterEvents) {
              res.write(chunk.subarray(0, at + 1))
              cut()
              return
            }
          }
        }
        res.write(chunk)
      })
      upRes.on('end', () => {
        clearTimeout(timer)
        res.end()
      })
      upRes.on('error', () => res.destroy())
      res.on('close', () => {
        clearTimeout(timer)
        upRes.destroy()
      })
      record(entry)
    })
    up.on('error', e => {
      record({ method: req.method ?? '', path: url, status: 502, ruleId: r?.id })
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' })
        res.end(`sandbox fault proxy: upstream ${options.upstreamUrl} failed: ${e.message}\n`)
      } else res.destroy()
    })
    req.pipe(up)
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const r = pick(req)
    if (r?.rule.delayMs) await new Promise(resolve => setTimeout(resolve, r.rule.delayMs))
    const respond = r?.rule.respond
    if (respond) {
      req.resume()
      const body = respond.body ?? statusBody(respond.status)
      res.writeHead(respond.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(respond.retryAfterSeconds !== undefined ? { 'retry-after': String(respond.retryAfterSeconds) } : {})
      })
      res.end(body)
      record({ method: req.method ?? '', path: req.url ?? '/', status: respond.status, ruleId: r.id, fault: 'respond' })
      return
    }
    forward(req, res, r)
  }

  const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
    handle(req, res).catch(e => {
      res.destroy(e as Error)
    })
  })
  server.on('secureConnection', (s: TLSSocket) => s.setNoDelay(true))
  // Protocol upgrades (kubectl exec, attach, port-forward) are not forwarded: the connection is
  // held open with no answer, like a proxy that does not speak them. Logged, so a test can see it.
  const held = new Set<Duplex>()
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    record({ method: req.method ?? '', path: req.url ?? '/', status: 0, fault: 'upgrade dropped' })
    held.add(socket)
    socket.on('close', () => held.delete(socket))
    socket.on('error', () => held.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  for (const rule of options.rules ?? []) addRule(rule)

  function addRule(rule: FaultRule): ActiveRule {
    const state: RuleState = { id: nextId++, rule, hits: 0, matches: 0 }
    rules.push(state)
    return state
  }

  return {
    url: `https://${host}:${port}`,
    caFile: certFile,
    addRule,
    removeRule(id) {
      const i = rules.findIndex(r => r.id === id)
      if (i >= 0) rules.splice(i, 1)
    },
    clearRules() {
      rules.length = 0
    },
    log,
    async stop() {
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeAllConnections()
      for (const socket of held) socket.destroy()
      agent.destroy()
      await closed
    }
  }
}
