// Renders bench/RESULTS.md from bench/results.json: the machine, when each section ran, its
// table and targets, and for every target missed the reason, from bench/missed.ts. A missed
// target without a written reason fails the report: a number we miss must be explained.
//
// Run: npx tsx bench/report.ts (npm run bench ends with it)
import { readFileSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { repoRoot } from '../test/support/environments.js'
import { missedBecause } from './missed.js'
import { renderSection, resultsFile, type Results } from './results.js'

const ORDER = ['readiness', 'rollout', 'fanout', 'startup', 'yaml-load']

export function renderReport(results: Results): { markdown: string; unexplained: string[] } {
  const m = results.machine
  const unexplained: string[] = []
  const keys = [...ORDER.filter(k => k in results.sections), ...Object.keys(results.sections).filter(k => !ORDER.includes(k))]
  const parts = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/report.ts renders bench/results.json); do not edit by hand. Reasons for missed targets live in bench/missed.ts.',
    '',
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, node ${m.node}.`,
    '',
    'What is simulated (ours): the sandbox kubelet and LoadBalancer controller, the compose shim on the observer VMs. Real: kube-apiserver, kube-controller-manager, etcd, helm 3 and 4, kubectl, OpenSSH, ZooKeeper, ansible-core.',
    ''
  ]
  for (const key of keys) {
    const section = results.sections[key]
    const targets = section.targets.map(t => {
      if (t.met) return t
      const why = missedBecause[`${key}: ${t.case}: ${t.target}`]
      if (!why) unexplained.push(`${key}: ${t.case}: ${t.target} (measured ${t.measured})`)
      return { ...t, why: why ?? 'NOT EXPLAINED' }
    })
    parts.push(
      `## ${section.title}`,
      '',
      `Run ${section.at.slice(0, 16).replace('T', ' ')} UTC.`,
      '',
      renderSection({ ...section, targets })
        .split('\n')
        .slice(2)
        .join('\n')
    )
  }
  return { markdown: `${parts.join('\n').trimEnd()}\n`, unexplained }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(repoRoot, 'bench', 'report.ts')
if (isMain) {
  const { markdown, unexplained } = renderReport(JSON.parse(readFileSync(resultsFile, 'utf8')) as Results)
  writeFileSync(path.join(repoRoot, 'bench', 'RESULTS.md'), markdown)
  console.log('bench/RESULTS.md written')
  if (unexplained.length > 0) {
    console.error(`targets missed without a reason in bench/missed.ts:\n${unexplained.map(u => `  ${u}`).join('\n')}`)
    process.exitCode = 1
  }
}
