// Loads environments/<name>/environment.yaml and the Helm values file it names.
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import { applyDefaults } from './defaults.js'
import { ConfigError, type ConfigProblem } from './problems.js'
import type { Environment } from './types.js'
import { parseEnvironmentText } from './validate.js'

export const ENVIRONMENT_FILE = 'environment.yaml'

/** Accepts the environment directory or its environment.yaml. Throws ConfigError on any problem. */
export async function loadEnvironment(location: string): Promise<Environment> {
  const file = path.resolve(location.endsWith('.yaml') || location.endsWith('.yml') ? location : path.join(location, ENVIRONMENT_FILE))
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message
    throw new ConfigError([{ file, field: '', line: 1, column: 1, message: `${reason}; an environment directory holds ${ENVIRONMENT_FILE}` }])
  }
  const { raw, problems } = parseEnvironmentText(text, file)
  if (!raw) throw new ConfigError(problems)
  const environment = applyDefaults(raw, file)
  const valuesProblem = await checkValuesFile(environment.chart.valuesFile, file, text)
  if (valuesProblem) throw new ConfigError([valuesProblem])
  return environment
}

/** The values file must exist and be a YAML mapping; helm would otherwise fail mid-rollout. */
async function checkValuesFile(valuesFile: string, envFile: string, envText: string): Promise<ConfigProblem | undefined> {
  let text: string
  try {
    text = await fs.readFile(valuesFile, 'utf8')
  } catch {
    const line = envText.split('\n').findIndex(l => /^\s*values\s*:/.test(l)) + 1
    return {
      file: envFile,
      field: 'chart.values',
      line: line || 1,
      column: 1,
      message: `values file ${path.relative(path.dirname(envFile), valuesFile)} not found next to ${path.basename(envFile)}`
    }
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const pos = lines.linePos(doc.errors[0].pos[0])
    return { file: valuesFile, field: '', line: pos.line, column: pos.col, message: `YAML: ${doc.errors[0].message.split('\n')[0]}` }
  }
  const contents = doc.toJS() as unknown
  if (contents !== null && (typeof contents !== 'object' || Array.isArray(contents)))
    return { file: valuesFile, field: '', line: 1, column: 1, message: 'Helm values must be a mapping' }
  return undefined
}
