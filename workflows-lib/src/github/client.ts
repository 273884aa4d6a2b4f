// The one place that talks to GitHub's REST API, and the run it talks about: the repository
// (GITHUB_REPOSITORY), the run's URL, and the event that started it (GITHUB_EVENT_PATH).
// GITHUB_API_URL points the client at GitHub Enterprise Server, or at a test stand-in.
import { getOctokit } from '@actions/github'
import { readFileSync } from 'node:fs'
import { quoted } from '../output/printable.js'

export type GitHubClient = ReturnType<typeof getOctokit>

export interface Repository {
  owner: string
  repo: string
}

export function githubClient(token: string): GitHubClient {
  const baseUrl = process.env.GITHUB_API_URL
  // Only when set: an undefined baseUrl would override the toolkit's api.github.com default.
  return getOctokit(token, baseUrl ? { baseUrl } : {})
}

/** owner/name of the repository the workflow runs in. */
export function currentRepository(): Repository {
  const full = process.env.GITHUB_REPOSITORY ?? ''
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(full)
  if (!match) throw new Error(`GITHUB_REPOSITORY ${quoted(full)} is not owner/name: run this inside GitHub Actions`)
  return { owner: match[1], repo: match[2] }
}

/** The Actions run's page, where its logs are: what a deployment status links to. */
export function runUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = process.env
  if (!repository || !runId) return undefined
  return `${server || 'https://github.com'}/${repository}/actions/runs/${runId}`
}

/** The webhook payload of the event that started the run; {} outside a runner. */
export function eventPayload(): Record<string, unknown> {
  const file = process.env.GITHUB_EVENT_PATH
  if (!file) return {}
  try {
    const payload: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {}
  } catch (error) {
    throw new Error(`the event payload GITHUB_EVENT_PATH=${quoted(file)} cannot be read: ${(error as Error).message}`, { cause: error })
  }
}

/** The HTTP status of a failed request (Octokit's RequestError), if it was one. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status
  return typeof status === 'number' ? status : undefined
}
