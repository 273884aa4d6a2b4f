// The shape every action entry point shares: build settings, do the work, report failure with
// GitHub annotations for configuration problems.
import * as core from '@actions/core'
import { ConfigError } from '../environment/problems.js'
import { annotateConfigError } from '../github/annotate.js'

export async function runAction(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (error) {
    if (error instanceof ConfigError) {
      annotateConfigError(error)
      core.setFailed(`${name}: ${error.message}`)
      return
    }
    core.setFailed(`${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
