// `zk-rollout plan|rollout|drift <environment dir>`: what a rollout would do, the rollout itself, and
// what differs between Git and the live state.
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadEnvironment } from '../environment/load.js'
import { ConfigError } from '../environment/problems.js'
import { environmentSchema } from '../environment/schema.js'
import { annotateConfigError } from '../github/annotate.js'
import { serversAtRevision, type CurrentSize } from '../plan/scaling-step.js'
import type { Environment } from '../environment/types.js'
import type { StatefulSet } from '../kube/types.js'
import { buildPlan, formatPlanText } from '../plan/plan.js'
import { withSecretFiles } from '../runner/secret-file.js'
import { Helm } from '../kube/helm.js'
import { Kubectl } from '../kube/kubectl.js'
import { formatRolloutReport, rollout } from '../rollout/rollout.js'
import { detectAndHeal, driftStatus, EXIT_CODES, formatDriftJson, formatDriftText } from '../drift/index.js'
import { useActionsLog, useTerminalLog } from '../output/log.js'
import { inert, oneLine } from '../output/printable.js'

export const USAGE = `Usage: zk-rollout plan <environment dir> [--servers a,b,c] [--base ref] [--kubeconfig file] [--format text|json]
       zk-rollout rollout <environment dir> [--kubeconfig file] [--ssh-key file --known-hosts file]
                  [--kubectl path] [--helm path] [--rollback-on-failure] [--verbose]
       zk-rollout drift <environment dir> [--kubeconfig file] [--ssh-key file --known-hosts file]
                  [--kubectl path] [--helm path] [--format text|json] [--heal observers]
       zk-rollout schema

  plan       Validate environments/<name>/environment.yaml and print every step and file a
             rollout would write. Without --servers, LoadBalancer addresses are placeholders.
  --servers  The servers' LoadBalancer addresses (IPs or hostnames), in ordinal order.
  --base     A git revision (e.g. origin/main): a size change against the environment file
             there is planned one voter per step (3 -> 4 -> 5), with what each step restarts.
             With --kubeconfig, plan compares with the live StatefulSet instead (read-only).
  --format   text (default) or json.
  rollout    Run the rollout: deploy the chart, wait for pods in order, expose each server,
             deploy the observers over SSH (host keys checked against --known-hosts), and
             register them for monitoring. --kubeconfig defaults to $KUBECONFIG.
  --verbose  Also print debug lines (each command run).
  drift      Compare Git with the live state, read-only: the release and its values, the
             StatefulSet's size, the LoadBalancers and their addresses against what each
             observer lists, every observer's files (sha256 over SSH), its mode and lag behind
             the leader, the monitoring objects. Exit 0 in sync, 2 drift (even if some part
             could not be checked), 1 could not check or a usage error.
  --heal     observers: when the only drift is moved LoadBalancer addresses, redeploy the
             observers with the current ones (verified, rolled back on failure), then check again.
  schema     Print the JSON Schema of environment.yaml.

Exit codes: 0 ok, 1 invalid environment (or a size change a rollout would refuse), 2 usage error\n(drift: see above).`

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  cwd: string
  /** zk-rollout's own root, where charts/zookeeper lives. */
  packageRoot: string
  /** Resolves an executable name on PATH (or checks a path). */
  which: (tool: string) => Promise<string>
}

export function defaultPackageRoot(): string {
  // dist/cli/index.js or src/cli/main.ts -> three levels up is the repository root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
}

