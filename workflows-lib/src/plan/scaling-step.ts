// The part of a plan that a size change adds: the steps (3 -> 4 -> 5), what each restarts, and
// the observers that get a new server list after each. The current size comes from the live
// StatefulSet when a cluster is reachable, otherwise from the environment at a base revision.
import { execFile } from 'node:child_process'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import type { Environment } from '../environment/types.js'
import { scalingPlanFor } from '../ensemble/converge.js'
import { quoted } from '../output/printable.js'
import { formatSizes, ScalingRefusal, stepRestarts, type ScalingPlan } from '../scaling/plan.js'

export interface CurrentSize {
  servers: number
  /** Where it was read: `the live StatefulSet` or `<ref>:<file>`. */
  source: string
}

export interface ScalingPlanStep {
  summary: string
  details: string[]
  refusal?: string
}

export function scalingStep(env: Environment, current: CurrentSize): ScalingPlanStep | undefined {
  const to = env.ensemble.servers
  if (current.servers === to) return undefined
  const source = `current size ${current.servers} from ${current.source}`
  let plan: ScalingPlan | undefined
  try {
    // The same decision the rollout makes: planner steps for the bundled chart, one step otherwise.
    plan = scalingPlanFor(env, env.kubernetes.statefulSet, current.servers)
  } catch (e) {
    if (!(e instanceof ScalingRefusal)) throw e
    return { summary: `${current.servers} -> ${to} servers: refused`, details: [e.message, source], refusal: e.message }
  }
  if (!plan)
    return {
      summary: `${current.servers} -> ${to} servers through the chart's own values`,
      details: [source, "the chart's updateStrategy decides how its pods restart (zk-rollout orders restarts only under OnDelete)"]
    }
  const observers = env.observers?.hosts.map(h => h.id).join(', ')
  const details = [`${source}; one voter per step, so old and new majorities always intersect`]
  for (const step of plan.steps) {
    details.push(`step ${step.from} -> ${step.to}: ${stepRestarts(step, env.kubernetes.statefulSet).join('; ')}`)
    if (observers) details.push(`  then observers ${observers} get the ${step.to}-server list (rolling, each verified Mode: observer)`)
  }
  if (plan.unsafeSize) details.push(`unsafe size allowed by ensemble.allowUnsafeSize: ${plan.unsafeSize}`)
  return { summary: `scale ${formatSizes(plan)}`, details }
}

/** A git revision as `--base` takes it: never an option, never a path trick. */
const REF = /^[A-Za-z0-9_][-A-Za-z0-9_./~^@{}]{0,254}$/

const run = promisify(execFile)

/** ensemble.servers of the environment file as committed at `ref`; undefined when it did not exist there. */
export async function serversAtRevision(file: string, ref: string, repository: string): Promise<CurrentSize | undefined> {
  if (!REF.test(ref) || ref.includes('..')) throw new Error(`--base ${quoted(ref)} is not a git revision name (a branch, tag or commit)`)
  const relative = path.relative(repository, file).split(path.sep).join('/')
  let text: string
  try {
    text = (await run('git', ['-C', repository, 'show', `${ref}:./${relative}`], { maxBuffer: 4 * 2 ** 20 })).stdout
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '')
    if (/does not exist in|exists on disk, but not in/.test(stderr)) return undefined
    throw new Error(`--base ${ref}: cannot read ${relative} at that revision: ${stderr.trim().split('\n')[0] || (e as Error).message}`, { cause: e })
  }
  const servers = (parse(text) as { ensemble?: { servers?: unknown } } | null)?.ensemble?.servers
  if (!Number.isInteger(servers)) throw new Error(`--base ${ref}: ${relative} there has no integer ensemble.servers`)
  return { servers: servers as number, source: `${ref}:${relative}` }
}
