// Shapes of values that reach a remote shell, a file path, a rendered file or a Kubernetes name.
// Anything that fails these never gets near ssh, kubectl or a file, whatever quoting does later.
import { isIP } from 'node:net'

const hostnameLabel = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/**
 * An IPv4 or IPv6 address (no zone id: "%eth0" means nothing on another host) or an RFC 1123
 * hostname whose last label is not all digits (RFC 3696), so "10.104.170" and "999.999.999.999"
 * are neither. Never starts with "-": no ssh option smuggling.
 */
export function isHostOrIp(value: string): boolean {
  if (isIpAddress(value)) return true
  if (value.length > 253) return false
  const labels = value.split('.')
  return labels.every(label => hostnameLabel.test(label)) && !/^[0-9]+$/.test(labels[labels.length - 1])
}

/** Why a host was refused, in words a user can act on. */
export function hostProblem(value: string): string {
  if (value.includes('%')) return 'has a zone id ("%..."), which means nothing on another host: give the address without it'
  if (/^[0-9.]+$/.test(value)) return 'is not an IPv4 address (four numbers from 0 to 255) nor a hostname'
  return 'is not a hostname or IP address'
}

export const isIpAddress = (value: string): boolean => !value.includes('%') && isIP(value) !== 0

export const isIpv6 = (value: string): boolean => !value.includes('%') && isIP(value) === 6

/** One spelling per host, for duplicate checks: lower case, IPv6 compressed (::1 = 0:0:0:0:0:0:0:1). */
export function canonicalHost(value: string): string {
  if (isIpv6(value)) return new URL(`http://[${value}]/`).hostname.slice(1, -1)
  return value.toLowerCase()
}

/** A host in a ZooKeeper server line or an address:port pair: IPv6 goes in brackets. */
export const hostForAddress = (value: string): string => (isIpv6(value) ? `[${value}]` : value)

/** POSIX-portable login names. */
export const isUserName = (value: string): boolean => /^[a-z_][a-z0-9_-]{0,31}$/.test(value)

/** Absolute, plain path: no '.', '..' or empty segments, no shell metacharacters or spaces. */
export function isSafeAbsolutePath(value: string): boolean {
  if (value.length > 1024 || !/^(\/[A-Za-z0-9._-]+)+\/?$/.test(value)) return false
  return value.split('/').every(segment => segment !== '.' && segment !== '..')
}

/** Relative file path inside the environment or repository: no '..', no absolute path. */
export function isSafeRelativePath(value: string): boolean {
  if (value.length > 1024 || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/.test(value)) return false
  return value.split('/').every(segment => segment !== '.' && segment !== '..')
}

/** A container image reference pinned to a tag other than latest, or to a digest. */
export function imageProblem(value: string): string | undefined {
  const match =
    /^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*)(:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/.exec(
      value
    )
  if (!match || value.length > 255) return 'is not a container image reference (e.g. zookeeper:3.9.4)'
  const tag = match[7]
  const digest = match[8]
  if (!tag && !digest) return 'is not pinned: add a version tag (e.g. zookeeper:3.9.4) so every observer runs the same ZooKeeper'
  if (tag === 'latest' && !digest) return 'uses the moving tag "latest": pin the ensemble\'s version (e.g. zookeeper:3.9.4)'
  return undefined
}

/** RFC 1035 label, what Kubernetes requires of Service names. */
export const isServiceName = (value: string): boolean => /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)

/**
 * The name of an environment directory. It becomes a label value, a comment in rendered files,
 * a GitHub Environment and a concurrency group: a DNS label (lowercase letters, digits and "-",
 * at most 63 characters) is safe in all of them.
 */
export const ENVIRONMENT_NAME_RULE =
  'a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters'
export const isEnvironmentName = (value: string): boolean => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)

// Kubernetes' own rules (apimachinery validation): a qualified name with an optional DNS
// subdomain prefix for keys, and at most 63 characters of [A-Za-z0-9_.-] for label values.
const qualifiedName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Why a label or annotation key is invalid, or undefined. */
export function metadataKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/')
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key]
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix)))
    return 'has a prefix that is not a DNS subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)'
  if (!qualifiedName.test(name))
    return 'is not a valid name: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (with an optional "prefix/")'
  return undefined
}

/** Why a label value is invalid, or undefined (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '' || qualifiedName.test(value)) return undefined
  return 'is not a valid label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'
}