export async function run(argv: string[], given: Io): Promise<number> {
  // Nothing a user wrote may start a printed line: every write is made inert (printable.ts).
  const io: Io = { ...given, out: text => given.out(inert(text)), err: text => given.err(inert(text)) }
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        servers: { type: 'string' },
        format: { type: 'string', default: 'text' },
        base: { type: 'string' },
        kubeconfig: { type: 'string' },
        kubectl: { type: 'string', default: 'kubectl' },
        helm: { type: 'string', default: 'helm' },
        'ssh-key': { type: 'string' },
        'known-hosts': { type: 'string' },
        'rollback-on-failure': { type: 'boolean', default: false },
        heal: { type: 'string', default: 'none' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}\n`)
    // For drift, 2 means "drift found".
    return argv[0] === 'drift' ? 1 : 2
  }
  const { values, positionals } = parsed
  // In a runner, progress goes through @actions/core; in a terminal, as plain lines, on stderr
  // when stdout is JSON for a machine.
  if (process.env.GITHUB_ACTIONS === 'true') useActionsLog()
  else useTerminalLog(values.format === 'json' ? io.err : io.out, { verbose: values.verbose === true })
  if (values.help) {
    io.out(`${USAGE}\n`)
    return 0
  }
  const [command, directory, ...rest] = positionals
  if (command === 'schema' && !directory) {
    io.out(`${JSON.stringify(environmentSchema, null, 2)}\n`)
    return 0
  }
  if (command === 'rollout' && directory && rest.length === 0) {
    return runRollout(directory, values, io)
  }
  if (command === 'drift') {
    // Not 2: for drift, 2 means "drift found", and a script must not read a typo as that.
    if (!directory || rest.length > 0 || !['text', 'json'].includes(values.format ?? '') || !['none', 'observers'].includes(values.heal ?? '')) {
      io.err(`${USAGE}\n`)
      return 1
    }
    return runDrift(directory, values, io)
  }
  if (command !== 'plan' || !directory || rest.length > 0 || !['text', 'json'].includes(values.format ?? '')) {
    io.err(`${USAGE}\n`)
    return 2
  }
  const servers = values.servers
    ?.split(',')
    .map(s => s.trim())
    .filter(Boolean)
  return guarded(io, async () => {
    const env = await loadEnvironment(path.resolve(io.cwd, directory), { repository: io.cwd })
    const current = await currentSize(env, values, io)
    const plan = buildPlan(env, { servers, roots: { bundled: io.packageRoot, repository: io.cwd }, ...(current ? { current } : {}) })
    io.out(values.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanText(plan))
    // The plan is printed either way; a rollout of it would be refused, so this is a failure.
    if (plan.refusals.length > 0) throw new Error(`a rollout would be refused: ${plan.refusals.join('; ')}`)
  })
}

/**
 * The size the plan compares with: the live StatefulSet's when --kubeconfig is given and the
 * cluster answers (read-only: one get), else the environment file at --base, else none.
 */
async function currentSize(
  env: Environment,
  flags: { kubeconfig?: string; kubectl?: string; base?: string },
  io: Io
): Promise<CurrentSize | undefined> {
  if (flags.kubeconfig) {
    try {
      const kubectl = new Kubectl(await io.which(flags.kubectl ?? 'kubectl'), path.resolve(io.cwd, flags.kubeconfig))
      const sts = await kubectl.getOptional<StatefulSet>('statefulset', env.kubernetes.statefulSet, env.kubernetes.namespace)
      // No StatefulSet yet: a first install, which has nothing to scale from.
      return sts ? { servers: sts.spec.replicas ?? 1, source: 'the live StatefulSet' } : undefined
    } catch (error) {
      io.err(
        `zk-rollout: cannot read the live size (${(error as Error).message.split('\n')[0]})${flags.base ? `; comparing with --base ${flags.base}` : ''}\n`
      )
    }
  }
  return flags.base ? serversAtRevision(env.file, flags.base, io.cwd) : undefined
}

interface RolloutFlags {
  kubeconfig?: string
  kubectl?: string
  helm?: string
  'ssh-key'?: string
  'known-hosts'?: string
  'rollback-on-failure'?: boolean
}

async function runRollout(directory: string, flags: RolloutFlags, io: Io): Promise<number> {
  return guarded(io, async () => {
    const env = await loadEnvironment(path.resolve(io.cwd, directory), { repository: io.cwd })
    const kubeconfig = flags.kubeconfig ? path.resolve(io.cwd, flags.kubeconfig) : process.env.KUBECONFIG
    if (!kubeconfig) throw new Error('no cluster credentials: pass --kubeconfig or set KUBECONFIG')
    const [kubectl, helm] = await Promise.all([io.which(flags.kubectl ?? 'kubectl'), io.which(flags.helm ?? 'helm')])
    const read = (file: string): Promise<string> => fs.readFile(path.resolve(io.cwd, file), 'utf8')
    if (env.observers && (!flags['ssh-key'] || !flags['known-hosts']))
      throw new Error(`environment ${env.name} has observers: pass --ssh-key and --known-hosts (host keys are always verified)`)
    const credentials = env.observers ? { privateKey: await read(flags['ssh-key']!), knownHosts: await read(flags['known-hosts']!) } : undefined
    await withSecretFiles(async secretFiles => {
      const report = await rollout({
        env,
        kubectl: new Kubectl(kubectl, kubeconfig),
        helm: new Helm(helm, kubeconfig),
        roots: { bundled: io.packageRoot, repository: io.cwd },
        ...(credentials ? { ssh: { credentials, secretFiles } } : {}),
        rollbackOnFailure: flags['rollback-on-failure'] === true
      })
      io.out(formatRolloutReport(env, report))
    })
  })
}

interface DriftFlags extends RolloutFlags {
  format?: string
  heal?: string
}

async function runDrift(directory: string, flags: DriftFlags, io: Io): Promise<number> {
  let code = 1
  const status = await guarded(io, async () => {
    const env = await loadEnvironment(path.resolve(io.cwd, directory), { repository: io.cwd })
    const kubeconfig = flags.kubeconfig ? path.resolve(io.cwd, flags.kubeconfig) : process.env.KUBECONFIG
    if (!kubeconfig) throw new Error('no cluster credentials: pass --kubeconfig or set KUBECONFIG')
    const [kubectlPath, helmPath] = await Promise.all([io.which(flags.kubectl ?? 'kubectl'), io.which(flags.helm ?? 'helm')])
    const read = (file: string): Promise<string> => fs.readFile(path.resolve(io.cwd, file), 'utf8')
    const credentials =
      flags['ssh-key'] && flags['known-hosts']
        ? { privateKey: await read(flags['ssh-key']), knownHosts: await read(flags['known-hosts']) }
        : undefined
    const kubectl = new Kubectl(kubectlPath, kubeconfig)
    const helm = new Helm(helmPath, kubeconfig)
    const roots = { bundled: io.packageRoot, repository: io.cwd }
    await withSecretFiles(async secretFiles => {
      const ssh = credentials ? { credentials, secretFiles } : undefined
      const { drift } = await detectAndHeal({
        env,
        helm,
        kubectl,
        roots,
        ssh,
        heal: flags.heal === 'observers' ? 'observers' : 'none',
        log: line => io.err(`zk-rollout: ${oneLine(line)}\n`)
      })
      io.out(flags.format === 'json' ? formatDriftJson(drift) : formatDriftText(drift))
      code = EXIT_CODES[driftStatus(drift)]
    })
  })
  return status === 0 ? code : status
}

/** Runs a command body; configuration problems and failures become exit code 1 with a message. */
async function guarded(io: Io, body: () => Promise<void>): Promise<number> {
  try {
    await body()
    return 0
  } catch (error) {
    if (error instanceof ConfigError) {
      if (process.env.GITHUB_ACTIONS === 'true') annotateConfigError(error)
      io.err(`${error.message}\n`)
      return 1
    }
    io.err(`zk-rollout: ${(error as Error).message}\n`)
    return 1
  }
}
