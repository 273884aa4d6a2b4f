// Where a sandbox's pods, node and load balancers live on the loopback interface.
/**
 * Loopback addresses of one sandbox: 127.0.<block>.1 is the node (its InternalIP, where the
 * kubelet endpoint for `kubectl logs` listens), .10-.199 are pods (by name, stable for the
 * sandbox's life), .200-.249 are load balancers that select no single pod.
 *
 * A pod's processes listen on its loopback address, and the LB controller hands that address out
 * as the ingress IP, so traffic to "the LB" really reaches the pod. status.podIP cannot be that
 * address: the endpoints controller copies podIP into Endpoints, and the API refuses loopback
 * addresses there (422). So podIP is the same host number in 198.18.<block>.0/24 (RFC 2544
 * benchmarking range, reserved, never a real host): a label that keeps Endpoints valid and names
 * the loopback address it stands for (see loopbackOf). Nothing in the sandbox dials it; only the
 * apiserver's pod/service proxy or port-forward would, and the tests do not use them.
 */
export class AddressBook {
  private readonly pods = new Map<string, number>()
  private readonly lbs = new Map<string, number>()

  constructor(readonly block: number) {
    if (!Number.isInteger(block) || block < 1 || block > 254) {
      throw new Error(`sandbox address block ${block} is not in 1..254 (pods live on 127.0.<block>.x)`)
    }
  }

  get nodeAddress(): string {
    return `127.0.${this.block}.1`
  }

  /** The pod's loopback address, allocated on first use (before the pod exists is fine). */
  podAddress(namespace: string, name: string): string {
    return `127.0.${this.block}.${this.host(this.pods, `${namespace}/${name}`, 10, 199)}`
  }

  podIP(namespace: string, name: string): string {
    return this.podAddress(namespace, name).replace(/^127\.0\./, '198.18.')
  }

  /** An address of its own for a load balancer that selects no single pod. */
  lbAddress(namespace: string, service: string): string {
    return `127.0.${this.block}.${this.host(this.lbs, `${namespace}/${service}`, 200, 249)}`
  }

  /** 198.18.<block>.<n> (a podIP) -> 127.0.<block>.<n>. */
  loopbackOf(ip: string): string {
    return ip.replace(/^198\.18\./, '127.0.')
  }

  private host(map: Map<string, number>, key: string, first: number, last: number): number {
    const known = map.get(key)
    if (known !== undefined) return known
    const next = first + map.size
    if (next > last) throw new Error(`sandbox address block 127.0.${this.block}.0: no address left for ${key}`)
    map.set(key, next)
    return next
  }
}
