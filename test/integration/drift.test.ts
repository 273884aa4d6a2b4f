// Drift detection across the cluster boundary, on a real world: a sandbox whose pods run real
// ZooKeeper servers behind hostname LoadBalancers (ours, simulated: they resolve through the
// sandbox's hosts file, as a recreated AWS LB gets a new DNS name), and two observer VMs that are
// real sshd processes running real ZooKeeper observers (through the compose shim, ours). Each
// test makes one kind of drift by the means a person would (kubectl scale, helm upgrade, a
// deleted and recreated Service, an edit on the VM, a stopped observer), checks that
// `zk-rollout drift` (the committed CLI bundle) names it with its exit code, and undoes it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import type { DriftItem, DriftStatus, Unchecked } from '../../workflows-lib/src/drift/index.js'
import { Kubectl } from '../../workflows-lib/src/kube/kubectl.js'
import type { Lease } from '../../workflows-lib/src/lock/index.js'
import type { Service } from '../../workflows-lib/src/kube/types.js'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { parseSrvr } from '../../workflows-lib/src/zookeeper/srvr.js'
import { rolloutArgs, runCli, startWorld, type CliRun, type World } from '../e2e/world.js'
import { addressBlocks } from '../support/addresses.js'
import { shimContainers, stopShimContainers } from '../support/compose-shim/shim.js'
import { repoRoot } from '../support/environments.js'

const execFileAsync = promisify(execFile)
let world: World
let kubectl: Kubectl

interface DriftRun {
  code: number
  stdout: string
  stderr: string
  json?: { status: DriftStatus; items: DriftItem[]; unchecked: Unchecked[]; checked: string[] }
}

const cli = (args: string[]): Promise<CliRun> => runCli(world, args)

/** `zk-rollout drift` with the world's credentials (the rollout's, `rollout` replaced). */
async function drift(opts: { format?: 'json' | 'text'; heal?: boolean; directory?: string } = {}): Promise<DriftRun> {
  const args = rolloutArgs(world)
  args[0] = 'drift'
  if (opts.directory) args[1] = opts.directory
  const r = await cli([...args, '--format', opts.format ?? 'json', ...(opts.heal ? ['--heal', 'observers'] : [])])
  return { ...r, ...((opts.format ?? 'json') === 'json' && r.stdout ? { json: JSON.parse(r.stdout) as DriftRun['json'] } : {}) }
}

const sts = ['statefulset/zk-zookeeper', '-n', 'zk']
/** Until the StatefulSet controller has seen the latest spec (drift reads its updateRevision): waited for, not retried. */
async function observed(): Promise<void> {
  const generation = (await kubectl.run(['get', ...sts, '-o', 'jsonpath={.metadata.generation}'])).stdout.trim()
  await kubectl.run(['wait', ...sts, `--for=jsonpath={.status.observedGeneration}=${generation}`, '--timeout=60s'])
}

const kinds = (run: DriftRun): string[] => (run.json?.items ?? []).map(i => i.kind)
const observerDir = (i: number): string => path.join(world.vms[i].root, 'data', 'zookeeper')
const modeOf = async (address: string): Promise<string> => parseSrvr(await fourLetterWord(address, 2181, 'srvr')).mode

beforeAll(async () => {
  world = await startWorld({
    dir: mkdtempSync(path.join(os.tmpdir(), 'zk-drift-')),
    addressBlock: addressBlocks.sandboxBlocks.drift,
    vmAddresses: addressBlocks.driftVms,
    name: 'drift',
    addressKind: 'hostname'
  })
  kubectl = new Kubectl(world.sandbox.kubectl, world.sandbox.kubeconfig)
  const run = await cli(rolloutArgs(world))
  if (run.code !== 0) throw new Error(`rollout failed (${run.code}):\n${run.stderr}\n${run.stdout}`)
}, 300_000)

afterAll(async () => {
  await world?.stop()
}, 120_000)

