import * as core from '@actions/core'
import * as path from 'node:path'
import type { ConfigError } from '../environment/problems.js'

/** One GitHub annotation per configuration problem, on the file and line it names. */
export function annotateConfigError(error: ConfigError, workspace = process.env.GITHUB_WORKSPACE ?? process.cwd()): void {
  for (const p of error.problems) {
    core.error(p.field ? `${p.field}: ${p.message}` : p.message, {
      title: 'zk-rollout: invalid environment',
      file: path.relative(workspace, p.file),
      startLine: p.line,
      startColumn: p.column
    })
  }
}
