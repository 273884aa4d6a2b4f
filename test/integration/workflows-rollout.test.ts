// The automation end to end, through the local runner (test/runner): rollout.yml on a push, the
// root composite action from a consumer's workspace, rollout-reusable.yml called from a
// consumer's workflow, and drift.yml (detect-drift's dist) keeping its issue. The world is real
// where it can be: a sandbox cluster whose pods run real ZooKeeper (the kubelet and LoadBalancer
// controller are ours), observer VMs behind real sshd
// (docker compose is our shim running a real ZooKeeper), real git repositories, event payloads
// valid against GitHub's webhook schemas, and a GitHub API stand-in that checks every request
// against GitHub's REST description.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { JSDOM } from 'jsdom'
import { mkdtempSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { stringify } from 'yaml'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { ObserverResult } from '../../workflows-lib/src/observers/results.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { copyOfProject, newRepository, type Repository } from '../e2e/repository.js'
import { startWorld, type World } from '../e2e/world.js'
import { runWorkflow, type JobRun, type RunWorkflowOptions, type StepRun, type WorkflowRun } from '../runner/index.js'
import { addressBlocks } from '../support/addresses.js'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'
import { pushPayload, validateWebhookPayload, workflowDispatchPayload } from '../support/github-events.js'
import { useSandboxToolEnv } from '../support/kube.js'
import { removeScanned } from '../support/secret-hygiene.js'

const REPOSITORY = 'acme/platform'
const base = mkdtempSync(path.join(os.tmpdir(), 'zk-workflows-'))
let world: World
let api: GitHubApiStandIn
let platform: Repository
let first: string
let added: string
let toolEnv: Record<string, string>
let parseMermaid: (text: string) => Promise<unknown>

beforeAll(async () => {
  world = await startWorld({
    dir: path.join(base, 'world'),
    addressBlock: addressBlocks.sandboxBlocks.workflows,
    vmAddresses: addressBlocks.workflowVms,
    name: 'demo'
  })
  toolEnv = useSandboxToolEnv(world.sandbox)
  api = await startGitHubApi({ repository: REPOSITORY })
  platform = copyOfProject(path.join(base, 'platform'))
  first = platform.head()
  added = platform.commitDirectory('environments: add demo', world.environmentDir, 'environments/demo')
  const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true })
  Object.assign(globalThis, { window: dom.window, document: dom.window.document })
  const { default: mermaid } = await import('mermaid')
  parseMermaid = text => mermaid.parse(text)
}, 240_000)

afterAll(async () => {
  await api?.stop()
  await world?.stop()
  removeScanned(base)
}, 120_000)

/** What a runner needs from this machine: the sandbox's kubectl and helm on PATH, their caches, the API stand-in. */
function runnerEnv(): Record<string, string> {
  const bins = [path.dirname(world.sandbox.kubectl), path.dirname(world.sandbox.helm4)]
  return { ...toolEnv, PATH: `${bins.join(':')}:${process.env.PATH}`, GITHUB_API_URL: api.url }
}

/** The demo environment's secrets and variables, as a GitHub Environment holds them. */
function environments(): RunWorkflowOptions['environments'] {
  return {
    demo: {
      // As users keep it: YAML. (Masks go line by line; a job output holding a masked string is
      // dropped, so a JSON kubeconfig's lone "{" would cost a job with that secret its outputs.)
      secrets: {
        KUBECONFIG: stringify(JSON.parse(readFileSync(world.sandbox.kubeconfig, 'utf8'))),
        OBSERVER_SSH_KEY: readFileSync(world.sshKeyFile, 'utf8')
      },
      vars: { OBSERVER_KNOWN_HOSTS: readFileSync(world.knownHostsFile, 'utf8') }
    }
  }
}

function push(repo: Repository, repository: string, before: string, after: string): RunWorkflowOptions['event'] {
  const payload = pushPayload({ repository, ref: 'refs/heads/main', before, after })
  validateWebhookPayload('push', payload)
  return { name: 'push', payload }
}

async function runOn(
  repo: Repository,
  workflow: string,
  before: string,
  after: string,
  extra: Partial<RunWorkflowOptions> = {}
): Promise<WorkflowRun> {
  return runWorkflow({
    workflowFile: path.join(repo.dir, '.github', 'workflows', workflow),
    event: push(repo, extra.repository ?? REPOSITORY, before, after),
    repository: REPOSITORY,
    repositoryDir: repo.dir,
    sha: after,
    ref: 'refs/heads/main',
    environments: environments(),
    token: api.token,
    env: runnerEnv(),
    tempDir: mkdtempSync(path.join(base, 'run-')),
    ...extra
  })
}

