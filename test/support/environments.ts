import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')
export const exampleDir = path.join(repoRoot, 'environments', 'example')

/** A throwaway environments/<name>/ directory holding the given environment.yaml (and values). */
export function writeEnvironment(yaml: string, opts: { name?: string; values?: string | null } = {}): string {
  const base = mkdtempSync(path.join(os.tmpdir(), 'zk-env-'))
  const dir = path.join(base, 'environments', opts.name ?? 'test')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'environment.yaml'), yaml)
  if (opts.values !== null) writeFileSync(path.join(dir, 'values.yaml'), opts.values ?? '{}\n')
  return dir
}

/** A valid environment used as the base of the bad-input table. */
export const minimalYaml = `kubernetes:
  namespace: zk
  release: zk
ensemble:
  servers: 3
observers:
  hosts:
    - id: 101
      host: 10.0.0.1
`
