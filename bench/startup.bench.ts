// Action start-up: each actions/<name>/dist/index.js, started as a runner starts it (node on the
// bundle, inputs in INPUT_* variables), to its first line on stdout, against a node script that
// prints one line and does nothing else: what loading our bundle costs before any work. Run
// without inputs, so the first line is the "input required" error, printed right after the
// bundle is loaded and before any file, network or child process. Also the bundle sizes and each
// start-up's peak RSS (/usr/bin/time), the floor under the RSS of a real run.
//
// Run: npm run bench (all) or npm run bench -- --testPathPattern bench/startup
import { it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { repoRoot } from '../test/support/environments.js'
import { compare, saveSection, summarize, type ResultRow, type Target } from './results.js'

const RUNS = Number(process.env.BENCH_RUNS_STARTUP ?? 21)
const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-bench-startup-'))
const empty = path.join(dir, 'empty.js')
writeFileSync(empty, "console.log('ready')\n")

const actions = readdirSync(path.join(repoRoot, 'actions')).filter(a => existsSync(path.join(repoRoot, 'actions', a, 'dist', 'index.js')))

/** Milliseconds from spawn to the first stdout byte, and the process's peak RSS in MiB. */
function firstLine(script: string): Promise<{ ms: number; rssMiB: number }> {
  const temp = mkdtempSync(path.join(dir, 'run-'))
  writeFileSync(path.join(temp, 'output'), '')
  writeFileSync(path.join(temp, 'summary'), '')
  const env = {
    PATH: process.env.PATH ?? '',
    RUNNER_TEMP: temp,
    GITHUB_OUTPUT: path.join(temp, 'output'),
    GITHUB_STEP_SUMMARY: path.join(temp, 'summary')
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    let first: number | undefined
    let stderr = ''
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, script], { env, cwd: temp })
    child.stdout.on('data', () => (first ??= performance.now()))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', () => {
      const rss = /maxrss=(\d+)/.exec(stderr)
      if (first === undefined || !rss) return reject(new Error(`${script}: no output line or no maxrss:\n${stderr}`))
      resolve({ ms: first - t0, rssMiB: Number(rss[1]) / 1024 })
    })
  })
}

it('action start-up to the first log line against an empty node script; bundle sizes; start-up RSS', async () => {
  const scripts = [empty, ...actions.map(a => path.join(repoRoot, 'actions', a, 'dist', 'index.js'))]
  for (const s of scripts) await firstLine(s) // warm the page cache
  const times = new Map<string, number[]>(scripts.map(s => [s, []]))
  const rss = new Map<string, number[]>(scripts.map(s => [s, []]))
  // Interleaved: a slow moment of the machine hits every script alike.
  for (let i = 0; i < RUNS; i++)
    for (const s of scripts) {
      const r = await firstLine(s)
      times.get(s)!.push(r.ms)
      rss.get(s)!.push(r.rssMiB)
    }
  const rows: ResultRow[] = []
  const targets: Target[] = []
  const floor = summarize(times.get(empty)!).median
  for (const [i, action] of actions.entries()) {
    const script = scripts[i + 1]
    // Here "ours" is the action and the other row the empty script, so its ratio reads "empty / ours".
    rows.push(
      ...compare(`start-up: ${action}`, 'ms', { tool: `${action} dist/index.js`, samples: times.get(script)! }, [
        { tool: 'empty node script', samples: times.get(empty)! }
      ])
    )
    const ratio = summarize(times.get(script)!).median / floor
    targets.push({ case: action, target: 'first log line < 2x an empty node script', measured: `${ratio.toFixed(2)}x`, met: ratio < 2 })
  }
  for (const [i, action] of actions.entries()) {
    const script = scripts[i + 1]
    rows.push({ case: `bundle: ${action}`, tool: 'dist/index.js size', unit: 'KiB', summary: summarize([statSync(script).size / 1024]) })
    rows.push({ case: `start-up RSS: ${action}`, tool: 'peak RSS', unit: 'MiB', summary: summarize(rss.get(script)!) })
  }
  rows.push({ case: 'start-up RSS: empty node script', tool: 'peak RSS', unit: 'MiB', summary: summarize(rss.get(empty)!) })
  saveSection('startup', {
    title: 'Action start-up, bundle sizes, start-up memory',
    method: `Each bundle run ${RUNS} times after one warm-up, interleaved with an empty node script that prints one line (${process.version}); time from spawn to the first stdout byte, peak RSS from /usr/bin/time. Without inputs: every action's first line is its input error (each reads its settings before any work), so it comes right after the bundle is loaded.`,
    rows,
    targets
  })
}, 600_000)