const job = (run: WorkflowRun, id: string): JobRun[] => run.jobs.filter(j => j.id === id || j.id.endsWith(`/${id}`))
const rootStep = (j: JobRun): StepRun => j.steps.find(s => s.uses === './' || s.uses?.startsWith('zk-rollout/zk-rollout@'))!
const describeRun = (run: WorkflowRun): string =>
  run.jobs
    .map(
      j =>
        `${j.id} ${j.conclusion}${j.error ? ` (${j.error})` : ''}\n${j.steps.map(s => `  ${s.name}: ${s.conclusion}\n${s.stderr.slice(-2000)}${s.stdout.slice(-3000)}`).join('\n')}`
    )
    .join('\n')

async function revision(): Promise<number> {
  const kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
  const secrets = await kubectl.list('secrets', 'zk', 'owner=helm,name=zk')
  return Math.max(...secrets.map(s => Number(s.metadata.labels?.version ?? 0)))
}

describe('rollout.yml on a push to main', () => {
  it('rolls out only the environment the push touched, through the root action', async () => {
    const run = await runOn(platform, 'rollout.yml', first, added)
    expect({ conclusion: run.conclusion, log: run.conclusion === 'success' ? '' : describeRun(run) }).toEqual({ conclusion: 'success', log: '' })
    const [detect] = job(run, 'detect')
    expect(JSON.parse(detect.outputs.matrix)).toEqual({ include: [{ environment: 'demo', directory: 'environments/demo' }] })
    // environments/example exists too, unchanged: one rollout job, for demo only.
    const rollouts = job(run, 'rollout')
    expect(rollouts).toHaveLength(1)
    const [rollout] = rollouts
    expect(rollout).toMatchObject({ environment: 'demo', concurrency: { group: 'zk-rollout-demo', cancelInProgress: false } })

    // The composite's outputs hold the LoadBalancer addresses, the pods' own addresses here.
    const outputs = rootStep(rollout).outputs
    const pods = [0, 1, 2].map(i => world.sandbox.podAddress('zk', `zk-zookeeper-${i}`))
    expect(JSON.parse(outputs.addresses)).toEqual(pods)
    expect(outputs.servers.split('\n')).toEqual(pods.map((a, i) => `server.${i + 1}=${a}:2888:3888`))
    expect(outputs['chart-changed']).toBe('true')
    const observers = JSON.parse(outputs.observers) as ObserverResult[]
    expect(observers.map(o => [o.id, o.status, o.verified, o.mode])).toEqual([
      [101, 'ok', true, 'observer'],
      [102, 'ok', true, 'observer']
    ])
    for (const o of world.observers) expect(parseSrvr(await fourLetterWord(o.address, 2181, 'srvr')).mode).toBe('observer')

    // One readable summary: the tables and a topology the real mermaid parser accepts.
    expect(rollout.summary).toContain('## zk-rollout: demo')
    expect(rollout.summary).toContain(`| 1 | zk-zookeeper-0 | zk0 | ${pods[0]} |`)
    expect(rollout.summary).toContain('| 101 | 127.0.0.95 | ok | zoo.cfg, myid, docker-compose.yaml | yes | observer |')
    const diagram = /```mermaid\n([\s\S]+?)\n```/.exec(rollout.summary)?.[1]
    expect(diagram).toContain('lb0 -- "2888/3888" --> obs101')
    await expect(parseMermaid(diagram!)).resolves.toBeTruthy()

    // A GitHub Deployment for the environment, in progress then successful; every request valid.
    expect(api.invalid()).toEqual([])
    expect(api.state.deployments.map(d => d.environment)).toEqual(['demo'])
    expect(api.state.deploymentStatuses.map(s => s.state)).toEqual(['in_progress', 'success'])
    expect(await revision()).toBe(1)
  })

  it('changes nothing when run again: no new Helm revision, no observer restart', async () => {
    const run = await runOn(platform, 'rollout.yml', first, added)
    expect({ conclusion: run.conclusion, log: run.conclusion === 'success' ? '' : describeRun(run) }).toEqual({ conclusion: 'success', log: '' })
    const outputs = rootStep(job(run, 'rollout')[0]).outputs
    expect(outputs['chart-changed']).toBe('false')
    expect(outputs.revision).toBe('1')
    expect((JSON.parse(outputs.observers) as ObserverResult[]).map(o => [o.changed, o.restarted, o.verified])).toEqual([
      [false, false, true],
      [false, false, true]
    ])
    expect(await revision()).toBe(1)
  })

  it('is not triggered by a push that changes nothing it watches', async () => {
    const readme = platform.commit('docs: a note', { 'docs-note.md': 'nothing to roll out\n' })
    const run = await runOn(platform, 'rollout.yml', added, readme)
    expect(run.triggered).toBe(false)
    expect(run.jobs).toEqual([])
  })
})

