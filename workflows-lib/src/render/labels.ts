import type { Environment } from '../environment/types.js'

/** Labels on every object zk-rollout itself creates (not the chart's), used to find them again. */
export function managedLabels(env: Pick<Environment, 'name' | 'kubernetes'>, role: string): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'zk-rollout',
    'app.kubernetes.io/instance': env.kubernetes.release,
    'zk-rollout/environment': env.name,
    'zk-rollout/role': role
  }
}
