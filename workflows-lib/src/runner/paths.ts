import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChartRoots } from '../chart/chart-reference.js'
import { loadEnvironment } from '../environment/load.js'
import type { Environment } from '../environment/types.js'

/**
 * zk-rollout's own root, from a module URL inside actions/<name>/{src,dist}/: the bundled
 * chart lives there, wherever the caller's repository is.
 */
export function actionRoot(moduleUrl: string): string {
  return path.resolve(path.dirname(fileURLToPath(moduleUrl)), '..', '..', '..')
}

/** The caller's checkout: environment directories and chart paths are relative to it. */
export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

export function chartRoots(moduleUrl: string): ChartRoots {
  return { bundled: actionRoot(moduleUrl), repository: workspace() }
}

export function environmentPath(input: string): string {
  return path.resolve(workspace(), input)
}

/** The environment an action names, with chart.path resolved inside the caller's checkout. */
export function loadActionEnvironment(input: string): Promise<Environment> {
  return loadEnvironment(environmentPath(input), { repository: workspace() })
}
