// `zk-rollout plan <environment dir>`: validate an environment and print what a rollout would do.
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadEnvironment } from '../environment/load.js'
import { ConfigError } from '../environment/problems.js'
import { environmentSchema } from '../environment/schema.js'
import { annotateConfigError } from '../github/annotate.js'
import { buildPlan, formatPlanText } from '../plan/plan.js'

export const USAGE = `Usage: zk-rollout plan <environment dir> [--servers a,b,c] [--format text|json]
       zk-rollout schema

  plan       Validate environments/<name>/environment.yaml and print every step and file a
             rollout would write. Without --servers, LoadBalancer addresses are placeholders.
  --servers  The servers' LoadBalancer addresses (IPs or hostnames), in ordinal order.
  --format   text (default) or json.
  schema     Print the JSON Schema of environment.yaml.

Exit codes: 0 ok, 1 invalid environment, 2 usage error.`

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  cwd: string
  /** zk-rollout's own root, where charts/zookeeper lives. */
  packageRoot: string
}

export function defaultPackageRoot(): string {
  // dist/cli/index.js or src/cli/main.ts -> three levels up is the repository root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
}

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { servers: { type: 'string' }, format: { type: 'string', default: 'text' }, help: { type: 'boolean', short: 'h' } }
    })
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out(`${USAGE}\n`)
    return 0
  }
  const [command, directory, ...rest] = positionals
  if (command === 'schema' && !directory) {
    io.out(`${JSON.stringify(environmentSchema, null, 2)}\n`)
    return 0
  }
  if (command !== 'plan' || !directory || rest.length > 0 || !['text', 'json'].includes(values.format ?? '')) {
    io.err(`${USAGE}\n`)
    return 2
  }
  const servers = values.servers?.split(',').map(s => s.trim()).filter(Boolean)
  try {
    const env = await loadEnvironment(path.resolve(io.cwd, directory))
    const plan = buildPlan(env, { servers, roots: { bundled: io.packageRoot, repository: io.cwd } })
    io.out(values.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanText(plan))
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
