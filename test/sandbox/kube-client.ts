// A tiny Kubernetes REST client for the sandbox's node side (kubelet, LB controller): https with a
// bearer token and the cluster CA, JSON in and out, and list+watch that survives dropped streams
// and expired resource versions (410 Gone) the way client-go's reflector does.
import * as fs from 'node:fs'
import * as https from 'node:https'

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generateName?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[]
  finalizers?: string[]
}

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  [key: string]: unknown
}

export interface KubeList<T> {
  metadata: { resourceVersion: string }
  items: T[]
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface KubeClientOptions {
  apiUrl: string
  token: string
  caFile: string
  /** Per-request timeout for everything but watches. */
  timeoutMs?: number
  userAgent?: string
}

export interface Selectors {
  labelSelector?: string
  fieldSelector?: string
}

export interface DeleteOptions {
  gracePeriodSeconds?: number
  preconditions?: { uid?: string; resourceVersion?: string }
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
}

export type PatchType = 'merge' | 'strategic' | 'json'

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json'
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly body: string
  ) {
    super(`${method} ${path}: HTTP ${status} ${reason}: ${KubeApiError.messageOf(body)}`)
    this.name = 'KubeApiError'
  }

  private static messageOf(body: string): string {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300)
    } catch {
      return body.slice(0, 300)
    }
  }
}

/** `/api/v1/...` for the core group, `/apis/<group>/<version>/...` otherwise. */
export function apiPath(apiVersion: string, resource: string, namespace?: string, name?: string, subresource?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  const named = name ? `/${encodeURIComponent(name)}` : ''
  const sub = subresource ? `/${subresource}` : ''
  return `${base}${ns}/${resource}${named}${sub}`
}

export class KubeClient {
  private readonly url: URL
  private readonly ca: Buffer
  private readonly agent: https.Agent
  private readonly timeoutMs: number
  private readonly userAgent: string

