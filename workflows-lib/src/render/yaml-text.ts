// Deterministic YAML for everything we render. Strings are always double-quoted: PyYAML (and so
// docker-compose v1) reads an unquoted 2181:2181 as a base-60 number, and "true"/"101" must stay text.
import { stringify } from 'yaml'

export function toYaml(value: unknown): string {
  return stringify(value, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0, aliasDuplicateObjects: false })
}

export function toYamlDocuments(values: unknown[]): string {
  return values.map(v => toYaml(v)).join('---\n')
}

export function header(environment: string, what: string): string {
  return `# ${what}, rendered by zk-rollout from environments/${environment}/environment.yaml.\n# Do not edit: the next rollout replaces this file.\n`
}
