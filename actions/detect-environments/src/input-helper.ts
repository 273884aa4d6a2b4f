// Reads every input once. Empty optional inputs stay undefined: the library owns the defaults.
// event-name and event-path fall back to the run's own event, so a plain `uses:` needs none.
import * as path from 'node:path'
import { InputError, optionalInput, stringListInput } from '../../../workflows-lib/src/runner/inputs.js'
import { workspace } from '../../../workflows-lib/src/runner/paths.js'

export interface DetectEnvironmentsSettings {
  /** The checkout, absolute. */
  repositoryPath: string
  eventName: string
  /** Undefined when there is no payload file (schedule and workflow_dispatch need none). */
  eventPath?: string
  environmentsRoot?: string
  shared?: string[]
  /** Names, or ["all"]. */
  select?: string[]
}

export function getSettings(): DetectEnvironmentsSettings {
  const eventName = optionalInput('event-name') ?? (process.env.GITHUB_EVENT_NAME || undefined)
  if (eventName === undefined) throw new InputError('event-name', 'is required when GITHUB_EVENT_NAME is not set (outside GitHub Actions)')
  return {
    repositoryPath: path.resolve(workspace(), optionalInput('repository-path') ?? '.'),
    eventName,
    eventPath: optionalInput('event-path') ?? (process.env.GITHUB_EVENT_PATH || undefined),
    environmentsRoot: optionalInput('environments-root'),
    shared: globsInput('shared'),
    select: stringListInput('select')
  }
}

/** One glob per line or per comma; spaces belong to the glob. */
function globsInput(name: string): string[] | undefined {
  const globs = optionalInput(name)
    ?.split(/[\n,]/)
    .map(g => g.trim())
    .filter(Boolean)
  return globs && globs.length > 0 ? globs : undefined
}
