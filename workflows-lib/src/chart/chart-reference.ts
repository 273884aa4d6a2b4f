import * as path from 'node:path'
import type { Environment } from '../environment/types.js'

/** The bundled chart, relative to the repository (or action) root. */
export const BUNDLED_CHART_DIR = 'charts/zookeeper'

export interface ChartRoots {
  /** Where zk-rollout itself lives (its bundled chart). */
  bundled: string
  /** The user's repository root: `chart.path` is relative to it. */
  repository: string
}

/** Helm's chart argument and the flags that pin it, for `helm upgrade --install <release> ...`. */
export function chartReference(env: Pick<Environment, 'chart'>, roots: ChartRoots): { chart: string; flags: string[] } {
  const source = env.chart.source
  switch (source.kind) {
    case 'bundled':
      return { chart: path.join(roots.bundled, BUNDLED_CHART_DIR), flags: [] }
    case 'path':
      return { chart: path.resolve(roots.repository, source.path), flags: [] }
    case 'repo':
      return { chart: source.name, flags: ['--repo', source.url, '--version', source.version] }
    case 'oci':
      return { chart: source.url, flags: ['--version', source.version] }
  }
}
