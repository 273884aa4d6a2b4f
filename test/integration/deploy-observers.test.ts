// deploy-observers against real parts: each observer "VM" is a real OpenSSH server on its own
// loopback address (own host key, own mount namespace, so observers.directory is a different
// directory on each), `docker compose` there is the test shim running a real ZooKeeper observer
// from the uploaded files, and the ensemble is three real ZooKeeper servers. SSH, host-key
// checks, file writes, restarts, verification and rollback are the product's real path.
// Address block: addressBlocks.deployObservers (VMs .31-.32, bastion .33, nothing on .34,
// ensemble .41-.43).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { withSecretFiles } from '../../workflows-lib/src/runner/secret-file.js'
import { loadEnvironment, type Environment } from '../../workflows-lib/src/environment/index.js'
import type { DeployReport, ObserverResult } from '../../workflows-lib/src/observers/index.js'
import { deployObservers, type DeployObserversOptions } from '../../workflows-lib/src/steps/deploy-observers.js'
import { renderObserverFiles, type ObserverFiles } from '../../workflows-lib/src/render/index.js'
import { addressBlocks } from '../support/addresses.js'
import { prepareShimState, shimContainers, stopShimContainers } from '../support/compose-shim/shim.js'
import { observersYaml, type ObserversYamlOptions, writeEnvironment } from '../support/environments.js'
import { adaptContainerConfigForHost } from '../support/host-observer.js'
import { listTrackedAlive, stopAllTracked } from '../support/processes.js'
import { runActionDist } from '../support/run-action.js'
import { fingerprint, generateKey, knownHostsLine, sshPortFor, startSshd, type KeyPair, type Sshd } from '../support/sshd.js'
import { startEnsemble, waitForMode, zkCli, type Ensemble } from '../support/zookeeper.js'

const block = addressBlocks.deployObservers
const [vm1Address, vm2Address, bastionAddress] = block.vms
const serverIps = [...block.ensemble]
// AWS-style LoadBalancer hostnames for the same servers; the observers' JVMs resolve them
// through -Djdk.net.hosts.file (the machine's /etc/hosts is never touched).
const serverNames = ['zk-0.lb.sandbox.test', 'zk-1.lb.sandbox.test', 'zk-2.lb.sandbox.test']
// Names that resolve nowhere: an observer given these can never reach the ensemble.
const wrongServers = ['zk-0.wrong.sandbox.test', 'zk-1.wrong.sandbox.test', 'zk-2.wrong.sandbox.test']

const base = mkdtempSync(path.join(os.tmpdir(), 'zk-deploy-observers-'))
// Each VM's private root is bind-mounted here inside its own mount namespace.
const vmRoot = path.join(base, 'vm')
const observerDir = path.join(vmRoot, 'data', 'zookeeper')
const immutable: string[] = []

let ensemble: Ensemble
let vm1: Sshd
let vm2: Sshd
let bastion: Sshd | undefined
let sshPort: number
let deployer: KeyPair
let knownHosts: string
let envDir: string
let env: Environment

/** The observer directory as the VM sees it, from outside its namespace. */
const dirOn = (vm: Sshd): string => path.join(vm.root, 'data', 'zookeeper')

const environmentYaml = (opts: Partial<ObserversYamlOptions> = {}): string =>
  observersYaml({
    hosts: [
      { id: 101, host: vm1Address },
      { id: 102, host: vm2Address }
    ],
    directory: observerDir,
    user: os.userInfo().username,
    sshPort,
    ...opts
  })

async function deploy(
  opts: Partial<Omit<DeployObserversOptions, 'credentials' | 'secretFiles'>> & { knownHosts?: string } = {}
): Promise<{ report: DeployReport; log: string[] }> {
  const log: string[] = []
  const report = await withSecretFiles(secretFiles =>
    deployObservers({
      environment: env,
      servers: serverIps,
      ...opts,
      credentials: { privateKey: deployer.privateKey, knownHosts: opts.knownHosts ?? knownHosts },
      secretFiles,
      log: line => log.push(line)
    })
  )
  return { report, log }
}

const result = (report: DeployReport, id: number): ObserverResult => {
  const r = report.results.find(x => x.id === id)
  if (!r) throw new Error(`no result for observer ${id} in ${JSON.stringify(report.results)}`)
  return r
}

