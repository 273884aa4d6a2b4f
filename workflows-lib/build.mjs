// Builds every bundle with ncc: the CLI and one dist/ per action. Then writes the JSON Schema
// from its TypeScript source, so the file editors use can never drift from validation.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
const only = process.argv.slice(2)

const targets = [{ name: 'cli', entry: 'workflows-lib/src/cli/index.ts', out: 'workflows-lib/dist/cli' }]
for (const name of readdirSync(path.join(root, 'actions'), { withFileTypes: true })) {
  const entry = `actions/${name.name}/src/index.ts`
  if (name.isDirectory() && existsSync(path.join(root, entry))) targets.push({ name: name.name, entry, out: `actions/${name.name}/dist` })
}

for (const t of targets.filter(t => only.length === 0 || only.includes(t.name))) {
  rmSync(path.join(root, t.out), { recursive: true, force: true })
  execFileSync(
    process.execPath,
    [ncc, 'build', t.entry, '-o', t.out, '--license', 'licenses.txt', '--quiet', '--transpile-only', '--target', 'es2022'],
    {
      cwd: root,
      stdio: 'inherit'
    }
  )
  console.log(`built ${t.out}`)
}

const schema = execFileSync(process.execPath, [path.join(root, 'workflows-lib/dist/cli/index.js'), 'schema'], { encoding: 'utf8' })
writeFileSync(path.join(root, 'workflows-lib/schema/environment.schema.json'), schema)
console.log('wrote workflows-lib/schema/environment.schema.json')