describe('from another repository', () => {
  // A consumer's repository: its environment and a workflow, nothing of zk-rollout's.
  const consumerFiles = (workflow: string): Record<string, string> => ({
    'environments/demo/environment.yaml': readFileSync(path.join(world.environmentDir, 'environment.yaml'), 'utf8'),
    'environments/demo/values.yaml': readFileSync(path.join(world.environmentDir, 'values.yaml'), 'utf8'),
    '.github/workflows/zookeeper.yml': workflow
  })

  it('runs the root action from a consumer workspace (uses: zk-rollout/zk-rollout@v0, its major tag)', async () => {
    const consumer = newRepository(
      path.join(base, 'consumer-action'),
      consumerFiles(`name: zookeeper
on: push
permissions:
  contents: read
jobs:
  demo:
    runs-on: ubuntu-latest
    environment: demo
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
      - id: zk
        uses: zk-rollout/zk-rollout@v0
        with:
          environment: environments/demo
          kubeconfig: \${{ secrets.KUBECONFIG }}
          ssh-private-key: \${{ secrets.OBSERVER_SSH_KEY }}
          known-hosts: \${{ vars.OBSERVER_KNOWN_HOSTS }}
      - run: test -n "$ADDRESSES"
        env:
          ADDRESSES: \${{ steps.zk.outputs.addresses }}
`)
    )
    const head = consumer.head()
    const run = await runOn(consumer, 'zookeeper.yml', '0000000000000000000000000000000000000000', head, {
      repository: 'acme/consumer',
      actions: { 'zk-rollout/zk-rollout': platform.dir }
    })
    expect({ conclusion: run.conclusion, log: run.conclusion === 'success' ? '' : describeRun(run) }).toEqual({ conclusion: 'success', log: '' })
    const outputs = rootStep(job(run, 'demo')[0]).outputs
    expect(JSON.parse(outputs.addresses)).toHaveLength(3)
    // The same environment as the platform's: already rolled out, so nothing changed.
    expect(outputs['chart-changed']).toBe('false')
  })

  it('runs rollout-reusable.yml called from a consumer workflow', async () => {
    const consumer = newRepository(
      path.join(base, 'consumer-reusable'),
      consumerFiles(`name: zookeeper
on: push
permissions:
  contents: read
jobs:
  rollout:
    uses: zk-rollout/zk-rollout/.github/workflows/rollout-reusable.yml@v0
    with:
      known-hosts: \${{ vars.OBSERVER_KNOWN_HOSTS }}
    secrets:
      KUBECONFIG: \${{ secrets.KUBECONFIG }}
      OBSERVER_SSH_KEY: \${{ secrets.OBSERVER_SSH_KEY }}
`)
    )
    const head = consumer.head()
    const run = await runOn(consumer, 'zookeeper.yml', '0000000000000000000000000000000000000000', head, {
      repository: 'acme/consumer',
      actions: { 'zk-rollout/zk-rollout': platform.dir },
      // The variable lives in the repository here; the job's GitHub Environment holds the secrets.
      vars: { OBSERVER_KNOWN_HOSTS: readFileSync(world.knownHostsFile, 'utf8') }
    })
    expect({ conclusion: run.conclusion, log: run.conclusion === 'success' ? '' : describeRun(run) }).toEqual({ conclusion: 'success', log: '' })
    const [rollout] = job(run, 'rollout').filter(j => j.matrix)
    expect(rollout).toMatchObject({ environment: 'demo', matrix: { environment: 'demo', directory: 'environments/demo' } })
    expect(JSON.parse(rootStep(rollout).outputs.addresses)).toHaveLength(3)
  })
})

