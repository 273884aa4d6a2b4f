import { connect } from 'node:net'
import { checkDelay, setSafeTimeout } from '../util/timer.js'

/** The four-letter words we use; servers must whitelist them (`4lw.commands.whitelist`). */
export type FourLetterWord = 'srvr' | 'mntr' | 'ruok' | 'stat'

export interface FourLetterWordOptions {
  /** Whole exchange, from connect to the server closing the connection. Default 5000 ms. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 5000

// ZooKeeper answers a word that is not whitelisted with this text instead of refusing it.
const NOT_WHITELISTED = /is not executed because it is not in the whitelist/

/**
 * Sends a four-letter word to a ZooKeeper server and returns its answer. ZooKeeper writes the
 * answer and closes the connection, so the answer is everything read until the close.
 */
export async function fourLetterWord(host: string, port: number, word: FourLetterWord, opts: FourLetterWordOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
  checkDelay(timeoutMs, `ZooKeeper '${word}' timeout`)
  const answer = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host, port })
    const timer = setSafeTimeout(
      () => {
        socket.destroy()
        reject(
          new Error(`ZooKeeper '${word}' to ${where} timed out after ${timeoutMs} ms: check that the server is running and reachable on that address`)
        )
      },
      timeoutMs,
      `ZooKeeper '${word}' timeout`
    )
    socket.on('connect', () => socket.end(word))
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      socket.destroy()
      const hint = err.code === 'ECONNREFUSED' ? ': nothing listens there; is ZooKeeper running with that clientPort/clientPortAddress?' : ''
      reject(new Error(`ZooKeeper '${word}' to ${where} failed: ${err.message}${hint}`))
    })
    socket.on('close', hadError => {
      clearTimeout(timer)
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'))
    })
  })
  if (NOT_WHITELISTED.test(answer)) {
    throw new Error(`ZooKeeper at ${where} refused '${word}': it is not in the whitelist; add it to 4lw.commands.whitelist in that server's zoo.cfg`)
  }
  if (answer === '') {
    throw new Error(`ZooKeeper '${word}' to ${where}: the server closed the connection without answering`)
  }
  return answer
}
