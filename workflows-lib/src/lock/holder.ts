// Who holds the rollout lock. In Actions one identity per run attempt and job, so every step of
// the root composite (each its own process) is the same holder; ZK_ROLLOUT_LOCK_HOLDER overrides
// it, which is how the composite hands its lock step's identity to the later steps.
import * as os from 'node:os'

export const HOLDER_ENV = 'ZK_ROLLOUT_LOCK_HOLDER'

export function holderIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[HOLDER_ENV]?.trim()
  // An empty override counts as unset: the composite's lock step sees its own output still empty.
  if (override) return override
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_RUN_ID) {
    const server = env.GITHUB_SERVER_URL || 'https://github.com'
    return `${server}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT || '1'} job ${env.GITHUB_JOB ?? ''}`
  }
  return `${userName(env)}@${os.hostname()} pid ${process.pid}`
}

function userName(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username
  } catch {
    // No passwd entry for the uid (some containers).
    return env.USER || env.LOGNAME || 'unknown'
  }
}