describe('drift.yml', () => {
  // Its own repository: demo only (environments/example has no cluster to compare with here).
  let repo: Repository
  const schedule = (): Partial<RunWorkflowOptions> => ({
    event: { name: 'schedule', payload: { schedule: '17 */6 * * *', repository: { full_name: REPOSITORY }, workflow: '.github/workflows/drift.yml' } }
  })
  const dispatch = (inputs: Record<string, string>): Partial<RunWorkflowOptions> => {
    const payload = workflowDispatchPayload({ repository: REPOSITORY, ref: 'refs/heads/main', inputs, workflow: '.github/workflows/drift.yml' })
    validateWebhookPayload('workflow_dispatch', payload)
    return { event: { name: 'workflow_dispatch', payload }, inputs }
  }
  const runDrift = async (trigger: Partial<RunWorkflowOptions>): Promise<{ run: WorkflowRun; outputs: Record<string, string> }> => {
    const run = await runOn(repo, 'drift.yml', repo.head(), repo.head(), trigger)
    expect({ conclusion: run.conclusion, log: run.conclusion === 'success' ? '' : describeRun(run) }).toEqual({ conclusion: 'success', log: '' })
    const drifts = job(run, 'drift')
    expect(drifts.map(j => [j.environment, j.concurrency?.group])).toEqual([['demo', 'zk-rollout-drift-demo']])
    return { run, outputs: drifts[0].steps.find(s => s.uses === './actions/detect-drift')!.outputs }
  }
  const sts = ['statefulset/zk-zookeeper', '-n', 'zk']

  beforeAll(() => {
    repo = copyOfProject(path.join(base, 'drift-repo'), { exclude: f => f.startsWith('environments/') })
    repo.commitDirectory('environments: add demo', world.environmentDir, 'environments/demo')
  })

  it('on demand and on its schedule: nothing while in sync; one issue while drift lasts, closed when it is gone', async () => {
    const kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
    // Asked to heal (nothing to heal here), it still has its own group: the rollout lock, not the
    // group, keeps it apart from rollouts.
    const inSync = await runDrift(dispatch({ environments: 'demo', heal: 'observers' }))
    expect(inSync.outputs.status).toBe('in-sync')
    expect(inSync.outputs.issue ?? '').toBe('')
    expect(api.state.issues).toEqual([])

    await kubectl.run(['scale', ...sts, '--replicas=4'])
    try {
      const found = await runDrift(schedule())
      expect(found.outputs.status).toBe('drift')
      expect(JSON.parse(found.outputs.report).items.map((i: { kind: string }) => i.kind)).toEqual(['replicas'])
      expect(api.state.issues).toHaveLength(1)
      const [issue] = api.state.issues
      expect(issue).toMatchObject({ title: 'Drift in environment demo', state: 'open', labels: ['zk-rollout-drift'] })
      expect(issue.body).toContain('4 replicas live, Git says 3')
      expect(found.outputs.issue).toBe(String(issue.number))
      expect(job(found.run, 'drift')[0].summary).toContain('4 replicas live, Git says 3')

      // Still there on the next run: the same issue, not a second one.
      const again = await runDrift(schedule())
      expect(again.outputs.issue).toBe(String(issue.number))
      expect(api.state.issues).toHaveLength(1)
    } finally {
      await kubectl.run(['scale', ...sts, '--replicas=3'])
      await kubectl.run(['wait', '--for=delete', 'pod/zk-zookeeper-3', '-n', 'zk', '--timeout=120s']).catch(() => undefined)
    }
    const gone = await runDrift(schedule())
    expect(gone.outputs.status).toBe('in-sync')
    expect(api.state.issues.map(i => i.state)).toEqual(['closed'])
    expect(api.state.comments.filter(c => c.issue_number === api.state.issues[0].number).map(c => c.body)).toEqual([
      expect.stringContaining('matches Git again')
    ])
    expect(api.invalid()).toEqual([])
  })
})

describe('a failing step', () => {
  it('fails the run, names the step and its reason at the top of the summary, and releases the lock', async () => {
    // The sandbox's LoadBalancers report IPs; an environment that expects hostnames must fail.
    const file = path.join(platform.dir, 'environments', 'demo', 'environment.yaml')
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('addressKind: ip')
    const broken = platform.commit('demo: expect LoadBalancer hostnames', {
      'environments/demo/environment.yaml': text.replace('addressKind: ip', 'addressKind: hostname')
    })
    const run = await runOn(platform, 'rollout.yml', added, broken)
    expect(run.conclusion).toBe('failure')
    const [rollout] = job(run, 'rollout')
    expect(rollout.conclusion).toBe('failure')
    const lines = rollout.summary.split('\n')
    // The job's summary starts with it: the steps write no summaries of their own.
    expect(lines.slice(0, 4)).toEqual([
      '## zk-rollout: demo',
      '',
      '> [!CAUTION]',
      expect.stringMatching(/^> \*\*expose-servers failed\*\*: .*got a LoadBalancer IP .* but expose\.addressKind is hostname/)
    ])
    expect(api.state.deploymentStatuses.at(-1)?.state).toBe('failure')
    const kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
    const lease = await kubectl.getOptional<{ metadata: { name: string }; spec: { holderIdentity?: string } } & { kind: string; apiVersion: string }>(
      'leases.coordination.k8s.io',
      'zk-rollout-zk',
      'zk'
    )
    expect(lease?.spec.holderIdentity ?? '').toBe('')
  })
})
