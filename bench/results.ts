// The benchmarks' one results format: each comparison is a set of samples per tool, summarized
// as median and spread, with the ratio to ours and the target it is held to. Every bench file
// merges its section into bench/results.json; bench/report.ts renders bench/RESULTS.md from it.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { repoRoot } from '../test/support/environments.js'

export const resultsFile = path.join(repoRoot, 'bench', 'results.json')

export interface Summary {
  median: number
  min: number
  max: number
  samples: number
}

export interface ResultRow {
  /** What is compared, e.g. "readiness, N=5". */
  case: string
  tool: string
  unit: 'ms' | 'MiB' | 'KiB' | 'round trips'
  summary: Summary
  /** This tool's median over ours (how many times ours is better when > 1); absent for ours. */
  ratioToOurs?: number
}

export interface Target {
  case: string
  /** The target in words, e.g. "median added latency <= 10 ms". */
  target: string
  measured: string
  met: boolean
  /** Why it was missed, when it was. */
  why?: string
}

export interface Section {
  title: string
  /** How it was measured, in a sentence or two. */
  method: string
  at: string
  rows: ResultRow[]
  targets: Target[]
}

export interface Results {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; kernel: string }
  sections: Record<string, Section>
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples: sorted.length }
}

/** Rows for one case: ours first, then each other tool with its ratio to ours. */
export function compare(
  caseName: string,
  unit: ResultRow['unit'],
  ours: { tool: string; samples: number[] },
  others: { tool: string; samples: number[] }[]
): ResultRow[] {
  const mine = summarize(ours.samples)
  return [
    { case: caseName, tool: ours.tool, unit, summary: mine },
    ...others.map(o => {
      const s = summarize(o.samples)
      return { case: caseName, tool: o.tool, unit, summary: s, ratioToOurs: mine.median === 0 ? Infinity : s.median / mine.median }
    })
  ]
}

function machine(): Results['machine'] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()
  }
}

/** Merges one section into bench/results.json (other sections are kept from earlier runs). */
export function saveSection(key: string, section: Omit<Section, 'at'>): void {
  const previous: Results | undefined = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results) : undefined
  const results: Results = { machine: machine(), sections: { ...previous?.sections, [key]: { ...section, at: new Date().toISOString() } } }
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`)
  console.log(renderSection(results.sections[key]))
}

const fmt = (n: number, unit: string): string => `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)} ${unit}`

export function renderSection(section: Section): string {
  const lines = [
    `### ${section.title}`,
    '',
    section.method,
    '',
    '| case | tool | median | spread (min-max) | n | vs ours |',
    '| --- | --- | ---: | --- | ---: | ---: |',
    ...section.rows.map(
      r =>
        `| ${r.case} | ${r.tool} | ${fmt(r.summary.median, r.unit)} | ${fmt(r.summary.min, r.unit)} - ${fmt(r.summary.max, r.unit)} | ${r.summary.samples} | ${r.ratioToOurs === undefined ? 'ours' : `${r.ratioToOurs.toFixed(2)}x`} |`
    ),
    ''
  ]
  if (section.targets.length > 0)
    lines.push(
      '| target | measured | met |',
      '| --- | --- | --- |',
      ...section.targets.map(t => `| ${t.case}: ${t.target} | ${t.measured} | ${t.met ? 'yes' : `**no**: ${t.why ?? 'see below'}`} |`),
      ''
    )
  return lines.join('\n')
}
