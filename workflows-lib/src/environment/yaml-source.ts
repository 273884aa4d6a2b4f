// Parses a YAML file a user wrote (environment.yaml, a Helm values file) in time linear in its
// size: the yaml library's own duplicate-key check compares every key with every other one of
// its mapping (40k keys: ~20 s), so duplicates are found here with one Set per mapping instead.
// Every problem has a line and column, including an alias bomb and nesting too deep to walk.
import { isAlias, isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml'
import { quoted } from '../output/printable.js'
import type { ConfigProblem } from './problems.js'

/** Sizes users' files stay far below; anything larger is refused before parsing. */
export const MAX_ENVIRONMENT_BYTES = 64 * 1024
export const MAX_VALUES_BYTES = 1024 * 1024
/** Aliases one document may expand: enough for shared anchors, far too few for a "billion laughs". */
const MAX_ALIAS_COUNT = 100

export interface YamlSource {
  doc: Document
  lines: LineCounter
  /** The document as plain data; undefined when a problem was found. */
  value: unknown
  problems: ConfigProblem[]
}

export function parseYamlSource(text: string, file: string, maxBytes: number): YamlSource {
  const lines = new LineCounter()
  const problem = (offset: number, message: string): ConfigProblem => {
    const pos = lines.linePos(offset)
    return { file, field: '', line: pos.line, column: pos.col, message }
  }
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxBytes) {
    return {
      doc: parseDocument(''),
      lines,
      value: undefined,
      problems: [{ file, field: '', line: 1, column: 1, message: `the file has ${bytes} bytes, more than the ${maxBytes} allowed` }]
    }
  }
  try {
    return parse(text, lines, problem)
  } catch (error) {
    // Composing and converting recurse per nesting level: a deep enough document exhausts the stack.
    const why = error instanceof RangeError ? 'nested too deeply' : (error as Error).message
    return { doc: parseDocument(''), lines, value: undefined, problems: [problem(0, `YAML: cannot be read: ${why}`)] }
  }
}

function parse(text: string, lines: LineCounter, problem: (offset: number, message: string) => ConfigProblem): YamlSource {
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false })
  const problems = doc.errors.map(e => problem(e.pos[0], `YAML: ${e.message.split('\n')[0]}`))
  if (problems.length === 0) problems.push(...duplicateKeys(doc, problem))
  if (problems.length > 0) return { doc, lines, value: undefined, problems }
  try {
    return { doc, lines, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), problems }
  } catch (error) {
    if (error instanceof RangeError && !/alias/i.test(error.message)) throw error
    let firstAlias: Node | undefined
    visit(doc, {
      Alias(_, node) {
        firstAlias = node
        return visit.BREAK
      }
    })
    const why = /alias/i.test((error as Error).message)
      ? `YAML: aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} expansions): use fewer aliases`
      : `YAML: ${(error as Error).message}`
    return { doc, lines, value: undefined, problems: [problem(firstAlias?.range?.[0] ?? 0, why)] }
  }
}

function duplicateKeys(doc: Document, problem: (offset: number, message: string) => ConfigProblem): ConfigProblem[] {
  const found: ConfigProblem[] = []
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return
      const seen = new Set<string>()
      for (const pair of map.items) {
        const key = pair.key
        // Complex keys (mappings as keys) never occur in our files; aliases as keys are compared by source.
        const name = isScalar(key) ? `s:${String(key.value)}` : isAlias(key) ? `a:${key.source}` : undefined
        if (name === undefined) continue
        if (seen.has(name))
          found.push(
            problem(
              (key as Node).range?.[0] ?? 0,
              `YAML: map keys must be unique; ${quoted(String((key as { value?: unknown }).value ?? ''))} is repeated`
            )
          )
        seen.add(name)
      }
    }
  })
  return found
}
