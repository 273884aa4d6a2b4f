// What to mask of a secret input. The runner masks each registered string wherever it appears,
// line by line, so a multi-line secret is useless as a whole mask: its secret parts are
// registered one by one. For a kubeconfig those are every credential of every user, in YAML or
// JSON form: tokens, passwords, keys, auth-provider config, and exec plugins' env values and
// secret-looking arguments. Harmless values (server URLs, names, "kind: Config") stay readable.
import { parse } from 'yaml'

/** Values of kubeconfig fields that grant access, one line at a time (the fallback for unparsable text). */
export function kubeconfigSecret(line: string): string | undefined {
  const match =
    /^\s*"?(token|client-key-data|client-certificate-data|password|id-token|refresh-token|access-token|secret|client-secret)"?\s*:\s*"?([^",\s]+)"?/.exec(
      line
    )
  return match && match[2].length >= 6 ? match[2] : undefined
}

// Keys under users[].user that name things rather than hold secrets.
const readable = new Set(['username', 'as', 'as-uid', 'as-groups', 'tokenFile', 'client-certificate', 'client-key', 'name'])
const execReadable = new Set(['apiVersion', 'command', 'interactiveMode', 'provideClusterInfo', 'installHint'])
const secretWord = /token|secret|password|passwd|key|credential/i

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function leaves(node: Json, out: string[]): void {
  if (typeof node === 'string') out.push(node)
  else if (Array.isArray(node)) node.forEach(n => leaves(n, out))
  else if (node && typeof node === 'object') Object.values(node).forEach(n => leaves(n, out))
}

function execSecrets(exec: { [key: string]: Json }, out: string[]): void {
  for (const [key, value] of Object.entries(exec)) {
    if (key === 'env' && Array.isArray(value)) {
      for (const item of value) if (item && typeof item === 'object' && !Array.isArray(item) && typeof item.value === 'string') out.push(item.value)
    } else if (key === 'args' && Array.isArray(value)) {
      const args = value.filter((a): a is string => typeof a === 'string')
      args.forEach((arg, i) => {
        const flag = /^--?([^=]+)=(.+)$/.exec(arg)
        if (flag && secretWord.test(flag[1])) out.push(flag[2])
        else if (i > 0 && secretWord.test(args[i - 1]) && args[i - 1].startsWith('-')) out.push(arg)
      })
    } else if (!execReadable.has(key)) leaves(value, out)
  }
}

/** Every credential in a kubeconfig; each line of a multi-line one separately too. */
export function kubeconfigSecrets(text: string): string[] {
  let doc: Json
  try {
    doc = parse(text, { maxAliasCount: 100 }) as Json
  } catch {
    doc = null
  }
  const found: string[] = []
  const users = doc && typeof doc === 'object' && !Array.isArray(doc) ? doc.users : undefined
  if (!Array.isArray(users)) {
    // Not a kubeconfig we can read: mask line by line what looks like a credential.
    for (const line of text.split('\n')) {
      const secret = kubeconfigSecret(line)
      if (secret) found.push(secret)
    }
    return found
  }
  for (const entry of users) {
    const user = entry && typeof entry === 'object' && !Array.isArray(entry) ? entry.user : undefined
    if (!user || typeof user !== 'object' || Array.isArray(user)) continue
    for (const [key, value] of Object.entries(user)) {
      if (readable.has(key)) continue
      if (key === 'exec' && value && typeof value === 'object' && !Array.isArray(value)) execSecrets(value, found)
      else if (key === 'auth-provider' && value && typeof value === 'object' && !Array.isArray(value)) leaves(value.config ?? null, found)
      else leaves(value, found)
    }
  }
  return [...new Set(found.flatMap(s => [s, ...s.split('\n')]).map(s => s.trim()))].filter(s => s.length > 0)
}

/** Lines of a multi-line secret (an SSH key) worth a mask of their own: long enough to be key material. */
export function secretLines(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length >= 8)
}
