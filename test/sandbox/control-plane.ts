// A real Kubernetes 1.20 control plane on loopback: Debian's etcd, and kube-apiserver plus
// kube-controller-manager built by test/setup/kubernetes.sh. Nothing here runs pods; the sandbox's
// kubelet and LB controller are ordinary API clients started on top of it.
//
// Every call gets its own directory and free ports, so test files running in parallel (and two
// control planes in one test) do not meet.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { makeControlPlaneCerts } from './certs.js'
import { sandboxTools } from './tools.js'
import { registerSecret, watchDirectory } from '../support/secret-hygiene.js'
import { logTail, spawnTracked, stopTracked, type TrackedProcess } from '../support/processes.js'

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  apiUrl: string
  /** Bearer token of a system:masters user (authorization is AlwaysAllow anyway). */
  token: string
  /** CA that signed the apiserver's serving certificate. */
  caFile: string
  /** For kubectl and helm: `--kubeconfig <file>`. */
  kubeconfig: string
  /** This control plane's own directory (inside opts.baseDir): certificates, etcd data, logs. */
  baseDir: string
  /** etcd, kube-apiserver, kube-controller-manager */
  pids: number[]
  /** Ends the three processes by PID (SIGKILL: their state is thrown away) and waits for them; safe to call twice. */
  stop(): Promise<void>
}

export interface ControlPlaneOptions {
  /** A directory for this test's files; the control plane makes its own subdirectory in it. */
  baseDir: string
  /** Names the subdirectory, the processes and the kubeconfig context. */
  name?: string
}

const SERVICE_CIDR = '10.96.0.0/16'
// The apiserver allocates the first address of the range to the `kubernetes` Service.
const KUBERNETES_SERVICE_IP = '10.96.0.1'
const READY_TIMEOUT_MS = 90_000

// The controllers that keep workload objects moving without nodes running anything: the
// StatefulSet controller creates pods in order, the garbage collector and namespace controller
// clean up, the serviceaccount controller gives every namespace its `default` ServiceAccount.
const CONTROLLERS = [
  'statefulset',
  'endpoint',
  'endpointslice',
  'endpointslicemirroring',
  'garbagecollector',
  'namespace',
  'disruption',
  'replicaset',
  'deployment',
  'serviceaccount',
  'pvc-protection',
  'pv-protection',
  'podgc'
]

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const tools = sandboxTools()
  const name = opts.name ?? 'control-plane'
  mkdirSync(opts.baseDir, { recursive: true })
  const dir = mkdtempSync(join(opts.baseDir, `${name}-`))
  const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3)
  const apiUrl = `https://127.0.0.1:${apiPort}`
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`
  const token = randomBytes(24).toString('hex')
  const started: TrackedProcess[] = []
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    // All three at once, with SIGKILL: nothing here is kept (every control plane starts on a new
    // etcd data directory), and a graceful stop only costs time: on SIGTERM kube-apiserver takes
    // ~1.1 s to drain its listener, and a graceful stop has to go one by one, etcd last.
    stopping ??= (async () => {
      // spawnTracked unrefs its children, so in a plain node process (the sandbox CLI) nothing
      // else may keep the event loop alive until their exit is reaped.
      const keepAlive = setInterval(() => undefined, 1000)
      try {
        const results = await Promise.allSettled(started.map(proc => stopTracked(proc, 'SIGKILL')))
        const failures = results.flatMap(r => (r.status === 'rejected' ? [(r.reason as Error).message] : []))
        if (failures.length > 0) throw new Error(failures.join('\n'))
      } finally {
        clearInterval(keepAlive)
      }
    })()
    return stopping
  }

  try {
    const etcd = await spawnTracked(
      tools.etcd,
      [
        `--name=${name}`,
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=${name}=http://127.0.0.1:${etcdPeerPort}`,
        '--logger=zap',
        '--log-outputs=stderr',
        // A short raft log in memory: this etcd holds one test's objects.
        '--snapshot-count=5000'
      ],
      { logFile: join(dir, 'etcd.log'), name: `${name} etcd` }
    )
    started.push(etcd)
    // openssl runs while etcd boots.
    const { caFile, servingCertFile, servingKeyFile, serviceAccountKeyFile, serviceAccountPublicKeyFile } = await makeControlPlaneCerts(
      dir,
      KUBERNETES_SERVICE_IP
    )

    const tokenFile = join(dir, 'tokens.csv')
    writeFileSync(tokenFile, `${token},sandbox-admin,sandbox-admin,"system:masters"\n`, { mode: 0o600 })
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(kubeconfig, kubeconfigFor(name, apiUrl, caFile, token), { mode: 0o600 })
    registerSecret(`kubeconfig token of ${name}`, token, [tokenFile, kubeconfig])
    watchDirectory(dir)

    await waitUntil(`etcd at ${etcdUrl}/health`, [etcd], () => httpGet(`${etcdUrl}/health`))

    const apiserver = await spawnTracked(
      tools.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // 1.20 refuses any other insecure port; 0 turns the plain-HTTP port off.
        '--insecure-port=0',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${servingCertFile}`,
        `--tls-private-key-file=${servingKeyFile}`,
        `--client-ca-file=${caFile}`,
        // AlwaysAllow turns anonymous requests off in 1.20, so clients present the token.
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=AlwaysAllow',
        // Pods need no ServiceAccount token secrets: nothing here runs containers.
        '--disable-admission-plugins=ServiceAccount',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-signing-key-file=${serviceAccountKeyFile}`,
        `--service-account-key-file=${serviceAccountPublicKeyFile}`,
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // Endpoints may not hold loopback addresses: do not publish 127.0.0.1 as the
        // `kubernetes` Service's endpoint (the reconciler would log a 422 every 10 s).
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false'
      ],
      { logFile: join(dir, 'kube-apiserver.log'), name: `${name} kube-apiserver` }
    )
    started.push(apiserver)
    const tls = { ca: readFileSync(caFile, 'utf8'), token }
    const api = (path: string): Promise<HttpResult> => httpGet(`${apiUrl}${path}`, tls)
    await waitUntil(`kube-apiserver at ${apiUrl}/readyz`, [etcd, apiserver], () => api('/readyz'))

    const controllerManager = await spawnTracked(
      tools.kubeControllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        '--leader-elect=false',
        // No HTTP(S) endpoints: nothing scrapes it, and fixed default ports would collide.
        '--port=0',
        '--secure-port=0',
        `--root-ca-file=${caFile}`,
        `--cluster-name=${name}`,
        '--profiling=false'
      ],
      { logFile: join(dir, 'kube-controller-manager.log'), name: `${name} kube-controller-manager` }
    )
    started.push(controllerManager)
    // The serviceaccount controller's first work: proves the controller-manager is connected
    // and its informers have synced.
    await waitUntil('kube-controller-manager to create ServiceAccount default/default', [etcd, apiserver, controllerManager], () =>
      api('/api/v1/namespaces/default/serviceaccounts/default')
    )

    return { apiUrl, token, caFile, kubeconfig, baseDir: dir, pids: started.map(p => p.pid), stop }
  } catch (err) {
    await stop()
    throw new Error(`Control plane ${name} in ${dir} did not start: ${(err as Error).message}`, { cause: err })
  }
}

