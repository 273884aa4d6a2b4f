// What users see when the cluster misbehaves: a pod that never gets Ready, a crash loop, a
// LoadBalancer that never comes, an API server answering 5xx/429 and cutting watches, and an
// AWS-style LoadBalancer that reports hostnames.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import type { Helm } from '../../workflows-lib/src/kube/helm.js'
import type { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import { renderObserverZooCfg } from '../../workflows-lib/src/render/index.js'
import { deployChart } from '../../workflows-lib/src/steps/deploy-chart.js'
import { exposeServers } from '../../workflows-lib/src/steps/expose-servers.js'
import { waitReady, WaitReadyError } from '../../workflows-lib/src/steps/wait-ready.js'
import { startSandbox, type Sandbox } from '../sandbox/index.js'
import { writeEnvironment } from '../support/environments.js'
import { kubeEnvironmentYaml, productClients, roots, sandboxValues, useSandboxToolEnv } from '../support/kube.js'

let sandbox: Sandbox
let kubectl: Kubectl
let helm: Helm

beforeAll(async () => {
  // Delay mode (no ZooKeeper processes): pods are Ready 300 ms after they start.
  sandbox = await startSandbox({ addressBlock: 71, faultProxy: true, loadBalancer: { delayMs: 200 } })
  useSandboxToolEnv(sandbox)
  ;({ kubectl, helm } = productClients(sandbox, sandbox.helm3))
}, 120_000)

afterAll(async () => {
  await sandbox?.stop()
})

async function environment(name: string, extra = ''): Promise<Environment> {
  return loadEnvironment(writeEnvironment(kubeEnvironmentYaml({ namespace: name, release: name, extra }), { name, values: sandboxValues }))
}

async function waitError(promise: Promise<unknown>): Promise<WaitReadyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(error instanceof WaitReadyError)) throw new Error(`expected a WaitReadyError, got ${String(error)}`)
  return error
}

describe('wait-ready failures', () => {
  it('a pod held NotReady fails at the per-pod timeout, naming that pod with its diagnostics', async () => {
    const env = await environment('held')
    sandbox.kubelet.setFault('held/held-zookeeper-1', { holdNotReady: true })
    const deployed = await deployChart({ env, helm, kubectl, roots })
    const error = await waitError(
      waitReady({ kubectl, namespace: 'held', statefulSet: deployed.statefulSet, podTimeoutMs: 4000, overallTimeoutMs: 60_000 })
    )
    expect(error.message).toMatch(/^pod held-zookeeper-1 not Ready after \d+ s \(per-pod timeout\)/)
    expect(error.diagnostics).toMatchObject({ pod: 'held-zookeeper-1', phase: 'Running', restarts: 0 })
    expect(error.diagnostics!.conditions).toEqual(expect.arrayContaining([expect.stringMatching(/^Ready=False/)]))
    expect(error.diagnostics!.containers).toEqual([expect.stringMatching(/^zookeeper: running since .*, ready=false, restarts=0/)])
    // Formatted for the log: conditions, containers, events, and what kubectl logs said.
    expect(error.message).toContain('recent events:')
    expect(error.message).toContain('last log lines:')
    sandbox.kubelet.setFault('held/held-zookeeper-1', undefined)
  })

  it('a crash-looping pod fails fast with its restart count instead of waiting out the timeout', async () => {
    const env = await environment('crash')
    sandbox.kubelet.setFault('crash/crash-zookeeper-0', { crashLoop: true })
    const deployed = await deployChart({ env, helm, kubectl, roots })
    const error = await waitError(
      waitReady({ kubectl, namespace: 'crash', statefulSet: deployed.statefulSet, podTimeoutMs: 600_000, overallTimeoutMs: 900_000 })
    )
    expect(error.message).toMatch(/^pod crash-zookeeper-0 container zookeeper (is CrashLoopBackOff|keeps restarting) \(restarts: [1-9]\d*\)/)
    expect(error.message).not.toContain('timeout')
    expect(error.diagnostics!.restarts).toBeGreaterThan(0)
    expect(error.diagnostics!.events.join('\n')).toMatch(/BackOff/)
  })
})

