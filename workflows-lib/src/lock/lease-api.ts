// The Lease calls the lock makes. Create and replace go around Kubectl.run: its retry of
// transient errors counts "the object has been modified" as transient and would resend the same
// stale write; for the lock a 409 is an answer (another client won) that means "read again".
import { CommandError, runCommand, type CommandResult } from '../kube/command.js'
import type { Kubectl } from '../kube/kubectl.js'
import { retryTransient } from '../kube/transient.js'
import { LEASE_RESOURCE, type Lease } from './lease-object.js'

export type WriteResult = { outcome: 'written'; lease: Lease } | { outcome: 'conflict' | 'exists' | 'not-found' | 'no-namespace' }

export function getLease(kubectl: Kubectl, namespace: string, name: string): Promise<Lease | undefined> {
  return kubectl.getOptional<Lease>(LEASE_RESOURCE, name, namespace)
}

/** Creates the Lease; `exists` when someone else created it first. */
export async function createLease(kubectl: Kubectl, lease: Lease): Promise<WriteResult> {
  return write(kubectl, 'create', lease)
}

/** Replaces the Lease if its resourceVersion is still the one read; `conflict` when not. */
export async function replaceLease(kubectl: Kubectl, lease: Lease): Promise<WriteResult> {
  if (!lease.metadata.resourceVersion) throw new Error(`replace of Lease ${lease.metadata.name} without a resourceVersion would be unconditional`)
  return write(kubectl, 'replace', lease)
}

/**
 * The lock's namespace may not exist yet on a first install (helm would create it later with
 * --create-namespace), and a Lease needs it: create it, tolerating a concurrent creator.
 */
export async function ensureNamespace(kubectl: Kubectl, namespace: string): Promise<void> {
  const shown = `kubectl create namespace ${namespace}`
  await retryTransient(
    async () => {
      const r = await runCommand(kubectl.binary, [...kubectl.baseArgs(), '--request-timeout=60s', 'create', 'namespace', namespace], shown, {
        allowExitCodes: [1]
      })
      if (r.exitCode !== 0 && !/\(AlreadyExists\)/.test(r.stderr)) throw new CommandError(shown, r)
    },
    { what: shown }
  )
}

async function write(kubectl: Kubectl, verb: 'create' | 'replace', lease: Lease): Promise<WriteResult> {
  const shown = `kubectl ${verb} -f - (Lease ${lease.metadata.namespace}/${lease.metadata.name})`
  const args = [...kubectl.baseArgs(), '--request-timeout=60s', verb, '-o', 'json', '-f', '-']
  let answer: WriteResult | undefined
  await retryTransient(
    async () => {
      const r = await runCommand(kubectl.binary, args, shown, { input: JSON.stringify(lease), allowExitCodes: [1] })
      answer = r.exitCode === 0 ? { outcome: 'written', lease: JSON.parse(r.stdout) as Lease } : refusal(r)
      if (!answer) throw new CommandError(shown, r)
    },
    { what: shown }
  )
  return answer!
}

/** The API's answers the lock acts on; anything else is a failure. */
function refusal(r: CommandResult): WriteResult | undefined {
  if (/\(Conflict\)/.test(r.stderr)) return { outcome: 'conflict' }
  if (/\(AlreadyExists\)/.test(r.stderr)) return { outcome: 'exists' }
  if (/\(NotFound\).*namespaces? "[^"]*" not found/.test(r.stderr)) return { outcome: 'no-namespace' }
  if (/\(NotFound\)/.test(r.stderr)) return { outcome: 'not-found' }
  return undefined
}
