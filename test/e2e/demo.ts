// npm run demo: the event-driven path on this machine. A sandbox cluster (real kube-apiserver,
// pods running real ZooKeeper servers) and two observer VMs (real sshd on loopback) stand in for
// the platform; a real git repository (this project plus environments/demo) stands in for the
// platform team's repository. A commit that adds environments/demo is "pushed": the push payload
// goes to rollout.yml through the local runner (detect -> one matrix job -> the root composite
// action), and the job summary is printed. A second push that changes nothing rollout.yml
// watches runs nothing. Then everything is torn down.
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import type { WorkflowRun } from '../runner/index.js'
import { addressBlocks } from '../support/addresses.js'
import { startGitHubApi, type GitHubApiStandIn } from '../support/github-api.js'
import { startReaper } from '../support/reaper/global-setup.mjs'
import { pushToMain } from './push.js'
import { copyOfProject } from './repository.js'
import { startWorld, type World } from './world.js'

const REPOSITORY = 'acme/platform'
// Ctrl-C or a kill of the demo must not leave its etcd, apiserver, JVMs and sshds running.
startReaper()
const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-rollout-demo-'))
const t0 = Date.now()
const say = (text: string): void => console.log(`\n### ${text} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)

function pushed(world: World, api: GitHubApiStandIn, repoDir: string, before: string, after: string): Promise<WorkflowRun> {
  return pushToMain({
    world,
    api,
    repository: REPOSITORY,
    repositoryDir: repoDir,
    environment: 'demo',
    before,
    after,
    log: line => console.log(`  ${line}`)
  })
}

function report(run: WorkflowRun): void {
  if (!run.triggered) {
    console.log(`rollout.yml was not triggered: ${run.reason}`)
    return
  }
  for (const job of run.jobs) {
    console.log(`job ${job.id}${job.matrix ? ` (${JSON.stringify(job.matrix)})` : ''}: ${job.conclusion}`)
    for (const step of job.steps) console.log(`  ${step.conclusion.padEnd(8)} ${step.name}`)
  }
}

say('starting the sandbox cluster and two observer VMs')
const world = await startWorld({ dir, addressBlock: addressBlocks.sandboxBlocks.demo, vmAddresses: addressBlocks.demoVms, name: 'demo' })
const api = await startGitHubApi({ repository: REPOSITORY })
let failed = false
try {
  say('the platform repository: this project, committed to a new git repository')
  const repo = copyOfProject(path.join(dir, 'platform'))
  const before = repo.head()
  const added = repo.commitDirectory('environments: add demo', world.environmentDir, 'environments/demo')
  console.log(`commit ${added.slice(0, 7)} adds environments/demo (environments/example is there too, unchanged)`)

  say(`push ${before.slice(0, 7)}..${added.slice(0, 7)} to main: rollout.yml runs`)
  const first = await pushed(world, api, repo.dir, before, added)
  report(first)
  const rollout = first.jobs.find(j => j.id === 'rollout')
  if (first.conclusion !== 'success' || !rollout) throw new Error('the rollout workflow failed')
  say('the job summary of environment demo')
  console.log(rollout.summary)

  say('the observers, asked directly')
  for (const o of world.observers) console.log(`observer ${o.id} at ${o.address}:\n${await fourLetterWord(o.address, 2181, 'srvr')}`)

  say('a second push that changes nothing rollout.yml watches')
  const docs = repo.commit('docs: a note for the team', { 'docs/zookeeper.md': 'Observers live in the other VPC.\n' })
  const second = await pushed(world, api, repo.dir, added, docs)
  report(second)
  if (second.triggered) throw new Error('a push that touches no environment must not run the rollout')
  console.log(`GitHub API requests: ${api.requests.length}, refused by GitHub's REST description: ${api.invalid().length}`)
} catch (error) {
  failed = true
  console.error(`demo failed: ${(error as Error).message}`)
} finally {
  say('tearing down')
  await api.stop()
  await world.stop()
  rmSync(dir, { recursive: true, force: true })
}
process.exitCode = failed ? 1 : 0
