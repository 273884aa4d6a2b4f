// A scale request from workflow_dispatch: the new ensemble.servers is checked against the
// environment's own rules, written as a one-line change, committed on its own branch and
// proposed as a pull request. Merging that pull request is what scales (rollout.yml), so the
// change gets the plan comment and a review like any other. Git runs without a shell, and the
// commit is built from HEAD's tree with a private index: the checkout's files, index and
// branch are left as they were, and nothing but environment.yaml can end up in the commit.
import { getExecOutput } from '@actions/exec'
import { promises as fs } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { setEnsembleServers } from '../environment/edit.js'
import { ENVIRONMENT_FILE, loadEnvironment } from '../environment/load.js'
import { isEnvironmentName, ENVIRONMENT_NAME_RULE } from '../environment/rules.js'
import { scalingPlanFor } from '../ensemble/converge.js'
import { CommandError } from '../kube/command.js'
import { formatSizes, planScaling, stepRestarts, type ScalingPlan } from '../scaling/plan.js'
import * as log from '../output/log.js'
import { quoted } from '../output/printable.js'
import { InputError } from '../runner/inputs.js'
import { currentRepository, eventPayload, githubClient, httpStatus, runUrl, type GitHubClient, type Repository } from './client.js'
import { DEFAULT_ENVIRONMENTS_ROOT } from './plan-comment.js'

export const SCALE_MARKER = '<!-- zk-rollout-scale -->'
const AUTHOR = { name: 'zk-rollout[bot]', email: 'zk-rollout[bot]@users.noreply.github.com' }
const DEFAULT_COMMITTER = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' }
const REMOTE = 'origin'

export interface ScaleRequestOptions {
  token: string
  /** The environment directory's name under the root. */
  environment: string
  servers: number
  environmentsRoot?: string
  /** The branch the pull request merges into; default the branch the workflow was dispatched on. */
  base?: string
  committer?: { name?: string; email?: string }
  workspace: string
}

export interface ScaleRequestResult {
  branch: string
  from: number
  to: number
  pullRequest: { number: number; url: string; created: boolean }
}

export const scaleBranch = (environment: string, servers: number): string => `zk-rollout/scale-${environment}-${servers}`

export function scaleRequestBody(opts: {
  environment: string
  file: string
  plan: ScalingPlan
  statefulSet: string
  observerIds: number[]
  requestedBy?: string
  runUrl?: string
}): string {
  const { plan } = opts
  const verb = plan.to > plan.from ? 'Grows' : 'Shrinks'
  const steps = plan.steps.flatMap(step => [
    `1. **${step.from} -> ${step.to}**: ${stepRestarts(step, opts.statefulSet).join('; ')}` +
      (opts.observerIds.length && step.to !== plan.to ? `; then observers ${opts.observerIds.join(', ')} get the ${step.to}-server list` : '')
  ])
  return [
    SCALE_MARKER,
    `${verb} the ZooKeeper ensemble of \`${opts.environment}\` from ${plan.from} to ${plan.to} servers: \`ensemble.servers\` in \`${opts.file}\` is the only change.`,
    '',
    'Merging this pull request rolls it out through `rollout.yml`, like any change to the environment. The plan workflow comments what ' +
      "that rollout does; a pull request opened with the workflow's own GITHUB_TOKEN starts no workflows, so if no plan appears, close and reopen it.",
    '',
    '### Planned steps',
    '',
    `${formatSizes(plan)}, one server at a time, so that every majority of one configuration meets every majority of the next:`,
    '',
    ...steps,
    ...(opts.observerIds.length ? ['', `After the last step the observers (${opts.observerIds.join(', ')}) get the ${plan.to}-server list.`] : []),
    ...(plan.unsafeSize ? ['', `**Unsafe size**, allowed by \`ensemble.allowUnsafeSize\`: ${plan.unsafeSize}.`] : []),
    '',
    `Requested${opts.requestedBy ? ` by @${opts.requestedBy}` : ''}${opts.runUrl ? ` in [this run](${encodeURI(opts.runUrl)})` : ''}.`,
    ''
  ].join('\n')
}

