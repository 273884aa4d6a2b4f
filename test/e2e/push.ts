// A push to main of the platform repository, delivered to rollout.yml through the local runner,
// with the GitHub Environment the world's rollout needs (its kubeconfig and SSH key as secrets,
// its known_hosts as a variable). Used by `npm run demo` and the whole-rollout benchmark.
import { mkdtempSync, readFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { stringify } from 'yaml'
import { runWorkflow, type RunWorkflowOptions, type WorkflowRun } from '../runner/index.js'
import type { GitHubApiStandIn } from '../support/github-api.js'
import { pushPayload, validateWebhookPayload } from '../support/github-events.js'
import { useSandboxToolEnv } from '../support/kube.js'
import type { World } from './world.js'

export interface PushOptions {
  world: World
  api: GitHubApiStandIn
  /** 'owner/name' of the platform repository. */
  repository: string
  repositoryDir: string
  /** The GitHub Environment's name: the environment directory's name. */
  environment: string
  before: string
  after: string
  log?: (line: string) => void
}

export function pushToMain(o: PushOptions): Promise<WorkflowRun> {
  const payload = pushPayload({ repository: o.repository, ref: 'refs/heads/main', before: o.before, after: o.after })
  validateWebhookPayload('push', payload)
  const options: RunWorkflowOptions = {
    workflowFile: path.join(o.repositoryDir, '.github', 'workflows', 'rollout.yml'),
    event: { name: 'push', payload },
    repository: o.repository,
    repositoryDir: o.repositoryDir,
    sha: o.after,
    ref: 'refs/heads/main',
    environments: {
      [o.environment]: {
        secrets: {
          KUBECONFIG: stringify(JSON.parse(readFileSync(o.world.sandbox.kubeconfig, 'utf8'))),
          OBSERVER_SSH_KEY: readFileSync(o.world.sshKeyFile, 'utf8')
        },
        vars: { OBSERVER_KNOWN_HOSTS: readFileSync(o.world.knownHostsFile, 'utf8') }
      }
    },
    token: o.api.token,
    env: {
      ...useSandboxToolEnv(o.world.sandbox),
      PATH: `${path.dirname(o.world.sandbox.kubectl)}:${path.dirname(o.world.sandbox.helm4)}:${process.env.PATH}`,
      GITHUB_API_URL: o.api.url
    },
    // Short: ssh's control sockets live under RUNNER_TEMP, and a socket path has 108 bytes at most.
    tempDir: mkdtempSync(path.join(os.tmpdir(), 'zkd-')),
    log: o.log
  }
  return runWorkflow(options)
}
