// Secret hygiene: every SSH private key and kubeconfig credential a test creates is registered
// here, with what the test captured (stdout and stderr of actions and CLIs, step summaries,
// outputs files) and the directories it wrote to. After each test file (the integration project's
// setupFilesAfterEach hook) all of it is scanned for the secrets, their base64 encodings and any
// line of a PEM body: a leak fails the file, naming where the secret appeared but never printing it.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import * as path from 'node:path'

interface Secret {
  name: string
  needles: string[]
  /** Where the secret is meant to live (its key file, the kubeconfig): not scanned. */
  homes: Set<string>
}

const secrets: Secret[] = []
const captured: { label: string; text: string }[] = []
const directories = new Set<string>()
// Leaks found in directories removed before the end-of-file scan (removeScanned).
const earlyLeaks: SecretLeak[] = []

// Short needles would match by chance; 32 base64 characters do not.
const MIN_NEEDLE = 32
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0').toString('base64').slice(0, 19)

/** Registers secret material; `homes` are the files meant to hold it. */
export function registerSecret(name: string, value: string, homes: string[] = []): void {
  const needles = new Set<string>()
  const add = (s: string): void => {
    if (s.length >= MIN_NEEDLE) needles.add(s)
  }
  add(value.trim())
  add(Buffer.from(value).toString('base64'))
  add(Buffer.from(value.trim()).toString('base64'))
  // A PEM or OpenSSH key: each body line on its own, so half a key printed is caught too.
  // The first body line of an OpenSSH key is the same in every key (format magic, cipher "none").
  for (const line of value.split('\n')) if (!line.startsWith('-----') && !line.startsWith(OPENSSH_MAGIC)) add(line.trim())
  secrets.push({ name, needles: [...needles], homes: new Set(homes.map(h => path.resolve(h))) })
}

/** Records output a test captured (a step's stdout, a summary) for the scan. */
export function recordOutput(label: string, text: string): void {
  // `::add-mask::<secret>` is how an action hands a secret to the runner, which consumes the line
  // and masks the value from then on: it never reaches a log, so it is not a leak.
  const shown = unmaskedLines(text)
  if (shown) captured.push({ label, text: shown })
}

/** Adds a directory whose files, at the end of the test file, must hold no registered secret. */
export function watchDirectory(dir: string): void {
  directories.add(path.resolve(dir))
}

export interface SecretLeak {
  secret: string
  where: string
}

/** Removes a test's directory, scanning it first: cleanup must not hide a leak from the scan. */
export function removeScanned(dir: string): void {
  earlyLeaks.push(...scanFiles(filesUnder(path.resolve(dir))))
  rmSync(dir, { recursive: true, force: true })
}

/** Scans everything recorded and watched; returns the leaks found (empty when clean). */
export function findSecretLeaks(): SecretLeak[] {
  const leaks: SecretLeak[] = [...earlyLeaks]
  for (const { label, text } of captured) leaks.push(...scanText(label, text))
  // Watched directories may nest (an sshd's under its sandbox's): each file once.
  leaks.push(...scanFiles([...new Set([...directories].flatMap(filesUnder))]))
  return leaks
}

function scanText(where: string, text: string, skip: (s: Secret) => boolean = () => false): SecretLeak[] {
  return secrets.filter(s => !skip(s) && s.needles.some(n => text.includes(n))).map(s => ({ secret: s.name, where }))
}

function scanFiles(files: string[]): SecretLeak[] {
  const leaks: SecretLeak[] = []
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue // removed meanwhile, or a socket
    }
    leaks.push(...scanText(file, text, s => s.homes.has(file)))
  }
  return leaks
}

/** Throws if any registered secret appears in a recorded output or a watched file; then forgets all. */
export function assertNoSecretLeaks(): void {
  const leaks = findSecretLeaks()
  resetSecretHygiene()
  if (leaks.length > 0)
    throw new Error(`secret material found outside where it belongs:\n${leaks.map(l => `  ${l.secret} in ${l.where}`).join('\n')}`)
}

export function resetSecretHygiene(): void {
  secrets.length = 0
  captured.length = 0
  earlyLeaks.length = 0
  directories.clear()
}

// Regular files only, not following symlinks; big binary stores (etcd's data) are read too.
function filesUnder(dir: string): string[] {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  return entries.flatMap(e => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return filesUnder(p)
    return e.isFile() && statSync(p).size < 256 * 1024 * 1024 ? [p] : []
  })
}

/** The names of the registered secrets that appear in text: for a check at one moment, one output. */
export function secretsIn(text: string): string[] {
  return scanText('', unmaskedLines(text)).map(l => l.secret)
}

function unmaskedLines(text: string): string {
  return text
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
}
