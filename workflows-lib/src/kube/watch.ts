// List-then-watch over `kubectl get --raw <path>?watch=true`: one long-lived kubectl process
// streams events, so a change is seen within milliseconds and no client starts per check.
// A dropped stream resumes from the last resourceVersion; 410 Gone relists.
import { spawn } from 'node:child_process'
import type { Kubectl } from './kubectl.js'
import type { KubeList, KubeObject, WatchEvent } from './types.js'
import * as log from '../output/log.js'
import { checkDelay, setSafeTimeout } from '../util/timer.js'

export interface WatchOptions<T> {
  /** Collection path, e.g. /api/v1/namespaces/zk/pods */
  path: string
  labelSelector?: string
  fieldSelector?: string
  /** Called with every object after the list and after each event; return true when done. */
  onChange: (objects: ReadonlyMap<string, T>, event?: WatchEvent<T>) => boolean | void | Promise<boolean | void>
  /** Rejects with this error after timeoutMs. */
  timeoutMs: number
  timeoutError: () => Error
  /** Aborting rejects with the signal's reason (e.g. a per-item deadline or a fast failure). */
  signal?: AbortSignal
  what: string
}

function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)
  return entries.length ? `?${entries.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : ''
}

export async function listAndWatch<T extends KubeObject>(kubectl: Kubectl, opts: WatchOptions<T>): Promise<void> {
  const objects = new Map<string, T>()
  let resourceVersion = ''
  // Aborted when listAndWatch settles (done, timeout, abort or error). From then on work()
  // starts no kubectl, calls no onChange and leaves its backoff sleep at once, and the live
  // watch child is killed. A list in flight (kubectl.raw, bounded by --request-timeout) runs
  // to its end and its answer is dropped.
  const stop = new AbortController()
  const finished = (): boolean => stop.signal.aborted
  let child: ReturnType<typeof spawn> | undefined
  stop.signal.addEventListener('abort', () => child?.kill(), { once: true })

  /** Resolves after ms, or as soon as listAndWatch settles. */
  const pause = (ms: number): Promise<void> =>
    new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        stop.signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setSafeTimeout(done, ms, `${opts.what}: backoff`)
      stop.signal.addEventListener('abort', done, { once: true })
    })

  /** True when done, or when listAndWatch settled while the list was in flight. */
  const relist = async (): Promise<boolean> => {
    const list = await kubectl.raw<KubeList<T>>(`${opts.path}${query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector })}`)
    if (finished()) return true
    objects.clear()
    for (const item of list.items) objects.set(item.metadata.name, item)
    resourceVersion = list.metadata.resourceVersion
    return (await opts.onChange(objects)) === true
  }

  // One watch stream; resolves 'done', 'gone' (410: relist), or 'dropped' (resume).
  const watchOnce = (): Promise<'done' | 'gone' | 'dropped'> =>
    new Promise((resolve, reject) => {
      const path = `${opts.path}${query({
        watch: 'true',
        allowWatchBookmarks: 'true',
        resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector
      })}`
      // Checked in the same synchronous run as the spawn: either listAndWatch settled before
      // and nothing starts, or the child is `child` by the time it does and is killed then.
      if (finished()) return resolve('done')
      const proc = spawn(kubectl.binary, [...kubectl.baseArgs(), 'get', '--raw', path], { stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      let stderr = ''
      let outcome: 'done' | 'gone' | undefined
      let chain = Promise.resolve()
      proc.stderr.on('data', chunk => (stderr += String(chunk)))
      // Events are newline-framed. A stream cut mid-event leaves a fragment without its
      // newline: it is dropped, and the watch resumes from the last complete event.
      let pending = ''
      proc.stdout.setEncoding('utf8')
      proc.stdout.on('data', (chunk: string) => {
        pending += chunk
        let newline: number
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline)
          pending = pending.slice(newline + 1)
          if (line.trim()) handleLine(line)
        }
      })
      const handleLine = (line: string): void => {
        if (outcome) return
        chain = chain
          .then(async () => {
            if (outcome || finished()) return
            const event = JSON.parse(line) as WatchEvent<T>
            if (event.type === 'ERROR') {
              const status = event.object as unknown as { code?: number; message?: string }
              if (status.code === 410) outcome = 'gone'
              else log.info(`${opts.what}: watch error ${status.code ?? ''} ${status.message ?? ''}; resuming`)
              proc.kill()
              return
            }
            if (event.object?.metadata?.resourceVersion) resourceVersion = event.object.metadata.resourceVersion
            if (event.type === 'BOOKMARK') return
            if (event.type === 'DELETED') objects.delete(event.object.metadata.name)
            else objects.set(event.object.metadata.name, event.object)
            if ((await opts.onChange(objects, event)) === true) {
              outcome = 'done'
              proc.kill()
            }
          })
          .catch(error => {
            proc.kill()
            reject(error)
          })
      }
      proc.on('close', code => {
        void chain.then(() => {
          if (outcome) return resolve(outcome)
          if (!finished())
            log.info(
              `${opts.what}: watch stream ended (exit ${code})${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}; resuming from resourceVersion ${resourceVersion}`
            )
          resolve('dropped')
        })
      })
      proc.on('error', reject)
    })

  const work = async (): Promise<void> => {
    let needList = true
    let backoff = 100
    for (;;) {
      if (needList) {
        if (await relist()) return
        needList = false
      }
      const started = Date.now()
      const outcome = await watchOnce()
      if (outcome === 'done' || finished()) return
      if (outcome === 'gone') needList = true
      // A stream that died at once is the server refusing; back off. A long-lived one that
      // ended (server-side watch timeout) resumes immediately.
      backoff = Date.now() - started < 1000 ? Math.min(backoff * 2, 2000) : 100
      if (backoff > 100) await pause(backoff)
      if (finished()) return
    }
  }

  // A deadline a timer cannot hold is refused before any kubectl starts, as is an aborted signal.
  checkDelay(opts.timeoutMs, `${opts.what}: timeout`)
  opts.signal?.throwIfAborted()
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setSafeTimeout(() => reject(opts.timeoutError()), opts.timeoutMs, `${opts.what}: timeout`)
    onAbort = () => reject(opts.signal?.reason)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([work(), timeout])
  } finally {
    clearTimeout(timer)
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort)
    stop.abort()
  }
}
