// npm run demo: a real rollout onto this machine. Brings up a Kubernetes sandbox (real API
// server, pods running real ZooKeeper servers) and two observer VMs (real sshd on loopback),
// prints the plan, runs `zk-rollout rollout` twice (the second run changes nothing), shows the
// observers serving, and tears everything down.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fourLetterWord } from '../../workflows-lib/src/zookeeper/four-letter.js'
import { addressBlocks } from '../support/addresses.js'
import { repoRoot } from '../support/environments.js'
import { rolloutArgs, startWorld } from './world.js'

const cli = path.join(repoRoot, 'workflows-lib', 'dist', 'cli', 'index.js')
const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-rollout-demo-'))
const t0 = Date.now()
const say = (text: string): void => console.log(`\n### ${text} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)

say('starting the sandbox cluster and two observer VMs')
const world = await startWorld({ dir, addressBlock: addressBlocks.sandboxBlocks.demo, vmAddresses: addressBlocks.demoVms })
let failed = false
try {
  const env = { ...process.env, ...world.sandbox.env }
  // Asynchronous on purpose: the sandbox's kubelet and LB controller run in this process.
  const zk = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env })
      child.on('error', reject)
      child.on('close', code => (code === 0 ? resolve() : reject(new Error(`zk-rollout ${args[0]} exited with ${code}`))))
    })
  say(`plan for ${world.environmentDir}`)
  await zk(['plan', world.environmentDir])
  say('rollout')
  await zk(rolloutArgs(world))
  say('rollout again: nothing should change or restart')
  await zk(rolloutArgs(world))
  say('the observers, asked directly')
  for (const o of world.observers) console.log(`observer ${o.id} at ${o.address}:\n${await fourLetterWord(o.address, 2181, 'srvr')}`)
} catch (error) {
  failed = true
  console.error(`demo failed: ${(error as Error).message}`)
} finally {
  say('tearing down')
  await world.stop()
  rmSync(dir, { recursive: true, force: true })
}
process.exitCode = failed ? 1 : 0