interface Git {
  (args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<string>
}

function gitIn(cwd: string): Git {
  return async (args, opts = {}) => {
    const shown = `git ${args.join(' ')}`
    log.debug(`running: ${shown}`)
    const result = await getExecOutput('git', args, {
      cwd,
      silent: true,
      ignoreReturnCode: true,
      env: { ...(process.env as Record<string, string>), GIT_TERMINAL_PROMPT: '0', ...opts.env },
      ...(opts.input !== undefined ? { input: Buffer.from(opts.input) } : {})
    })
    if (result.exitCode !== 0) throw new CommandError(shown, result)
    return result.stdout.trim()
  }
}

/** The branch the workflow was dispatched on (refs/heads/<name> of the event). */
function dispatchedBranch(): string | undefined {
  const ref = eventPayload().ref
  if (typeof ref === 'string' && ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length)
  return process.env.GITHUB_REF_TYPE === 'branch' ? process.env.GITHUB_REF_NAME || undefined : undefined
}

/** The edited file is loaded in place, so every rule (and every line in a message) is the real one; the original always comes back. */
async function checkEdited(file: string, edited: string, workspace: string): Promise<void> {
  const original = await fs.readFile(file, 'utf8')
  await fs.writeFile(file, edited)
  try {
    await loadEnvironment(file, { repository: workspace })
  } finally {
    await fs.writeFile(file, original)
  }
}

/** A commit of HEAD's tree with only `file` replaced, built in a private index. */
async function commitFile(git: Git, file: string, content: string, message: string, committer: { name: string; email: string }): Promise<string> {
  const top = await git(['rev-parse', '--show-toplevel'])
  const relative = path
    .relative(await fs.realpath(top), await fs.realpath(file))
    .split(path.sep)
    .join('/')
  const head = await git(['rev-parse', '--verify', 'HEAD^{commit}'])
  const entry = await git(['ls-tree', 'HEAD', '--', relative])
  const mode = /^(100644|100755) blob /.exec(entry)?.[1]
  if (!mode) throw new Error(`${quoted(relative)} is not a committed file at HEAD: check out the branch to scale`)
  const blob = await git(['hash-object', '-w', '--stdin', `--path=${relative}`], { input: content })
  const dir = await fs.mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'zk-rollout-index-'))
  try {
    const env = { GIT_INDEX_FILE: path.join(dir, 'index') }
    await git(['read-tree', 'HEAD'], { env })
    await git(['update-index', '--cacheinfo', `${mode},${blob},${relative}`], { env })
    const tree = await git(['write-tree'], { env })
    const commit = await git(['commit-tree', tree, '-p', head, '-F', '-'], {
      input: message,
      env: {
        GIT_AUTHOR_NAME: AUTHOR.name,
        GIT_AUTHOR_EMAIL: AUTHOR.email,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email
      }
    })
    const changed = await git(['diff-tree', '--no-commit-id', '--name-only', '-r', head, commit])
    if (changed !== relative) throw new Error(`the scale commit would change ${quoted(changed)}, not only ${quoted(relative)}`)
    return commit
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

/** Pushes `commit` as the branch; a leftover branch of a closed request is replaced, a concurrent push is not. */
async function pushBranch(git: Git, commit: string, branch: string): Promise<void> {
  const ref = `refs/heads/${branch}`
  const remote = (await git(['ls-remote', '--heads', REMOTE, ref])).split(/\s+/)[0] ?? ''
  await git(['push', '--porcelain', `--force-with-lease=${ref}:${remote}`, REMOTE, `${commit}:${ref}`])
}

export async function findOpenPullRequest(
  client: GitHubClient,
  repo: Repository,
  branch: string
): Promise<{ number: number; url: string } | undefined> {
  const { data } = await client.rest.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'open', per_page: 1 })
  return data[0] ? { number: data[0].number, url: data[0].html_url } : undefined
}