describe('zk-rollout drift', () => {
  it('finds nothing right after a clean rollout, and says what it checked (exit 0)', async () => {
    const run = await drift()
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.json).toMatchObject({ status: 'in-sync', items: [], unchecked: [] })
    expect(run.json!.checked).toEqual(['release zk', 'observer 101 (127.0.0.89)', 'observer 102 (127.0.0.90)', 'monitoring objects'])
    const text = await drift({ format: 'text' })
    expect(text.stdout).toContain('Drift of environment "drift": in sync with Git')
  })

  it('kubectl scale of the StatefulSet is replicas drift (exit 2)', async () => {
    await kubectl.run(['scale', 'statefulset/zk-zookeeper', '-n', 'zk', '--replicas=4'])
    try {
      const run = await drift()
      expect(run.code).toBe(2)
      expect(run.json!.items).toEqual([
        expect.objectContaining({ kind: 'replicas', subject: 'StatefulSet zk-zookeeper', difference: '4 replicas live, Git says 3' })
      ])
      expect(run.json!.items[0].fix).toContain('zk-rollout rollout environments/drift')
    } finally {
      await kubectl.run(['scale', 'statefulset/zk-zookeeper', '-n', 'zk', '--replicas=3'])
      await kubectl.run(['wait', '--for=delete', 'pod/zk-zookeeper-3', '-n', 'zk', '--timeout=120s']).catch(() => undefined)
    }
    expect((await drift()).code).toBe(0)
  })

  it('a value changed in the live release is release drift naming the path (exit 2)', async () => {
    const values = path.join(world.environmentDir, 'values.yaml')
    await execFileAsync(
      world.sandbox.helm4,
      [
        'upgrade',
        'zk',
        path.join(repoRoot, 'charts', 'zookeeper'),
        '-n',
        'zk',
        '--reuse-values',
        '--set',
        'zookeeper.heap=80m',
        '--kubeconfig',
        world.sandbox.kubeconfig
      ],
      { env: { ...process.env, ...world.sandbox.env } }
    )
    await observed()
    try {
      const run = await drift()
      expect(run.code).toBe(2)
      // The heap is in the pod template, and OnDelete restarts nothing: the servers still run the old one.
      expect(kinds(run)).toEqual(['release', 'revision'])
      expect(run.json!.items[0].subject).toBe('release zk (revision 2)')
      expect(run.json!.items[0].details!.join('\n')).toMatch(/80m/)
      expect(readFileSync(values, 'utf8')).not.toContain('80m') // Git was not touched
    } finally {
      await execFileAsync(world.sandbox.helm4, ['rollback', 'zk', '1', '-n', 'zk', '--kubeconfig', world.sandbox.kubeconfig], {
        env: { ...process.env, ...world.sandbox.env }
      })
      await observed()
    }
    expect((await drift()).code).toBe(0)
  })

  it('an image set on the live StatefulSet is image drift, and its servers not restarted are revision drift (helm sees neither)', async () => {
    const image = (await kubectl.run(['get', ...sts, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout.trim()
    await kubectl.run(['set', 'image', ...sts, 'zookeeper=registry.example/zookeeper:hand-set'])
    await observed()
    try {
      const run = await drift()
      expect(run.code).toBe(2)
      expect(kinds(run)).toEqual(['image', 'revision'])
      expect(run.json!.items[0]).toMatchObject({
        subject: 'StatefulSet zk-zookeeper container zookeeper',
        difference: `runs image registry.example/zookeeper:hand-set, the release has ${image}`
      })
      expect(run.json!.items[1].subject).toBe('StatefulSet zk-zookeeper')
      expect(run.json!.items[1].difference).toMatch(
        /^zk-zookeeper-0, zk-zookeeper-1, zk-zookeeper-2 on revision zk-zookeeper-\w+, the spec is at zk-zookeeper-\w+$/
      )
      expect(run.json!.items[1].fix).toContain('re-run the rollout of environments/drift')
      const text = await drift({ format: 'text' })
      expect(text.stdout).toContain('image            StatefulSet zk-zookeeper container zookeeper')
    } finally {
      await kubectl.run(['set', 'image', ...sts, `zookeeper=${image}`])
      await observed()
    }
    // The template is Git's again, so its revision is the one the servers run.
    expect((await drift()).code).toBe(0)
  })

  it('during a rollout (its lock held by another) it compares nothing and says so (exit 1)', async () => {
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
    await kubectl.apply([
      <Lease>{
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'zk-rollout-zk', namespace: 'zk' },
        spec: { holderIdentity: 'acme/platform run 7 job rollout', leaseDurationSeconds: 60, acquireTime: now, renewTime: now }
      }
    ])
    try {
      const run = await drift()
      expect(run.code).toBe(1)
      expect(run.json).toMatchObject({
        status: 'unchecked',
        items: [],
        checked: [],
        inProgress: 'acme/platform run 7 job rollout',
        unchecked: [
          {
            subject: 'environment drift',
            why: expect.stringContaining('a rollout is in progress (lock zk-rollout-zk held by acme/platform run 7 job rollout)')
          }
        ]
      })
    } finally {
      // Gone, not emptied: a failed assertion above must not leave a lease that blocks later tests.
      await kubectl.run(['delete', 'lease', 'zk-rollout-zk', '-n', 'zk', '--ignore-not-found'])
    }
    expect((await drift()).code).toBe(0)
  })

  it('an observer file edited by hand is file drift with the differing lines; Git is what the next deploy puts back', async () => {
    const file = path.join(observerDir(0), 'zoo.cfg')
    const before = readFileSync(file, 'utf8')
    expect(before).toMatch(/^tickTime=2000$/m)
    writeFileSync(file, before.replace(/^tickTime=2000$/m, 'tickTime=4000'))
    try {
      const run = await drift()
      expect(run.code).toBe(2)
      expect(run.json!.items).toEqual([
        expect.objectContaining({ kind: 'observer-files', subject: 'observer 101 (127.0.0.89)', difference: 'zoo.cfg differs from Git in 2 line(s)' })
      ])
      expect(run.json!.items[0].details).toEqual(['- tickTime=2000', '+ tickTime= (value on the host not shown)'])
      // Read-only: the file is as it was edited, nothing staged.
      expect(readFileSync(file, 'utf8')).toBe(before.replace(/^tickTime=2000$/m, 'tickTime=4000'))
    } finally {
      writeFileSync(file, before)
    }
  })

  it('a stopped observer is "not serving"', async () => {
    await stopShimContainers([world.vms[1].shimState])
    const run = await drift()
    expect(run.code).toBe(2)
    expect(run.json!.items).toEqual([
      expect.objectContaining({
        kind: 'observer-serving',
        subject: 'observer 102 (127.0.0.90)',
        difference: 'not serving: no answer on the client port'
      })
    ])
    // The rollout starts it again (its files are unchanged).
    const rollout = await cli(rolloutArgs(world))
    expect(rollout.code).toBe(0)
    expect(await modeOf(world.observers[1].address)).toBe('observer')
  })

  it('a LoadBalancer recreated with a new address is address drift naming every observer; heal: observers gives them the new list', async () => {
    const pids = world.vms.map(vm => shimContainers(vm.shimState).map(c => c.pid))
    const old = await kubectl.getOptional<Service>('services', 'zk1', 'zk')
    const oldName = old!.status!.loadBalancer!.ingress![0].hostname!
    // The cloud recreates the LB: a new DNS name for the same server.
    world.sandbox.lb.setHostnameSuffix('lb2.sandbox.test')
    const { metadata, spec } = old!
    const recreated = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels, annotations: metadata.annotations },
      spec: { ...spec, clusterIP: undefined, clusterIPs: undefined }
    }
    await kubectl.run(['delete', 'service', 'zk1', '-n', 'zk', '--wait=true'])
    await kubectl.apply([recreated])
    await kubectl.run([
      'wait',
      'service/zk1',
      '-n',
      'zk',
      '--for=jsonpath={.status.loadBalancer.ingress[0].hostname}=zk1.zk.lb2.sandbox.test',
      '--timeout=60s'
    ])

    const run = await drift()
    expect(run.code).toBe(2)
    expect(run.json!.items).toEqual(
      world.observers.map(o =>
        expect.objectContaining({
          kind: 'addresses',
          subject: `observer ${o.id} (${o.address})`,
          difference: `lists ${oldName} for server.2, the LB now has zk1.zk.lb2.sandbox.test`,
          meaning: "it will lose sync when server.2's connection drops, and cannot rejoin through it"
        })
      )
    )
    // Only the observers: detection restarted nothing.
    expect(world.vms.map(vm => shimContainers(vm.shimState).map(c => c.pid))).toEqual(pids)

    const healed = await drift({ heal: true })
    expect(healed.stderr).toContain('heal: redeploying the observers with the current addresses')
    // It writes to the VMs, so it holds the rollout lock as a rollout does.
    expect(healed.stderr).toMatch(/rollout lock \S*zk-rollout-zk\S* acquired by/)
    expect(healed.code).toBe(0)
    expect(healed.json!.status).toBe('in-sync')
    for (const [i, o] of world.observers.entries()) {
      expect(readFileSync(path.join(observerDir(i), 'zoo.cfg'), 'utf8')).toContain('server.2=zk1.zk.lb2.sandbox.test:2888:3888')
      expect(await modeOf(o.address)).toBe('observer')
    }
  })

  it('heal: observers leaves any other drift to a person', async () => {
    await kubectl.run(['scale', 'statefulset/zk-zookeeper', '-n', 'zk', '--replicas=4'])
    try {
      const run = await drift({ heal: true })
      expect(run.code).toBe(2)
      expect(run.stderr).toContain('heal: not healing: no LoadBalancer address moved')
    } finally {
      await kubectl.run(['scale', 'statefulset/zk-zookeeper', '-n', 'zk', '--replicas=3'])
      await kubectl.run(['wait', '--for=delete', 'pod/zk-zookeeper-3', '-n', 'zk', '--timeout=120s']).catch(() => undefined)
    }
  })

  // Last: it stops a VM's sshd for good.
  it('an unreachable VM is "could not check" while the others are still checked: exit 1, or 2 when drift is found elsewhere', async () => {
    await world.vms[1].stop()
    const unreachable = await drift()
    expect(unreachable.code).toBe(1)
    expect(unreachable.json!.status).toBe('unchecked')
    expect(unreachable.json!.items).toEqual([])
    expect(unreachable.json!.unchecked).toEqual([{ subject: 'observer 102 (127.0.0.90)', why: expect.stringMatching(/127\.0\.0\.90/) }])
    expect(unreachable.json!.checked).toEqual(expect.arrayContaining(['release zk', 'observer 101 (127.0.0.89)']))

    const file = path.join(observerDir(0), 'myid')
    const before = readFileSync(file, 'utf8')
    writeFileSync(file, '7\n')
    try {
      const both = await drift()
      expect(both.code).toBe(2)
      expect(both.json!.items.map(i => [i.kind, i.subject, i.difference])).toEqual([
        ['observer-files', 'observer 101 (127.0.0.89)', 'myid differs from Git in 2 line(s)']
      ])
      expect(both.json!.unchecked.map(u => u.subject)).toEqual(['observer 102 (127.0.0.90)'])
    } finally {
      writeFileSync(file, before)
    }
  })
})
