// The whole rollout, as a user runs it: the committed CLI bundle (workflows-lib/dist/cli) rolls
// an environment onto a sandbox cluster whose pods run real ZooKeeper servers, and onto two
// observer VMs that are real sshd processes. Then it runs again and must change nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { KubeObject } from '../../workflows-lib/src/kube/types.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { rolloutArgs, runCli, startWorld, type CliRun, type World } from '../e2e/world.js'
import { addressBlocks } from '../support/addresses.js'
import { shimContainers } from '../support/compose-shim/shim.js'
import { zkCli } from '../support/zookeeper.js'

let world: World

const cli = (args: string[]): Promise<CliRun> => runCli(world, args)

beforeAll(async () => {
  world = await startWorld({
    dir: mkdtempSync(path.join(os.tmpdir(), 'zk-e2e-')),
    addressBlock: addressBlocks.sandboxBlocks.endToEnd,
    vmAddresses: addressBlocks.endToEndVms
  })
}, 180_000)

afterAll(async () => {
  await world?.stop()
}, 120_000)

describe('zk-rollout rollout, end to end', () => {
  it('rolls the ensemble onto Kubernetes and the observers onto their VMs', async () => {
    const run = await cli(rolloutArgs(world))
    if (run.code !== 0) throw new Error(`rollout failed (${run.code}):\n${run.stderr}\n${run.stdout}`)
    expect(run.stdout).toContain('Rollout of environment "sandbox"')
    expect(run.stdout).toMatch(/chart: {5}release zk revision 1 \(upgraded\)/)
    const servers = [0, 1, 2].map(i => world.sandbox.podAddress('zk', `zk-zookeeper-${i}`))
    expect(run.stdout).toContain(`servers:   zk0=${servers[0]}, zk1=${servers[1]}, zk2=${servers[2]}`)
    for (const o of world.observers)
      expect(run.stdout).toMatch(
        new RegExp(`observer: {2}${o.id} ${o.address.replaceAll('.', '\\.')} ok, changed zoo.cfg\\+myid\\+docker-compose.yaml, Mode: observer`)
      )
    expect(run.stdout).toContain('ServiceMonitor applied')

    // The observers on the VMs follow the ensemble in the cluster, through the LoadBalancers.
    const leader = (await Promise.all(servers.map(async a => ({ a, mode: parseSrvr(await fourLetterWord(a, 2181, 'srvr')).mode })))).find(
      s => s.mode === 'leader'
    )!
    await zkCli(`${leader.a}:2181`, ['create', '/end-to-end', 'from-the-cluster'])
    for (const o of world.observers) {
      expect(parseSrvr(await fourLetterWord(o.address, 2181, 'srvr')).mode).toBe('observer')
      expect(await zkCli(`${o.address}:2181`, ['get', '/end-to-end'])).toContain('from-the-cluster')
    }

    // Prometheus would find the observers: Endpoints with their metrics addresses, a ServiceMonitor.
    const kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
    const endpoints = await kubectl.getOptional<KubeObject & { subsets: { addresses: { ip: string }[] }[] }>(
      'endpoints',
      'zk-observers-external',
      'zk'
    )
    expect(endpoints!.subsets[0].addresses.map(a => a.ip)).toEqual(['192.0.2.101', '192.0.2.102'])
    expect(await kubectl.getOptional('servicemonitors.monitoring.coreos.com', 'zk-observers-external', 'zk')).toBeDefined()
  })

  it('a second rollout changes nothing and restarts nothing', async () => {
    const pids = world.vms.map(vm => shimContainers(vm.shimState).map(c => c.pid))
    const run = await cli(rolloutArgs(world))
    if (run.code !== 0) throw new Error(`rollout failed (${run.code}):\n${run.stderr}\n${run.stdout}`)
    expect(run.stdout).toMatch(/release zk revision 1 \(unchanged\)/)
    for (const o of world.observers) expect(run.stdout).toContain(`observer:  ${o.id} ${o.address} ok, unchanged, Mode: observer`)
    expect(world.vms.map(vm => shimContainers(vm.shimState).map(c => c.pid))).toEqual(pids)
  })

  it('refuses to run without host keys to check', async () => {
    const args = rolloutArgs(world).filter((a, i, all) => a !== '--known-hosts' && all[i - 1] !== '--known-hosts')
    const run = await cli(args)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('pass --ssh-key and --known-hosts (host keys are always verified)')
  })
})
