// Edits one value of an environment.yaml the way a person would: only that value's characters
// change, so comments, quoting, flow mappings and alignment stay byte for byte and the pull
// request's diff is one line. (Re-printing the document would keep comments but not their
// alignment.) Whatever the edit, the parsed result must differ from the original in that one
// field alone, or nothing is written.
import { isDeepStrictEqual } from 'node:util'
import { isScalar, parseDocument } from 'yaml'
import { formatField, type FieldPath } from './problems.js'

const MAX_ALIAS_COUNT = 100

function parsed(text: string): unknown {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) throw new Error(`the file is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`)
  return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
}

/** `data` (a fresh parse, changed in place) with `field` set to `value`; undefined when a parent is missing or not a mapping. */
function withValue(data: unknown, field: FieldPath, value: unknown): unknown {
  let node = data as Record<string | number, unknown> | undefined
  for (const segment of field.slice(0, -1)) {
    const next = node?.[segment]
    if (!next || typeof next !== 'object') return undefined
    node = next as Record<string | number, unknown>
  }
  if (!node) return undefined
  node[field[field.length - 1]] = value
  return data
}

/** The file's text with `field` set to the number or boolean `value`; throws when that cannot be done alone. */
export function setScalar(text: string, field: FieldPath, value: number | boolean): string {
  const doc = parseDocument(text)
  const expected = withValue(parsed(text), field, value)
  const name = formatField(field)
  if (expected === undefined) throw new Error(`${name} is not in the file: add it by hand`)
  const node = doc.getIn(field, true)
  let edited: string
  if (isScalar(node) && node.range && node.type === 'PLAIN') {
    // The value's own characters, without its anchor, tag or trailing comment.
    edited = `${text.slice(0, node.range[0])}${String(value)}${text.slice(node.range[1])}`
  } else {
    // Quoted, an alias or absent: let the library write it (it keeps comments; lineWidth 0 folds nothing).
    doc.setIn(field, value)
    edited = doc.toString({ lineWidth: 0 })
  }
  if (!isDeepStrictEqual(parsed(edited), expected))
    throw new Error(`setting ${name} would change other values too (an anchor shared with another field?): edit the file by hand`)
  return edited
}

export function setEnsembleServers(text: string, servers: number): string {
  return setScalar(text, ['ensemble', 'servers'], servers)
}
