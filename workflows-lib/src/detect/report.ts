// What a detection becomes for the workflow: the strategy.matrix JSON (valid even when empty, so
// the matrix job is skipped by `if: needs.detect.outputs.any == 'true'` rather than failed) and
// the job summary.
import { markdownTable, type Row } from '../github/summary.js'
import { oneLine } from '../output/printable.js'
import type { Detection } from './detect-environments.js'
import { environmentDirectory } from './environment-dirs.js'

export interface MatrixEntry {
  environment: string
  directory: string
}

export function detectionMatrix(d: Detection): { include: MatrixEntry[] } {
  return { include: d.environments.map(name => ({ environment: name, directory: environmentDirectory(d.root, name) })) }
}

export function detectionSummaryMarkdown(d: Detection): string {
  const lines = [`### detect-environments: ${d.environments.length} environment${d.environments.length === 1 ? '' : 's'} selected`, '']
  lines.push(oneLine(d.basis), '')
  if (d.environments.length > 0) {
    lines.push(
      markdownTable(
        ['environment', 'reason'],
        d.environments.map((n): Row => [n, d.reasons[n]])
      ),
      ''
    )
  } else {
    lines.push('No environment selected: nothing to roll out.', '')
  }
  if (d.deleted.length > 0) {
    lines.push(
      '**Deleted** (their environment.yaml is gone). Nothing is torn down: the Helm release, Services and observers keep running until removed by hand.',
      '',
      markdownTable(
        ['environment', 'directory'],
        d.deleted.map((n): Row => [n, environmentDirectory(d.root, n)])
      ),
      ''
    )
  }
  if (d.warnings.length > 0) lines.push('**Warnings**', '', ...d.warnings.map(w => `- ${oneLine(w)}`), '')
  return `${lines.join('\n')}\n`
}
