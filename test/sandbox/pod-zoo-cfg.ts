// The zoo.cfg a process-mode pod's ZooKeeper server runs with, derived from what the chart
// mounted into the pod.
export interface PodZooCfgContext {
  namespace: string
  myid: number
  /** This pod's loopback address. */
  address: string
  dataDir: string
  dataLogDir: string
  clusterDomain: string
  podAddress(namespace: string, pod: string): string
}

/**
 * The zoo.cfg a pod's server runs with, from the one the chart rendered: in-cluster pod DNS names
 * (`<pod>.<service>[.<ns>[.svc[.<cluster domain>]]]`) become the pods' loopback addresses, the
 * server listens on its own address only, data lives in the pod's directory, and what Debian's
 * ZooKeeper cannot run (AdminServer on 8080, metricsProvider classes it lacks) is left out.
 * Everything else stays as the chart wrote it.
 */
export function podZooCfg(text: string, ctx: PodZooCfgContext): string {
  const dropped = /^(dataDir|dataLogDir|clientPortAddress|quorumListenOnAllIPs|metricsProvider\..*|admin\..*)$/
  const out: string[] = []
  let clientPort = false
  for (const line of text.split('\n')) {
    const m = /^\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*?)\s*$/.exec(line)
    if (!m) {
      out.push(line)
      continue
    }
    const [, key, value] = m
    if (dropped.test(key)) continue
    if (key === 'clientPort') clientPort = true
    const server = /^server\.(\d+)$/.exec(key)
    out.push(server ? `${key}=${serverLine(value, Number(server[1]), ctx)}` : line)
  }
  while (out.length > 0 && out[out.length - 1].trim() === '') out.pop()
  out.push(
    '# set by the sandbox kubelet for this pod',
    `dataDir=${ctx.dataDir}`,
    `dataLogDir=${ctx.dataLogDir}`,
    `clientPortAddress=${ctx.address}`,
    ...(clientPort ? [] : ['clientPort=2181']),
    'admin.enableServer=false',
    ''
  )
  return out.join('\n')
}

// server.N=host:quorumPort:electionPort[:role][;[clientHost:]clientPort]. The server's own client
// address must equal clientPortAddress (ZooKeeper refuses the config otherwise), so it becomes the
// pod's address; another server's 0.0.0.0 becomes that server's address.
function serverLine(value: string, id: number, ctx: PodZooCfgContext): string {
  const [peer, client] = value.split(';')
  const parts = peer.split(':')
  parts[0] = mapHost(parts[0], id, ctx)
  let mapped = parts.join(':')
  if (client !== undefined) {
    const c = client.split(':')
    const port = c[c.length - 1]
    if (id === ctx.myid) mapped += `;${ctx.address}:${port}`
    else if (c.length === 1) mapped += `;${port}`
    else mapped += `;${c[0] === '0.0.0.0' ? parts[0] : mapHost(c[0], id, ctx)}:${port}`
  }
  return mapped
}

function mapHost(host: string, id: number, ctx: PodZooCfgContext): string {
  if (host === '0.0.0.0') {
    if (id === ctx.myid) return ctx.address
    throw new Error(`zoo.cfg: server.${id} listens on 0.0.0.0, which only the server itself (myid ${ctx.myid}) may write`)
  }
  const labels = host.toLowerCase().split('.')
  const domain = ctx.clusterDomain.toLowerCase().split('.')
  const tail = labels.slice(2)
  const inCluster =
    (labels.length === 2 && /-\d+$/.test(labels[0])) ||
    (labels.length === 3 && /-\d+$/.test(labels[0])) ||
    (labels.length === 4 && tail[1] === 'svc') ||
    (labels.length === 4 + domain.length && tail[1] === 'svc' && tail.slice(2).join('.') === domain.join('.'))
  if (!inCluster) return host
  return ctx.podAddress(labels[2] ?? ctx.namespace, labels[0])
}