export async function requestScale(opts: ScaleRequestOptions): Promise<ScaleRequestResult> {
  if (!isEnvironmentName(opts.environment))
    throw new InputError('environment', `${quoted(opts.environment)} must be ${ENVIRONMENT_NAME_RULE}: the environment directory's name`)
  const root = path.resolve(opts.workspace, opts.environmentsRoot ?? DEFAULT_ENVIRONMENTS_ROOT)
  const directory = path.join(root, opts.environment)
  const file = path.join(directory, ENVIRONMENT_FILE)
  const current = await loadEnvironment(directory, { repository: opts.workspace })
  const from = current.ensemble.servers
  if (opts.servers === from)
    throw new Error(`${quoted(opts.environment)} already has ${from} servers (ensemble.servers is already ${from}): nothing to scale`)
  const edited = setEnsembleServers(await fs.readFile(file, 'utf8'), opts.servers)
  await checkEdited(file, edited, opts.workspace)
  // Refused here (even size, colliding observer id, a third-party chart's jump) opens nothing.
  // A third-party chart's single step has no plan of its own: the body shows it the same way.
  const target = { ...current, ensemble: { ...current.ensemble, servers: opts.servers } }
  const plan = scalingPlanFor(target, current.kubernetes.statefulSet, from) ?? planScaling({ from, to: opts.servers, allowUnsafeSize: true })

  const base = opts.base ?? dispatchedBranch()
  if (!base) throw new InputError('base', 'is required when the workflow was not dispatched on a branch')
  const branch = scaleBranch(opts.environment, opts.servers)
  const client = githubClient(opts.token)
  const repo = currentRepository()
  const existing = await findOpenPullRequest(client, repo, branch)
  if (existing) {
    log.info(`pull request #${existing.number} already proposes this: ${existing.url}`)
    return { branch, from, to: opts.servers, pullRequest: { ...existing, created: false } }
  }

  const shownFile = path.relative(opts.workspace, file).split(path.sep).join('/')
  const title = `Scale ${opts.environment} from ${from} to ${opts.servers} servers`
  const git = gitIn(opts.workspace)
  const commit = await commitFile(git, file, edited, `${title}\n\nChanges ensemble.servers in ${shownFile}; nothing else.\n`, {
    name: opts.committer?.name ?? DEFAULT_COMMITTER.name,
    email: opts.committer?.email ?? DEFAULT_COMMITTER.email
  })
  await pushBranch(git, commit, branch)
  log.info(`pushed ${commit.slice(0, 12)} to ${REMOTE} as ${branch}`)
  const body = scaleRequestBody({
    environment: opts.environment,
    file: shownFile,
    plan,
    statefulSet: current.kubernetes.statefulSet,
    observerIds: current.observers?.hosts.map(h => h.id) ?? [],
    requestedBy: process.env.GITHUB_ACTOR,
    runUrl: runUrl()
  })
  try {
    const { data } = await client.rest.pulls.create({ ...repo, title, head: branch, base, body })
    log.info(`opened pull request #${data.number}: ${data.html_url}`)
    return { branch, from, to: opts.servers, pullRequest: { number: data.number, url: data.html_url, created: true } }
  } catch (error) {
    // Another run opened it between our check and now.
    const raced = httpStatus(error) === 422 ? await findOpenPullRequest(client, repo, branch) : undefined
    if (raced) return { branch, from, to: opts.servers, pullRequest: { ...raced, created: false } }
    if (httpStatus(error) === 403)
      throw new Error(
        `cannot open the pull request (${(error as Error).message}): give the job "permissions: contents: write, pull-requests: write" and allow ` +
          'GitHub Actions to create pull requests (Settings > Actions > General)',
        { cause: error }
      )
    throw error
  }
}
