// Loads environments/<name>/environment.yaml and the Helm values file it names. Paths are checked
// by what they resolve to, not by their text: a symlink out of the environment (or, for
// chart.path, out of the repository) is refused, and so is anything that is not a regular file
// (a FIFO would block the read forever, a device would never end).
import { promises as fs, type Stats } from 'node:fs'
import * as path from 'node:path'
import { quoted } from '../output/printable.js'
import { applyDefaults } from './defaults.js'
import { ConfigError, formatField, type ConfigProblem, type FieldPath } from './problems.js'
import { ENVIRONMENT_NAME_RULE, isEnvironmentName } from './rules.js'
import type { Environment } from './types.js'
import { parseEnvironmentText } from './validate.js'
import { MAX_ENVIRONMENT_BYTES, MAX_VALUES_BYTES, parseYamlSource } from './yaml-source.js'

export const ENVIRONMENT_FILE = 'environment.yaml'

export interface LoadOptions {
  /** The repository root: chart.path is relative to it and must resolve inside it. Default: the working directory. */
  repository?: string
}

/** Accepts the environment directory or its environment.yaml. Throws ConfigError on any problem. */
export async function loadEnvironment(location: string, opts: LoadOptions = {}): Promise<Environment> {
  const file = path.resolve(location.endsWith('.yaml') || location.endsWith('.yml') ? location : path.join(location, ENVIRONMENT_FILE))
  const directory = path.dirname(file)
  const whole = (message: string): ConfigProblem => ({ file, field: '', line: 1, column: 1, message })

  const name = path.basename(directory)
  if (!isEnvironmentName(name))
    throw new ConfigError([whole(`the environment directory name ${quoted(name)} must be ${ENVIRONMENT_NAME_RULE}: rename the directory`)])

  const read = await readUserFile(file, directory, MAX_ENVIRONMENT_BYTES, `an environment directory holds ${ENVIRONMENT_FILE}`)
  if (typeof read !== 'string') throw new ConfigError([whole(read.problem)])
  const { raw, problems, locate } = parseEnvironmentText(read, file)
  if (!raw) throw new ConfigError(problems)
  const at = (field: FieldPath, message: string): ConfigProblem => ({ file, field: formatField(field), ...locate(field), message })

  const environment = applyDefaults(raw, file)
  const found: ConfigProblem[] = []
  const values = await readUserFile(environment.chart.valuesFile, directory, MAX_VALUES_BYTES, `it must be next to ${ENVIRONMENT_FILE}`)
  const shown = quoted(path.relative(directory, environment.chart.valuesFile))
  if (typeof values !== 'string')
    found.push(
      at(
        ['chart', 'values'],
        values.problem.startsWith('file not found')
          ? `values file ${shown} not found next to ${ENVIRONMENT_FILE}`
          : `values file ${shown} ${values.problem}`
      )
    )
  else found.push(...checkValues(values, environment.chart.valuesFile))
  if (environment.chart.source.kind === 'path') {
    const problem = await chartDirectoryProblem(
      path.resolve(opts.repository ?? process.cwd(), environment.chart.source.path),
      opts.repository ?? process.cwd()
    )
    if (problem) found.push(at(['chart', 'path'], `${quoted(environment.chart.source.path)} ${problem}`))
  }
  if (found.length > 0) throw new ConfigError(found)
  return environment
}

/** Why a path cannot be read as the user's file, in words; undefined when it is a regular file. */
function kindProblem(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined
  const kind = stats.isDirectory()
    ? 'a directory'
    : stats.isFIFO()
      ? 'a FIFO (named pipe)'
      : stats.isSocket()
        ? 'a socket'
        : stats.isCharacterDevice() || stats.isBlockDevice()
          ? 'a device'
          : 'not a regular file'
  return `is ${kind}, not a regular file`
}

function errnoProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'file not found'
  if (code === 'ELOOP') return 'is a symlink loop'
  if (code === 'EACCES') return 'cannot be read (permission denied)'
  return `cannot be read (${code ?? (error as Error).message})`
}

const inside = (child: string, parent: string): boolean => child === parent || child.startsWith(`${parent}${path.sep}`)

/** The file's text, or why it is refused: it must resolve inside `root`, be a regular file and at most `maxBytes`. */
async function readUserFile(file: string, root: string, maxBytes: number, hint: string): Promise<string | { problem: string }> {
  let real: string
  let realRoot: string
  try {
    ;[real, realRoot] = await Promise.all([fs.realpath(file), fs.realpath(root)])
  } catch (error) {
    const problem = errnoProblem(error)
    return { problem: problem === 'file not found' ? `${problem}; ${hint}` : problem }
  }
  if (!inside(real, realRoot)) return { problem: `resolves to ${quoted(real)}, outside ${quoted(realRoot)} (through a symlink): refused` }
  let stats: Stats
  try {
    stats = await fs.stat(real)
  } catch (error) {
    return { problem: errnoProblem(error) }
  }
  const kind = kindProblem(stats)
  if (kind) return { problem: kind }
  if (stats.size > maxBytes) return { problem: `has ${stats.size} bytes, more than the ${maxBytes} allowed` }
  // O_NONBLOCK: should the file have been swapped for a FIFO since the check, the open does not block.
  const handle = await fs.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  try {
    const again = await handle.stat()
    if (!again.isFile()) return { problem: kindProblem(again) ?? 'is not a regular file' }
    const buffer = Buffer.alloc(Math.min(again.size, maxBytes) + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    if (bytesRead > maxBytes) return { problem: `has more than the ${maxBytes} bytes allowed` }
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}

/** The values file must be a YAML mapping; helm would otherwise fail mid-rollout. */
function checkValues(text: string, valuesFile: string): ConfigProblem[] {
  const source = parseYamlSource(text, valuesFile, MAX_VALUES_BYTES)
  if (source.problems.length > 0) return source.problems
  const contents = source.value
  if (contents !== null && contents !== undefined && (typeof contents !== 'object' || Array.isArray(contents)))
    return [{ file: valuesFile, field: '', line: 1, column: 1, message: 'Helm values must be a mapping' }]
  return []
}

async function chartDirectoryProblem(chart: string, repository: string): Promise<string | undefined> {
  let real: string
  let realRepository: string
  try {
    ;[real, realRepository] = await Promise.all([fs.realpath(chart), fs.realpath(repository)])
  } catch (error) {
    return `${errnoProblem(error) === 'file not found' ? 'does not exist' : errnoProblem(error)} (relative to the repository root ${quoted(repository)})`
  }
  if (!inside(real, realRepository))
    return `resolves to ${quoted(real)}, outside the repository ${quoted(realRepository)} (through a symlink): refused`
  const stats = await fs.stat(real)
  if (!stats.isDirectory()) return 'is not a directory: chart.path names a chart directory (holding Chart.yaml)'
  return undefined
}
