// API server hiccups (restarts, overload, a proxy answering 5xx/429) are retried a bounded
// number of times with backoff; anything else fails at once.
import { CommandError } from './command.js'
import * as log from '../output/log.js'
import { sleep } from '../util/timer.js'

const transientPatterns = [
  /the server is currently unable to handle the request/i,
  /\(ServiceUnavailable\)|\(InternalError\)|\(TooManyRequests\)|\(Timeout\)/,
  /Internal error occurred/i,
  /too many requests/i,
  /status code:? 5\d\d|: 50[234] |code 50[0-4]\b/i,
  /connection refused|connection reset by peer|i\/o timeout|TLS handshake timeout|unexpected EOF|http2: client connection lost/i,
  /etcdserver: (request timed out|leader changed)/i,
  /the object has been modified; please apply your changes/i
]

export function isTransient(error: unknown): boolean {
  if (!(error instanceof CommandError)) return false
  const text = `${error.result.stderr}\n${error.result.stdout}`
  return transientPatterns.some(p => p.test(text))
}

export interface RetryOptions {
  attempts?: number
  baseDelayMs?: number
  what: string
}

export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const attempts = opts.attempts ?? 6
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts) throw error
      const delay = Math.min((opts.baseDelayMs ?? 250) * 2 ** (attempt - 1), 5000)
      const first = (error as Error).message.split('\n').slice(-1)[0]
      log.info(`${opts.what}: transient API error (attempt ${attempt}/${attempts}), retrying in ${delay} ms: ${first}`)
      await sleep(delay, `${opts.what}: retry`)
    }
  }
}
