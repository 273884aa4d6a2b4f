// The environment's drift issue against the GitHub API stand-in, through the real Octokit client:
// opened once when drift appears, its body replaced while drift persists, closed with a comment
// when it is gone; runs that could not check, other environments' issues and people's issues
// with the same label are left alone. Every request is checked against GitHub's REST description.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { getOctokit } from '@actions/github'
import { DRIFT_LABEL, syncDriftIssue } from '../../workflows-lib/src/github/drift-issue.js'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'

const repo = { owner: 'acme', repo: 'platform' }
let api: GitHubApiStandIn
let client: ReturnType<typeof getOctokit>

beforeEach(async () => {
  api = await startGitHubApi({ repository: `${repo.owner}/${repo.repo}` })
  client = getOctokit(api.token, { baseUrl: api.url })
})

afterEach(async () => {
  expect(api.invalid()).toEqual([])
  await api.stop()
})

const sync = (status: 'drift' | 'in-sync' | 'unchecked', markdown = 'table', environment = 'prod') =>
  syncDriftIssue(client, repo, { environment, status, markdown, runUrl: 'https://github.com/acme/platform/actions/runs/1' })

describe('drift issue', () => {
  it('is created once, updated while drift persists, and closed with a comment when it is gone', async () => {
    expect(await sync('in-sync')).toEqual({ action: 'none' })
    const created = await sync('drift', 'observer 102 lists 10.0.0.7')
    expect(created).toMatchObject({ action: 'created' })
    const number = (created as { number: number }).number
    expect(api.state.issues).toHaveLength(1)
    expect(api.state.issues[0]).toMatchObject({ title: 'Drift in environment prod', state: 'open', labels: [DRIFT_LABEL] })
    expect(api.state.issues[0].body).toBe('<!-- zk-rollout-drift: prod -->\nobserver 102 lists 10.0.0.7')

    expect(await sync('drift', 'observer 102 lists 10.0.0.7')).toEqual({ action: 'unchanged', number })
    expect(await sync('drift', 'observer 102 lists 10.0.0.7; replicas 4')).toEqual({ action: 'updated', number })
    expect(api.state.issues).toHaveLength(1)
    expect(api.state.issues[0].body).toContain('replicas 4')

    // A person edits the body in the web UI (GitHub stores CRLF): still the same issue.
    await client.rest.issues.update({ ...repo, issue_number: number, body: '<!-- zk-rollout-drift: prod -->\r\nreplicas 4\r\nnote from ops' })
    expect(await sync('drift', 'observer 102 lists 10.0.0.7; replicas 4')).toEqual({ action: 'updated', number })
    expect(api.state.issues).toHaveLength(1)

    // Could not check: not evidence either way.
    expect(await sync('unchecked')).toEqual({ action: 'none' })
    expect(api.state.issues[0].state).toBe('open')

    expect(
      await syncDriftIssue(client, repo, { environment: 'prod', status: 'in-sync', markdown: '', healed: 'Healed: the observers were redeployed.' })
    ).toEqual({ action: 'closed', number })
    expect(api.state.issues[0]).toMatchObject({ state: 'closed', state_reason: 'completed' })
    expect(api.state.comments.map(c => [c.issue_number, c.body])).toEqual([
      [number, 'The live state of environment `prod` matches Git again: closing.\n\nHealed: the observers were redeployed.']
    ])
    // Drift again later: a new issue (the closed one stays closed, with its history).
    expect(await sync('drift')).toMatchObject({ action: 'created' })
    expect(api.state.issues.map(i => i.state)).toEqual(['closed', 'open'])
  })

  it("leaves another environment's issue and a person's issue with the label alone", async () => {
    const theirs = await client.rest.issues.create({ ...repo, title: 'prod looks odd', body: 'zk-rollout-drift: prod?', labels: [DRIFT_LABEL] })
    await sync('drift', 'staging table', 'staging')
    const prod = await sync('drift', 'prod table', 'prod')
    expect(prod).toMatchObject({ action: 'created' })
    expect(api.state.issues).toHaveLength(3)
    await sync('in-sync', '', 'prod')
    const byNumber = new Map(api.state.issues.map(i => [i.number, i]))
    expect(byNumber.get(theirs.data.number)).toMatchObject({ state: 'open', body: 'zk-rollout-drift: prod?' })
    expect(api.state.issues.find(i => i.title === 'Drift in environment staging')!.state).toBe('open')
    expect(api.state.issues.find(i => i.title === 'Drift in environment prod')!.state).toBe('closed')
  })
})