  constructor(readonly options: KubeClientOptions) {
    this.url = new URL(options.apiUrl)
    this.ca = fs.readFileSync(options.caFile)
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: this.ca })
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.userAgent = options.userAgent ?? 'zk-rollout-sandbox'
  }

  async request<T>(
    method: string,
    path: string,
    opts: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {}
  ): Promise<T> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body))
    const fullPath = withQuery(path, opts.query)
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        {
          agent: this.agent,
          hostname: this.url.hostname,
          port: this.url.port,
          path: fullPath,
          method,
          timeout: this.timeoutMs,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: 'application/json',
            'user-agent': this.userAgent,
            ...(payload ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': payload.length } : {})
          }
        },
        res => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const status = res.statusCode ?? 0
            if (status < 200 || status >= 300) {
              reject(new KubeApiError(method, fullPath, status, res.statusMessage ?? '', text))
              return
            }
            try {
              resolve((text ? JSON.parse(text) : undefined) as T)
            } catch (e) {
              reject(new Error(`${method} ${fullPath}: response is not JSON: ${(e as Error).message}`))
            }
          })
        }
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${fullPath}: no answer within ${this.timeoutMs} ms`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path)
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined
      throw e
    }
  }

  list<T = KubeObject>(path: string, selectors: Selectors = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, { query: { ...selectors } })
  }

  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body })
  }

  replace<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body })
  }

  patch<T = KubeObject>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: patchContentTypes[type] })
  }

  delete<T = KubeObject>(path: string, options: DeleteOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', ...options }
    })
  }

  /**
   * One watch request. Calls onEvent for every event line and resolves when the stream ends
   * (server timeout, dropped connection); rejects on an HTTP error. The caller resumes.
   */
  watchOnce(
    path: string,
    opts: Selectors & { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: { type: string; object: Record<string, unknown> }) => void
  ): Promise<void> {
    const fullPath = withQuery(path, {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: String(opts.timeoutSeconds),
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector
    })
    return new Promise<void>((resolve, reject) => {
      // Watches get their own connection: a long-lived stream must not hold a pooled socket.
      const req = https.request(
        {
          hostname: this.url.hostname,
          port: this.url.port,
          path: fullPath,
          method: 'GET',
          ca: this.ca,
          signal: opts.signal,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: 'application/json',
            'user-agent': this.userAgent
          }
        },
        res => {
          const status = res.statusCode ?? 0
          if (status !== 200) {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => reject(new KubeApiError('GET', fullPath, status, res.statusMessage ?? '', Buffer.concat(chunks).toString())))
            res.on('error', reject)
            return
          }
          let pending = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            pending += chunk
            let nl: number
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl).trim()
              pending = pending.slice(nl + 1)
              if (!line) continue
              let event: { type: string; object: Record<string, unknown> }
              try {
                event = JSON.parse(line) as typeof event
              } catch {
                req.destroy()
                reject(new Error(`GET ${fullPath}: watch event is not JSON: ${line.slice(0, 200)}`))
                return
              }
              onEvent(event)
            }
          })
          // A cut stream ends without a trailing newline: the partial line is dropped, and the
          // caller resumes from the last complete event's resourceVersion.
          res.on('end', () => resolve())
          res.on('close', () => resolve())
          res.on('error', () => resolve())
        }
      )
      req.on('error', e => (opts.signal.aborted ? resolve() : reject(e)))
      req.end()
    })
  }

  /** List then watch `path`, keeping a cache; see Informer. */
  inform<T extends KubeObject>(path: string, handler: (type: WatchEventType, obj: T) => void, selectors: Selectors = {}): Informer<T> {
    return new Informer<T>(this, path, handler, selectors)
  }

  close(): void {
    this.agent.destroy()
  }
}

/**
 * list+watch with a local cache. A dropped stream resumes from the last seen resourceVersion;
 * 410 Gone (or any other watch error) relists and reports the difference as synthetic events,
 * so a handler sees every object's latest state exactly as if nothing had been lost.
 */
export class Informer<T extends KubeObject> {
  readonly cache = new Map<string, T>()
  private readonly abort = new AbortController()
  private resourceVersion = ''
  private syncedResolve!: () => void
  /** Resolves after the first list was delivered to the handler. */
  readonly synced = new Promise<void>(r => (this.syncedResolve = r))
  readonly done: Promise<void>
  /** Counters for tests of the resume logic. */
  readonly stats = { lists: 0, watches: 0, gone: 0 }

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly handler: (type: WatchEventType, obj: T) => void,
    private readonly selectors: Selectors
  ) {
    this.done = this.run()
  }

  stop(): Promise<void> {
    this.abort.abort()
    return this.done
  }

  private key(obj: KubeObject): string {
    return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`
  }

  private deliver(type: WatchEventType, obj: T): void {
    try {
      this.handler(type, obj)
    } catch (e) {
      console.error(`sandbox informer ${this.path}: handler failed on ${type} ${this.key(obj)}: ${(e as Error).stack}`)
    }
  }

  private async relist(): Promise<void> {
    const list = await this.client.list<T>(this.path, this.selectors)
    this.stats.lists++
    const seen = new Set<string>()
    for (const item of list.items) {
      const k = this.key(item)
      seen.add(k)
      const old = this.cache.get(k)
      this.cache.set(k, item)
      if (!old) this.deliver('ADDED', item)
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.deliver('MODIFIED', item)
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k)
        this.deliver('DELETED', old)
      }
    }
    this.resourceVersion = list.metadata.resourceVersion
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal
    let needList = true
    let failures = 0
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist()
          needList = false
          this.syncedResolve()
        }
        let sawEvent = false
        const started = Date.now()
        this.stats.watches++
        await this.client.watchOnce(
          this.path,
          // Spread the server-side timeouts like client-go (5-10 min) so streams do not all end together.
          {
            ...this.selectors,
            resourceVersion: this.resourceVersion,
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
            signal
          },
          event => {
            sawEvent = true
            if (event.type === 'ERROR') {
              // 410 Gone: our resourceVersion was compacted away; other errors: start over too.
              if ((event.object as { code?: number }).code === 410) this.stats.gone++
              needList = true
              return
            }
            const obj = event.object as T
            if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion
            if (event.type === 'BOOKMARK') return
            const k = this.key(obj)
            if (event.type === 'DELETED') this.cache.delete(k)
            else this.cache.set(k, obj)
            this.deliver(event.type as WatchEventType, obj)
          }
        )
        // A stream that ends at once with nothing in it counts as a failure, so a proxy that
        // cuts every watch cannot turn this loop into a busy loop.
        failures = sawEvent || Date.now() - started > 1000 ? 0 : failures + 1
      } catch (e) {
        if (signal.aborted) break
        if (e instanceof KubeApiError && e.status === 410) {
          this.stats.gone++
          needList = true
        } else if (failures >= 2) {
          needList = true
        }
        failures++
      }
      if (signal.aborted) break
      if (failures > 0) await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), signal)
    }
    this.syncedResolve()
  }
}

