// The shape every action entry point shares: build settings, do the work, report failure with
// GitHub annotations for configuration problems. A failure also sets the `error` output (one
// line), so the root action's summary can say why its first failed step failed.
import * as core from '@actions/core'
import { ConfigError } from '../environment/problems.js'
import { annotateConfigError } from '../github/annotate.js'
import { oneLine } from '../output/printable.js'

/** Longest `error` output: a summary line, not a log. */
const MAX_ERROR_OUTPUT = 4000

export async function runAction(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (error) {
    if (error instanceof ConfigError) annotateConfigError(error)
    const message = error instanceof Error ? error.message : String(error)
    core.setOutput('error', oneLine(message.replace(/\s*\n\s*/g, ' ')).slice(0, MAX_ERROR_OUTPUT))
    core.setFailed(`${name}: ${message}`)
  }
}
