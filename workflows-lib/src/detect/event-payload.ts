// The event payload (the JSON file at GITHUB_EVENT_PATH): read once, and only the few fields
// detection needs are taken from it, each checked, since the commit ids go on to git.
import { readFile } from 'node:fs/promises'
import { quoted } from '../output/printable.js'
import { isCommitId } from './git.js'

export type EventPayload = Record<string, unknown>

export async function readEventPayload(file: string): Promise<EventPayload> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new Error(`cannot read the event payload ${quoted(file)}: ${(error as Error).message}`, { cause: error })
  }
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch {
    throw new Error(`the event payload ${quoted(file)} is not valid JSON`)
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new Error(`the event payload ${quoted(file)} is not a JSON object`)
  return payload as EventPayload
}

export interface PushEvent {
  ref: string
  before: string
  after: string
  created: boolean
  deleted: boolean
  forced: boolean
}

export interface PullRequestEvent {
  number?: number
  baseSha: string
  headSha: string
}

const field = (payload: EventPayload, ...keys: string[]): unknown =>
  keys.reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), payload)

function commitId(event: string, payload: EventPayload, keys: string[]): string {
  const value = field(payload, ...keys)
  if (!isCommitId(value))
    throw new Error(
      `the ${event} event payload's ${keys.join('.')} is ${value === undefined ? 'missing' : `${quoted(value)}, not a commit id`}: ` +
        `is event-path the ${event} event's payload?`
    )
  return value
}

export function pushEvent(payload: EventPayload): PushEvent {
  const ref = field(payload, 'ref')
  return {
    ref: typeof ref === 'string' ? ref : '',
    before: commitId('push', payload, ['before']),
    after: commitId('push', payload, ['after']),
    created: field(payload, 'created') === true,
    deleted: field(payload, 'deleted') === true,
    forced: field(payload, 'forced') === true
  }
}

export function pullRequestEvent(event: string, payload: EventPayload): PullRequestEvent {
  const number = field(payload, 'number') ?? field(payload, 'pull_request', 'number')
  return {
    number: typeof number === 'number' ? number : undefined,
    baseSha: commitId(event, payload, ['pull_request', 'base', 'sha']),
    headSha: commitId(event, payload, ['pull_request', 'head', 'sha'])
  }
}
