// Deterministic YAML for everything we render. Strings are always double-quoted: PyYAML (and so
// docker-compose v1) reads an unquoted 2181:2181 as a base-60 number, and "true"/"101" must stay text.
import { stringify } from 'yaml'
import { oneLine } from '../output/printable.js'

// Every string stays on its line: no folding of long quoted strings into several lines, and the
// three characters YAML 1.1 (docker-compose v1's PyYAML) reads as line breaks are escaped too
// (they only occur inside double-quoted strings, where \uXXXX means the same character).
export function toYaml(value: unknown): string {
  return stringify(value, {
    defaultStringType: 'QUOTE_DOUBLE',
    defaultKeyType: 'PLAIN',
    lineWidth: 0,
    doubleQuotedMinMultiLineLength: Number.MAX_SAFE_INTEGER,
    aliasDuplicateObjects: false
  }).replace(/[\u0085\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

export function toYamlDocuments(values: unknown[]): string {
  return values.map(v => toYaml(v)).join('---\n')
}

/** The comment at the top of a rendered file; values in it can never start a line of their own. */
export function header(environment: string, what: string): string {
  return `# ${oneLine(what)}, rendered by zk-rollout from environments/${oneLine(environment)}/environment.yaml.\n# Do not edit: the next rollout replaces this file.\n`
}
