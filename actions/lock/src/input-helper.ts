import { LOCK_WAIT_DURATION } from '../../../workflows-lib/src/environment/duration.js'
import { durationInput, getKubeSettings, InputError, requiredInput, type KubeSettings } from '../../../workflows-lib/src/runner/index.js'
import { quoted } from '../../../workflows-lib/src/output/printable.js'

export type LockMode = 'acquire' | 'release'

export interface LockSettings {
  /** The environment directory as given, relative to the workspace. */
  environment: string
  kube: KubeSettings
  mode: LockMode
  /** How long acquire waits; undefined: the library's default. */
  lockTimeoutMs?: number
}

export function getSettings(): LockSettings {
  const mode = requiredInput('mode')
  if (mode !== 'acquire' && mode !== 'release') throw new InputError('mode', `${quoted(mode)} is not acquire or release`)
  return {
    environment: requiredInput('environment'),
    kube: getKubeSettings(),
    mode,
    lockTimeoutMs: durationInput('lock-timeout', LOCK_WAIT_DURATION)
  }
}
