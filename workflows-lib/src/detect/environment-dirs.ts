// Where environments live: one directory per environment directly under the root, holding an
// environment.yaml. Listed from a commit's tree (what that commit will deploy) or, when no commit
// is compared, from the checkout on disk.
import { existsSync, readdirSync, statSync } from 'node:fs'
import * as path from 'node:path'
import { ENVIRONMENT_NAME_RULE, isEnvironmentName, isSafeRelativePath } from '../environment/rules.js'
import { oneLine, quoted } from '../output/printable.js'
import type { Git } from './git.js'

export const DEFAULT_ENVIRONMENTS_ROOT = 'environments'
export const ENVIRONMENT_FILE = 'environment.yaml'

/** "./environments/" -> "environments"; refuses anything that could leave the repository. */
export function normalizeRoot(root: string | undefined): string {
  const value = (root ?? DEFAULT_ENVIRONMENTS_ROOT).trim().replace(/^\.\//, '').replace(/\/+$/, '')
  if (!isSafeRelativePath(value)) throw new Error(`environments root ${quoted(value)} is not a plain path inside the repository (e.g. environments)`)
  return value
}

/** The environment directory a repository path is in, if any: environments/<name>/... */
export function environmentOf(file: string, root: string): string | undefined {
  if (!file.startsWith(`${root}/`)) return undefined
  const rest = file.slice(root.length + 1).split('/')
  return rest.length >= 2 && rest[0] !== '' ? rest[0] : undefined
}

export const environmentDirectory = (root: string, name: string): string => `${root}/${name}`

/** Names of the directories holding an environment.yaml in `commit`'s tree. */
export async function environmentsInCommit(git: Git, commit: string, root: string): Promise<string[]> {
  const names = new Set<string>()
  for (const file of await git.listFiles(commit, root)) {
    const rest = file.slice(root.length + 1).split('/')
    if (rest.length === 2 && rest[1] === ENVIRONMENT_FILE) names.add(rest[0])
  }
  return [...names].sort()
}

/** Names of the directories holding an environment.yaml in the checkout on disk. */
export function environmentsOnDisk(repository: string, root: string): string[] {
  const dir = path.join(repository, root)
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter(d => d.isDirectory() && isFile(path.join(dir, d.name, ENVIRONMENT_FILE)))
    .map(d => d.name)
    .sort()
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * Selected directories must be DNS labels: the name becomes a label value, a GitHub Environment
 * and a concurrency group. One error names every bad directory (a rename is the usual cause).
 */
export function checkEnvironmentNames(names: string[], root: string): void {
  const bad = names.filter(n => !isEnvironmentName(n))
  if (bad.length === 0) return
  throw new Error(
    `${bad.length === 1 ? 'an environment directory has' : `${bad.length} environment directories have`} an invalid name: ` +
      bad.map(n => quoted(`${root}/${n}/`)).join(', ') +
      `; the directory name must be ${ENVIRONMENT_NAME_RULE} (rename it, e.g. ${quoted(suggestedName(bad[0]))})`
  )
}

/** A DNS-label spelling of a bad name, for the error message. */
export function suggestedName(name: string): string {
  const label = oneLine(name)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '')
  return label || 'env'
}
