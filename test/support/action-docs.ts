// README tables generated from each actions/<name>/action.yml, so the docs cannot drift.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'

interface ActionYaml {
  name: string
  description: string
  inputs?: Record<string, { description: string; required?: boolean; default?: string }>
  outputs?: Record<string, { description: string }>
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').trim()

/** The root action first (what other repositories use), then each actions/<name>. */
export function renderActionDocs(root: string): string {
  const dirs = readdirSync(path.join(root, 'actions'))
    .filter(d => existsSync(path.join(root, 'actions', d, 'action.yml')))
    .sort()
  return ['.', ...dirs.map(d => `actions/${d}`)]
    .map(dir => {
      const action = parse(readFileSync(path.join(root, dir, 'action.yml'), 'utf8')) as ActionYaml
      const inputs = Object.entries(action.inputs ?? {}).map(
        ([name, i]) =>
          `| \`${name}\` | ${i.required ? 'yes' : 'no'} | ${i.default !== undefined ? `\`${i.default}\`` : ''} | ${cell(i.description)} |`
      )
      const outputs = Object.entries(action.outputs ?? {}).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`)
      return [
        dir === '.' ? '### The root action: `uses: <owner>/zk-rollout@<ref>`' : `### \`${dir}\``,
        '',
        cell(action.description),
        '',
        '| input | required | default | description |',
        '| --- | --- | --- | --- |',
        ...inputs,
        '',
        '| output | description |',
        '| --- | --- |',
        ...outputs
      ].join('\n')
    })
    .join('\n\n')
}

export const DOCS_START = '<!-- action-docs:start (generated from action.yml and actions/*/action.yml: UPDATE_DOCS=1 npm run test:unit) -->'
export const DOCS_END = '<!-- action-docs:end -->'
