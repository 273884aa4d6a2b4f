// Maps a field path of a parsed YAML document back to its line and column.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml'
import type { FieldPath } from './problems.js'

export interface Position {
  line: number
  column: number
}

export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter
  ) {}

  /**
   * Where `field` is written; `at: 'key'` points at the key of the last segment (for unknown
   * keys). A path that is not in the document resolves to its deepest existing parent.
   */
  locate(field: FieldPath, at: 'key' | 'value' = 'value'): Position {
    let node: unknown = this.doc.contents
    let offset = (this.doc.contents as Node | null)?.range?.[0] ?? 0
    for (let i = 0; i < field.length; i++) {
      const segment = field[i]
      const last = i === field.length - 1
      if (isMap(node)) {
        const pair = node.items.find(p => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment))
        if (!pair) break
        const key = pair.key as Node
        const value = pair.value as Node | null
        offset = (last && at === 'key') || !value?.range ? (key.range?.[0] ?? offset) : value.range[0]
        node = value
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
        node = node.items[segment]
        offset = (node as Node).range?.[0] ?? offset
      } else {
        break
      }
    }
    const { line, col } = this.lines.linePos(offset)
    return { line, column: col }
  }
}
