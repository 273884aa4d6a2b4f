import { hostProblem, isHostOrIp } from '../environment/rules.js'
import { quoted } from '../output/printable.js'

/**
 * The ensemble's server addresses in ordinal order (LoadBalancer IPs or hostnames, from an input,
 * --servers or the cloud). They end up in zoo.cfg lines, so anything but a plain host is refused.
 * Plans use `<name>` placeholders.
 */
export function checkServerAddresses(addresses: readonly string[], opts: { placeholders?: boolean } = {}): void {
  if (addresses.length === 0) throw new Error('no server addresses: pass one address per server, in ordinal order')
  addresses.forEach((address, i) => {
    const placeholder = opts.placeholders === true && /^<[a-z0-9.-]+>$/.test(address)
    if (!placeholder && !isHostOrIp(address)) throw new Error(`server address ${i} (${quoted(address)}) ${hostProblem(address)}`)
  })
}
