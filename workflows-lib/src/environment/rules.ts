// Shapes of values that reach a remote shell, a file path or a Kubernetes name. Anything that
// fails these never gets near ssh or kubectl, whatever quoting does later.
import { isIP } from 'node:net'

const hostnameLabel = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** An IPv4/IPv6 address or an RFC 1123 hostname (never starting with '-': no ssh option smuggling). */
export function isHostOrIp(value: string): boolean {
  if (isIP(value)) return true
  if (value.length > 253) return false
  return value.split('.').every(label => hostnameLabel.test(label))
}

export const isIpAddress = (value: string): boolean => isIP(value) !== 0

/** POSIX-portable login names. */
export const isUserName = (value: string): boolean => /^[a-z_][a-z0-9_-]{0,31}$/.test(value)

/** Absolute, plain path: no '.', '..' or empty segments, no shell metacharacters or spaces. */
export function isSafeAbsolutePath(value: string): boolean {
  if (!/^(\/[A-Za-z0-9._-]+)+\/?$/.test(value)) return false
  return value.split('/').every(segment => segment !== '.' && segment !== '..')
}

/** Relative file path inside the environment or repository: no '..', no absolute path. */
export function isSafeRelativePath(value: string): boolean {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/.test(value)) return false
  return value.split('/').every(segment => segment !== '.' && segment !== '..')
}

/** A container image reference pinned to a tag other than latest, or to a digest. */
export function imageProblem(value: string): string | undefined {
  const match =
    /^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*)(:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/.exec(
      value
    )
  if (!match) return `"${value}" is not a container image reference (e.g. zookeeper:3.9.4)`
  const tag = match[7]
  const digest = match[8]
  if (!tag && !digest) return `"${value}" is not pinned: add a version tag (e.g. zookeeper:3.9.4) so every observer runs the same ZooKeeper`
  if (tag === 'latest' && !digest) return `"${value}" uses the moving tag "latest": pin the ensemble's version (e.g. zookeeper:3.9.4)`
  return undefined
}

/** RFC 1035 label, what Kubernetes requires of Service names. */
export const isServiceName = (value: string): boolean => /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)