export function kubeconfigFor(name: string, server: string, caFile: string, token: string): string {
  // JSON is valid YAML: kubectl, helm and client-go read it as a kubeconfig.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: `${name}-admin`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {}
  }
  return `${JSON.stringify(config, null, 2)}\n`
}

/**
 * Polls `probe` until it answers HTTP 200. Fails at once, with the log tail, when one of `procs`
 * exits; after READY_TIMEOUT_MS fails with the last answer and the newest component's log.
 */
async function waitUntil(what: string, procs: TrackedProcess[], probe: () => Promise<HttpResult>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last: string
  for (;;) {
    const dead = procs.find(p => p.exitStatus() !== undefined)
    if (dead) {
      const status = dead.exitStatus()
      throw new Error(
        `${dead.name} exited (code ${status?.code}, signal ${status?.signal}) while waiting for ${what}. ` +
          `Last lines of ${dead.logFile}:\n${logTail(dead)}`
      )
    }
    try {
      const res = await probe()
      if (res.status === 200) return
      last = `HTTP ${res.status}: ${res.body.slice(0, 500)}`
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() >= deadline) {
      const newest = procs[procs.length - 1]
      throw new Error(
        `Timed out after ${READY_TIMEOUT_MS / 1000} s waiting for ${what} (last answer: ${last}). ` +
          `Last lines of ${newest.logFile}:\n${logTail(newest)}`
      )
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

interface HttpResult {
  status: number
  body: string
}

function httpGet(url: string, tls?: { ca: string; token: string }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    }
    const req = tls
      ? https.get(url, { timeout: 5000, ca: tls.ca, headers: { Authorization: `Bearer ${tls.token}` } }, onResponse)
      : http.get(url, { timeout: 5000 }, onResponse)
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

/** Ports the kernel hands out now; the caller binds them right away. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        })
    )
  )
  const ports = servers.map(s => {
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('a TCP server on 127.0.0.1 has no port')
    return address.port
  })
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}
