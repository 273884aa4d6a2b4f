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

export interface ObserversYamlOptions {
  /** Every observer VM, as environment.yaml lists it. */
  hosts: { id: number; host: string }[]
  directory: string
  user: string
  sshPort: number
  clientPort?: number
  /** The jumpHost value as YAML (a string or a flow mapping). */
  jumpHost?: string
}

/** An environment whose observers are real sshd VMs on loopback (the observer tests' world). */
export function observersYaml(o: ObserversYamlOptions): string {
  return `kubernetes: { namespace: zk, release: zk }
ensemble: { servers: 3 }
observers:
  directory: ${o.directory}
  clientPort: ${o.clientPort ?? 2181}
  ssh:
    user: ${o.user}
    port: ${o.sshPort}${o.jumpHost ? `\n    jumpHost: ${o.jumpHost}` : ''}
  hosts:
${o.hosts.map(h => `    - { id: ${h.id}, host: ${h.host} }`).join('\n')}
timeouts: { observerJoin: 60s }
`
}