function rendered(environment: Environment, id: number, servers: readonly string[]): ObserverFiles {
  const observers = environment.observers!
  const host = observers.hosts.find(h => h.id === id)!
  return renderObserverFiles({ environment, observers, host, servers })
}

function filesOn(vm: Sshd, dir = dirOn(vm)): Record<string, string> {
  return Object.fromEntries(['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => [f, readFileSync(path.join(dir, f), 'utf8')]))
}

function observerPid(vm: Sshd, project = 'zookeeper'): number | undefined {
  return shimContainers(vm.shimState).find(c => c.project === project)?.pid
}

/** Every entry under dir with its inode, size, mode and mtime: equal snapshots = untouched. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return ['(absent)']
  const out: string[] = []
  const walk = (d: string): void => {
    const st = lstatSync(d)
    out.push(`${path.relative(dir, d) || '.'} ino=${st.ino} size=${st.size} mode=${st.mode.toString(8)} mtime=${st.mtimeMs}`)
    if (st.isDirectory()) for (const name of readdirSync(d).sort()) walk(path.join(d, name))
  }
  walk(dir)
  return out
}

/** Fails with the per-host results and the job log, which say why. */
function expectOk(run: { report: DeployReport; log: string[] }): void {
  if (!run.report.ok) throw new Error(`deploy failed:\n${JSON.stringify(run.report.results, null, 2)}\n--- log:\n${run.log.join('\n')}`)
}

const acceptedLogins = (vm: Sshd): number => (readFileSync(vm.process.logFile, 'utf8').match(/Accepted publickey/g) ?? []).length

beforeAll(async () => {
  deployer = generateKey(path.join(base, 'keys'), 'deployer')
  sshPort = await sshPortFor(block.vms)
  const hostsFile = path.join(base, 'hosts')
  writeFileSync(hostsFile, [...serverNames.map((name, i) => `${serverIps[i]} ${name}`), `127.0.0.1 ${os.hostname()}`, ''].join('\n'))
  const jvmArgs = [`-Djdk.net.hosts.file=${hostsFile}`]
  ;[vm1, vm2] = await Promise.all([
    startSshd({
      name: 'vm1',
      address: vm1Address,
      port: sshPort,
      dir: path.join(base, 'vm1'),
      authorizedKeys: [deployer.publicKey],
      rootMount: vmRoot
    }),
    // This VM has only docker-compose v1, like older hosts.
    startSshd({
      name: 'vm2',
      address: vm2Address,
      port: sshPort,
      dir: path.join(base, 'vm2'),
      authorizedKeys: [deployer.publicKey],
      rootMount: vmRoot,
      sessionEnv: { ZK_SHIM_COMPOSE_V1_ONLY: '1' }
    })
  ])
  for (const vm of [vm1, vm2]) prepareShimState(vm.shimState, { jvmArgs })
  knownHosts = [vm1.knownHosts, vm2.knownHosts].join('\n')
  ensemble = await startEnsemble({ addresses: serverIps, baseDir: path.join(base, 'ensemble') })
  envDir = writeEnvironment(environmentYaml(), { name: 'vms' })
  env = await loadEnvironment(envDir)
}, 120_000)

afterAll(async () => {
  for (const dir of immutable) execFileSync('chattr', ['-i', dir])
  await stopShimContainers([vm1, vm2].filter(Boolean).map(vm => vm.shimState))
  await stopAllTracked()
  expect(listTrackedAlive()).toEqual([])
}, 60_000)

describe('deploy-observers over real SSH to real ZooKeeper observers', () => {
  it('deploys two observers in parallel; both join and serve what the leader wrote', async () => {
    const run = await deploy({ maxUnavailable: 2 })
    expectOk(run)
    const { report, log } = run
    for (const [id, vm] of [
      [101, vm1],
      [102, vm2]
    ] as const) {
      const r = result(report, id)
      expect(r).toMatchObject({ status: 'ok', changed: true, restarted: true, verified: true, rolledBack: false, mode: 'observer' })
      expect(r.changedFiles).toEqual(['zoo.cfg', 'myid', 'docker-compose.yaml'])
      expect(filesOn(vm)).toEqual(rendered(env, id, serverIps))
      // Nothing left half-way, and no previous generation on a first deploy.
      expect(readdirSync(dirOn(vm)).sort()).toEqual(['docker-compose.yaml', 'myid', 'zoo.cfg'])
    }
    expect(result(report, 101).compose).toBe('docker compose')
    expect(result(report, 102).compose).toBe('docker-compose')

    // From the test side too: both answer as observers, and serve data written through the leader.
    await waitForMode(vm1Address, 2181, 'observer', 5000)
    await waitForMode(vm2Address, 2181, 'observer', 5000)
    const leader = await ensemble.leader()
    await zkCli(`${leader.address}:2181`, ['create', '/deploy-observers', 'written-through-the-leader'])
    for (const address of [vm1Address, vm2Address]) {
      expect(await zkCli(`${address}:2181`, ['get', '/deploy-observers'])).toContain('written-through-the-leader')
    }

    // The shim ran the uploaded zoo.cfg under exactly the host-observer adaptation rules, and said so.
    const [container] = shimContainers(vm1.shimState)
    const adapted = adaptContainerConfigForHost(filesOn(vm1)['zoo.cfg'], {
      address: vm1Address,
      dataDir: container.dataDir,
      dataLogDir: path.join(path.dirname(container.dataDir), 'datalog')
    })
    expect(readFileSync(container.configFile, 'utf8')).toBe(adapted.config)
    for (const change of adapted.changes) expect(log).toContain(`[101 ${vm1Address}] compose shim: zoo.cfg for this host: ${change}`)
  })

  it('a second run changes nothing and restarts nothing (the built action, as a runner runs it)', async () => {
    const pids = [observerPid(vm1), observerPid(vm2)]
    const before = [snapshot(dirOn(vm1)), snapshot(dirOn(vm2))]
    const runnerTemp = mkdtempSync(path.join(base, 'runner-temp-'))
    const run = await runActionDist(
      'deploy-observers',
      {
        environment: envDir,
        servers: JSON.stringify(serverIps),
        'ssh-private-key': deployer.privateKey,
        'known-hosts': knownHosts,
        'join-timeout': '60s'
      },
      { env: { RUNNER_TEMP: runnerTemp } }
    )
    expect({ exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ exitCode: 0 })
    expect(run.outputs.changed).toBe('false')
    expect(run.outputs['rolled-back']).toBe('[]')
    const results = JSON.parse(run.outputs.results) as ObserverResult[]
    expect(results.map(r => [r.id, r.status, r.changed, r.restarted, r.verified, r.mode])).toEqual([
      [101, 'ok', false, false, true, 'observer'],
      [102, 'ok', false, false, true, 'observer']
    ])
    expect([observerPid(vm1), observerPid(vm2)]).toEqual(pids)
    expect([snapshot(dirOn(vm1)), snapshot(dirOn(vm2))]).toEqual(before)
    expect(run.summary).toContain('| id | host | status | files | restarted | verified | rolled back | time |')
    expect(run.summary).toMatch(new RegExp(`\\| 101 \\| ${vm1Address} \\| ok \\| unchanged \\| no \\| ✅ observer, zxid 0x[0-9a-f]+ \\| no \\|`))
    // The key never reaches the log, and its 0600 copy is gone with the private directory.
    // (::add-mask:: lines are how it is masked: the runner consumes them.)
    const log = (run.stdout + run.stderr)
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    for (const line of deployer.privateKey.split('\n').filter(l => l.length > 20)) expect(log).not.toContain(line)
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  it('an observer that is down while its files are current is started again, not rewritten', async () => {
    const files = ['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => snapshot(path.join(dirOn(vm2), f)))
    const pid1 = observerPid(vm1)
    await stopShimContainers([vm2.shimState])
    const { report } = await deploy()
    expect(result(report, 102)).toMatchObject({
      status: 'ok',
      changed: false,
      restarted: true,
      verified: true,
      message: 'files unchanged; the observer was not serving and was started'
    })
    expect(result(report, 101)).toMatchObject({ status: 'ok', changed: false, restarted: false, verified: true })
    expect(observerPid(vm2)).toBeDefined()
    expect(observerPid(vm1)).toBe(pid1)
    expect(['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => snapshot(path.join(dirOn(vm2), f)))).toEqual(files)
    await waitForMode(vm2Address, 2181, 'observer', 5000)
  })

  it('a changed server list replaces the files atomically, restarts the observers one at a time and verifies each', async () => {
    const zooCfg = path.join(dirOn(vm1), 'zoo.cfg')
    const old = { files: filesOn(vm1), ino: statSync(zooCfg).ino, pids: [observerPid(vm1), observerPid(vm2)] }
    const [container] = shimContainers(vm1.shimState)
    const dataBefore = readdirSync(path.join(container.dataDir, 'version-2'))

    const run = await deploy({ servers: serverNames })
    expectOk(run)
    for (const [id, vm] of [
      [101, vm1],
      [102, vm2]
    ] as const) {
      expect(result(run.report, id)).toMatchObject({ status: 'ok', changed: true, changedFiles: ['zoo.cfg'], restarted: true, verified: true })
      expect(filesOn(vm)).toEqual(rendered(env, id, serverNames))
      expect(existsSync(path.join(dirOn(vm), '.staged'))).toBe(false)
    }
    const pids = [observerPid(vm1), observerPid(vm2)]
    expect(pids.every((pid, i) => pid !== undefined && pid !== old.pids[i])).toBe(true)
    // Renamed into place, not rewritten: the old inode lives on as the previous generation.
    expect(statSync(zooCfg).ino).not.toBe(old.ino)
    expect(statSync(path.join(dirOn(vm1), '.previous', 'zoo.cfg')).ino).toBe(old.ino)
    expect(filesOn(vm1, path.join(dirOn(vm1), '.previous'))).toEqual(old.files)
    // Rolling (max-unavailable 1): the second observer restarted only after the first verified.
    const firstVerified = run.log.findIndex(l => l.startsWith(`[101 ${vm1Address}] verified: Mode: observer`))
    const secondRestart = run.log.findIndex(l => l.startsWith(`[102 ${vm2Address}] starting the observer`))
    expect(firstVerified).toBeGreaterThanOrEqual(0)
    expect(secondRestart).toBeGreaterThan(firstVerified)
    // The data volume survived the recreate, and the observer serves the ensemble's data.
    expect(readdirSync(path.join(container.dataDir, 'version-2'))).toEqual(expect.arrayContaining(dataBefore))
    expect(await zkCli(`${vm1Address}:2181`, ['get', '/deploy-observers'])).toContain('written-through-the-leader')
  })

  it('an observer that cannot join is rolled back to the previous files and serves again; the rollout stops there', async () => {
    const before1 = filesOn(vm1)
    const files2 = ['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => snapshot(path.join(dirOn(vm2), f)))
    const pid2 = observerPid(vm2)

    const { report } = await deploy({ servers: wrongServers, joinTimeoutMs: 10_000 })
    expect(report.ok).toBe(false)
    const r1 = result(report, 101)
    expect(r1).toMatchObject({ status: 'failed', changed: true, restarted: true, verified: false, rolledBack: true, mode: 'observer' })
    expect(r1.message).toMatch(
      /did not answer Mode: observer within 10 s \(last: .+\); rolled back to the previous files, and the observer serves again on them/
    )
    expect(report.rolledBack).toEqual([vm1Address])
    // The previous files are back and running; the failed ones are kept for a look.
    expect(filesOn(vm1)).toEqual(before1)
    expect(readFileSync(path.join(dirOn(vm1), '.failed', 'zoo.cfg'), 'utf8')).toBe(rendered(env, 101, wrongServers)['zoo.cfg'])
    await waitForMode(vm1Address, 2181, 'observer', 5000)
    expect(readFileSync(shimContainers(vm1.shimState)[0].configFile, 'utf8')).toContain(`server.1=${serverNames[0]}:2888:3888`)
    // The second VM never got its turn: same files, same observer, no upload left behind.
    const r2 = result(report, 102)
    expect(r2).toMatchObject({ status: 'skipped', restarted: false, rolledBack: false })
    expect(r2.message).toContain(`the rollout stopped after observer 101 (${vm1Address}) failed`)
    expect(['zoo.cfg', 'myid', 'docker-compose.yaml'].map(f => snapshot(path.join(dirOn(vm2), f)))).toEqual(files2)
    expect(existsSync(path.join(dirOn(vm2), '.staged'))).toBe(false)
    expect(observerPid(vm2)).toBe(pid2)
  })

  it('a VM whose directory cannot be written keeps its files and observer; the other VM still rolls', async () => {
    // Tests run as root, whom mode bits do not stop; the immutable attribute stops everyone.
    const dir1 = dirOn(vm1)
    execFileSync('chattr', ['+i', dir1])
    immutable.push(dir1)
    try {
      const before1 = snapshot(dir1)
      const pid1 = observerPid(vm1)
      const { report } = await deploy({ servers: serverIps })
      const r1 = result(report, 101)
      expect(r1).toMatchObject({ status: 'failed', changed: true, restarted: false, rolledBack: false })
      expect(r1.message).toContain(`cannot write in ${observerDir} as user ${os.userInfo().username}`)
      expect(r1.message).toContain('Operation not permitted')
      expect(snapshot(dir1)).toEqual(before1)
      expect(observerPid(vm1)).toBe(pid1)
      expect(result(report, 102)).toMatchObject({ status: 'ok', changed: true, restarted: true, verified: true })
      expect(filesOn(vm2)).toEqual(rendered(env, 102, serverIps))
    } finally {
      execFileSync('chattr', ['-i', dir1])
      immutable.pop()
    }
  })

  it('refuses a VM whose host key changed, naming the offered key, and sends it nothing', async () => {
    const impostor = generateKey(path.join(base, 'keys'), 'impostor-host-key')
    const before = snapshot(vm1.root)
    const logins = acceptedLogins(vm1)
    const { report } = await deploy({ knownHosts: [knownHostsLine(vm1Address, sshPort, impostor.publicKey), vm2.knownHosts].join('\n') })
    const r1 = result(report, 101)
    expect(r1.status).toBe('failed')
    expect(r1.message).toContain(`it offered ED25519 key ${fingerprint(vm1.hostKey.publicKey)}, which differs from the key pinned for`)
    expect(r1.message).toContain(`ssh-keyscan -p ${sshPort} -t ed25519 ${vm1Address}`)
    expect(r1.message).toContain('nothing was sent to it')
    expect(snapshot(vm1.root)).toEqual(before)
    expect(acceptedLogins(vm1)).toBe(logins)
    expect(result(report, 102).status).toBe('ok')
  })

  it('refuses a VM whose host key is not in known-hosts, showing its key and how to pin it', async () => {
    const before = snapshot(vm1.root)
    const logins = acceptedLogins(vm1)
    const { report } = await deploy({ knownHosts: vm2.knownHosts })
    const r1 = result(report, 101)
    expect(r1.status).toBe('failed')
    expect(r1.message).toContain(`the known-hosts input has no ED25519 key for`)
    expect(r1.message).toContain(`it offers ED25519 key ${fingerprint(vm1.hostKey.publicKey)}`)
    expect(r1.message).toContain(`ssh-keyscan -p ${sshPort} -t ed25519 ${vm1Address}`)
    expect(snapshot(vm1.root)).toEqual(before)
    expect(acceptedLogins(vm1)).toBe(logins)
    expect(result(report, 102).status).toBe('ok')
  })

  it('a dry run reports what would change and writes nothing', async () => {
    const before = [snapshot(vm1.root), snapshot(vm2.root)]
    const pids = [observerPid(vm1), observerPid(vm2)]
    const { report } = await deploy({ servers: wrongServers, dryRun: true })
    expect(report.ok).toBe(true)
    expect(report.dryRun).toBe(true)
    for (const id of [101, 102]) {
      expect(result(report, id)).toMatchObject({ status: 'ok', changed: true, changedFiles: ['zoo.cfg'], restarted: false })
      expect(result(report, id).message).toBe('would replace zoo.cfg and recreate the observer')
    }
    expect([snapshot(vm1.root), snapshot(vm2.root)]).toEqual(before)
    expect([observerPid(vm1), observerPid(vm2)]).toEqual(pids)
  })

  it('an unreachable VM fails alone: the other is deployed, and the step fails with a table (built action)', async () => {
    const dir = writeEnvironment(
      environmentYaml({
        hosts: [
          { id: 101, host: vm1Address },
          { id: 103, host: block.unreachable }
        ]
      }),
      { name: 'with-unreachable' }
    )
    const run = await runActionDist('deploy-observers', {
      environment: dir,
      servers: serverIps.join(','),
      'ssh-private-key': deployer.privateKey,
      'known-hosts': knownHosts
    })
    expect(run.exitCode).toBe(1)
    const results = JSON.parse(run.outputs.results) as ObserverResult[]
    expect(results.map(r => [r.id, r.status, r.verified])).toEqual([
      [101, 'ok', true],
      [103, 'failed', false]
    ])
    expect(results[1].message).toContain(`${os.userInfo().username}@${block.unreachable}:${sshPort}: connection refused`)
    expect(run.stdout).toContain('::error::deploy-observers: 1 of 2 observers failed:')
    expect(run.summary).toContain(`| 103 | ${block.unreachable} | **failed** | not compared | no | ❌ | no |`)
    expect(run.summary).toContain(`- **103** (${block.unreachable}): `)
  })

  it('a first deploy that cannot join is stopped and its files set aside, so the next run starts afresh', async () => {
    const freshDir = path.join(vmRoot, 'data', 'zookeeper-fresh')
    const fresh = await loadEnvironment(
      writeEnvironment(environmentYaml({ hosts: [{ id: 102, host: vm2Address }], directory: freshDir, clientPort: 2182 }), { name: 'fresh' })
    )
    const pid2 = observerPid(vm2)
    const { report } = await deploy({ environment: fresh, servers: wrongServers, joinTimeoutMs: 5000 })
    const r = result(report, 102)
    expect(r).toMatchObject({ status: 'failed', changed: true, restarted: true, verified: false, rolledBack: false })
    expect(r.message).toContain('first deploy on this VM, so nothing to roll back to: the observer was stopped (compose down, volumes kept)')
    const onVm = path.join(vm2.root, 'data', 'zookeeper-fresh')
    expect(readdirSync(onVm)).toEqual(['.failed'])
    expect(readdirSync(path.join(onVm, '.failed')).sort()).toEqual(['docker-compose.yaml', 'myid', 'zoo.cfg'])
    expect(observerPid(vm2, 'zookeeper-fresh')).toBeUndefined()
    // The volumes of the stopped observer are kept; the VM's other observer never noticed.
    expect(existsSync(path.join(vm2.shimState, 'zookeeper-fresh', 'volumes', 'data'))).toBe(true)
    expect(observerPid(vm2)).toBe(pid2)
  })

  it('deploys through a jump host, whose host key is checked like any other', async () => {
    bastion = await startSshd({
      name: 'bastion',
      address: bastionAddress,
      port: sshPort,
      dir: path.join(base, 'bastion'),
      authorizedKeys: [deployer.publicKey]
    })
    const viaBastion = await loadEnvironment(
      writeEnvironment(environmentYaml({ jumpHost: `{ host: ${bastionAddress}, user: ${os.userInfo().username}, port: ${sshPort} }` }), {
        name: 'jump'
      })
    )
    const refused = await deploy({ environment: viaBastion })
    for (const id of [101, 102]) {
      const r = result(refused.report, id)
      expect(r.status).toBe('failed')
      expect(r.message).toContain(`through jump host ${os.userInfo().username}@${bastionAddress}:${sshPort}`)
      expect(r.message).toContain(`it offers ED25519 key ${fingerprint(bastion.hostKey.publicKey)}`)
    }
    const logins = acceptedLogins(bastion)
    const run = await deploy({ environment: viaBastion, knownHosts: [knownHosts, bastion.knownHosts].join('\n'), servers: serverNames })
    expectOk(run)
    for (const [id, vm] of [
      [101, vm1],
      [102, vm2]
    ] as const) {
      expect(result(run.report, id)).toMatchObject({ changed: true, restarted: true, verified: true })
      expect(filesOn(vm)).toEqual(rendered(viaBastion, id, serverNames))
    }
    // One connection per VM, each through the bastion.
    expect(acceptedLogins(bastion) - logins).toBe(2)
  })
})