function withQuery(path: string, query?: Record<string, string | undefined>): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v)
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** metav1.Time: RFC 3339 with whole seconds, as the API stores it. */
export function kubeTime(at: Date = new Date()): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** metav1.MicroTime, for leases. */
export function kubeMicroTime(at: Date = new Date()): string {
  return at.toISOString().replace(/Z$/, '000Z')
}

export interface EventSource {
  component: string
  host?: string
}

/**
 * core/v1 Events the way client-go's recorder writes them: a repeat of the same reason and
 * message on the same object bumps `count` and `lastTimestamp` instead of adding a new Event.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>()
  /** Per event key, the write in flight: a repeat must not overtake the create it patches. */
  private readonly writes = new Map<string, Promise<void>>()

  constructor(
    private readonly client: KubeClient,
    private readonly source: EventSource
  ) {}

  record(
    obj: { apiVersion?: string; kind: string; metadata: ObjectMeta },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath?: string
  ): Promise<void> {
    const key = `${obj.metadata.uid}|${fieldPath ?? ''}|${type}|${reason}|${message}`
    const next = (): Promise<void> => this.write(key, obj, type, reason, message, fieldPath)
    const write = (this.writes.get(key) ?? Promise.resolve()).then(next, next)
    this.writes.set(key, write)
    return write
  }

  private async write(
    key: string,
    obj: { apiVersion?: string; kind: string; metadata: ObjectMeta },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath?: string
  ): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default'
    const now = kubeTime()
    const known = this.seen.get(key)
    if (known) {
      known.count++
      await this.client.patch(apiPath('v1', 'events', known.namespace, known.name), {
        count: known.count,
        lastTimestamp: now
      })
      return
    }
    const name = `${obj.metadata.name}.${(Date.now() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`
    await this.client.create(apiPath('v1', 'events', namespace), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion ?? 'v1',
        kind: obj.kind,
        namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {})
      },
      type,
      reason,
      message,
      source: this.source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? ''
    })
    this.seen.set(key, { name, namespace, count: 1 })
  }
}

/**
 * Watches the collection at `path` until `done(objects)` holds, and returns those objects.
 * On timeout the error names `what` and shows `describe(objects)` (default: names and phases).
 */
export async function waitForObjects<T extends KubeObject>(
  client: KubeClient,
  path: string,
  done: (objects: T[]) => boolean,
  opts: { what: string; timeoutMs: number; selectors?: Selectors; describe?: (objects: T[]) => string }
): Promise<T[]> {
  let resolveDone!: () => void
  const reached = new Promise<void>(r => (resolveDone = r))
  // check() can run from inform()'s callback before inform() has returned.
  // eslint-disable-next-line prefer-const
  let informer: Informer<T> | undefined
  const check = (): void => {
    if (informer && done([...informer.cache.values()])) resolveDone()
  }
  informer = client.inform<T>(path, () => check(), opts.selectors)
  await informer.synced
  check()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>(r => (timer = setTimeout(() => r('timeout'), opts.timeoutMs)))
  const outcome = await Promise.race([reached.then(() => 'done' as const), timedOut])
  clearTimeout(timer)
  await informer.stop()
  const objects = [...informer.cache.values()]
  if (outcome === 'timeout') {
    const describe =
      opts.describe ??
      ((objs: T[]) =>
        objs.map(o => `${o.metadata.name}: ${JSON.stringify((o as { status?: unknown }).status ?? {}).slice(0, 400)}`).join('\n') || '(none)')
    throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}; ${path} now:\n${describe(objects)}`)
  }
  return objects
}