describe('expose-servers', () => {
  it('names the Service whose LoadBalancer never comes', async () => {
    const env = await environment('pend')
    await sandbox.createNamespace('pend')
    sandbox.lb.setPending('pend/pend-lb-1', true)
    await expect(exposeServers({ kubectl, env, timeoutMs: 3000 })).rejects.toThrow(
      /^no LoadBalancer IP after 3 s for Service pend-lb-1 in namespace pend\. Check the cloud's load-balancer controller/
    )
    sandbox.lb.setPending('pend/pend-lb-1', false)
  })

  it('passes AWS-style hostnames through to the servers output and the observers unchanged', async () => {
    const env = await environment('aws', 'observers:\n  hosts:\n    - { id: 101, host: 10.30.0.9 }\n')
    const aws = { ...env, expose: { ...env.expose, addressKind: 'hostname' as const } }
    await sandbox.createNamespace('aws')
    sandbox.lb.setAddressKind('hostname')
    try {
      const r = await exposeServers({ kubectl, env: aws, timeoutMs: 30_000 })
      const names = [0, 1, 2].map(i => `aws-lb-${i}.aws.lb.sandbox.test`)
      expect(r.addresses).toEqual(names)
      expect(r.serverLines).toEqual(names.map((n, i) => `server.${i + 1}=${n}:2888:3888`))
      const cfg = renderObserverZooCfg({ environment: aws, observers: aws.observers!, host: aws.observers!.hosts[0], servers: r.addresses })
      expect(cfg).toContain('server.1=aws-lb-0.aws.lb.sandbox.test:2888:3888\n')
      // An environment expecting IPs says what to change instead of waiting forever.
      await expect(exposeServers({ kubectl, env, timeoutMs: 30_000 })).rejects.toThrow(/got a LoadBalancer hostname .* set addressKind to hostname/)
    } finally {
      sandbox.lb.setAddressKind('ip')
    }
  })
})

// What kube-apiserver itself answers with these codes (clients such as helm print only the message).
const apiStatus = (code: number, reason: string, message: string): { status: number; body: string; retryAfterSeconds?: number } => ({
  status: code,
  body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }),
  ...(code === 429 ? { retryAfterSeconds: 0 } : {})
})
const unavailable = apiStatus(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')
const tooMany = apiStatus(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later')
const internal = apiStatus(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out')

describe('through a faulty API server connection', () => {
  it('retries 5xx and 429 answers and resumes cut watches, then succeeds', async () => {
    const proxy = sandbox.proxy!
    const env = await environment('flaky')
    const rules = [
      proxy.addRule({ method: 'GET', path: /\/statefulsets/, watch: false, times: 2, respond: unavailable }),
      proxy.addRule({ method: 'GET', path: /\/namespaces\/flaky\/pods/, watch: true, times: 2, cutAfterEvents: 1 }),
      proxy.addRule({ method: 'GET', path: /\/namespaces\/flaky\/services/, watch: false, times: 1, respond: tooMany }),
      proxy.addRule({ method: 'GET', path: /\/namespaces\/flaky\/services/, watch: true, times: 1, respond: internal })
    ]
    try {
      const deployed = await deployChart({ env, helm, kubectl, roots })
      const ready = await waitReady({
        kubectl,
        namespace: 'flaky',
        statefulSet: deployed.statefulSet,
        podTimeoutMs: 60_000,
        overallTimeoutMs: 120_000
      })
      expect(ready.map(r => r.pod)).toEqual(['flaky-zookeeper-0', 'flaky-zookeeper-1', 'flaky-zookeeper-2'])
      // Addresses slower than the 429's retry (250 ms), so the step must watch, through the cut.
      sandbox.lb.setDelay(2000)
      const exposed = await exposeServers({ kubectl, env, timeoutMs: 30_000 })
      expect(exposed.addresses).toHaveLength(3)
      // Every fault really happened: the test would prove nothing otherwise.
      expect(rules.map(r => r.hits)).toEqual([2, 2, 1, 1])
    } finally {
      proxy.clearRules()
      sandbox.lb.setDelay(200)
    }
  })
})
