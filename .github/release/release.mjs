// The release workflow's two steps, in plain Node (no install needed on the runner):
//   check <tag>    the tag is v<package.json version>, CHANGELOG.md has that version's section, and
//                  the workflows call this repository's actions at the release's major tag;
//                  writes version and major to $GITHUB_OUTPUT. Changes nothing.
//   publish <tag>  creates the GitHub release with that section as its notes, then points the
//                  major tag (v0 for 0.x, v1 for 1.x) at this commit. Run only after the tests
//                  and the dist check; safe to re-run. Tag releases in order: a backport tag
//                  moves its major tag too.
import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import * as path from 'node:path'

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

export class ReleaseError extends Error {}

/** The version a tag names, or a ReleaseError saying why it names none or the wrong one. */
export function versionOfTag(tag, packageVersion) {
  const m = /^v(.+)$/.exec(tag)
  if (!m || !SEMVER.test(m[1])) throw new ReleaseError(`tag ${JSON.stringify(tag)} is not v<major>.<minor>.<patch>`)
  if (m[1] !== packageVersion)
    throw new ReleaseError(
      `tag ${tag} does not match package.json: its "version" is ${JSON.stringify(packageVersion)}; bump it (and CHANGELOG.md) first`
    )
  return m[1]
}

/** The body of CHANGELOG.md's section `## [version] - date`, trimmed; a ReleaseError naming the file and line when absent or empty. */
export function changelogSection(changelog, version, file = 'CHANGELOG.md') {
  const lines = changelog.split(/\r?\n/)
  const start = lines.findIndex(l => l.startsWith(`## [${version}]`))
  if (start < 0) throw new ReleaseError(`${file}: no section "## [${version}] - <date>" for this release`)
  if (!/^## \[[^\]]+\] - \d{4}-\d{2}-\d{2}$/.test(lines[start]))
    throw new ReleaseError(`${file}:${start + 1}: the heading needs a date: "## [${version}] - YYYY-MM-DD"`)
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim()
  if (!body) throw new ReleaseError(`${file}:${start + 1}: the section for ${version} is empty`)
  return body
}

/**
 * `uses: zk-rollout/zk-rollout[/path]@ref` lines of a workflow whose ref is not the major tag, as
 * "file:line: ..." messages. rollout-reusable.yml runs in other repositories, where ./ is theirs:
 * it names this repository, at the major tag each release moves, so a release of a new major
 * version has to move those references with it. Owner and name compare without case, as GitHub
 * does; lines of a block scalar (a `run: |` script) are text, not keys.
 */
export function selfReferences(text, file, major) {
  const problems = []
  let block // column of the key that opened a block scalar: its text is indented deeper
  text.split(/\r?\n/).forEach((line, i) => {
    const indent = line.length - line.trimStart().length
    if (block !== undefined && (line.trim() === '' || indent > block)) return
    block = /:\s*[|>][-+0-9]*\s*(#.*)?$/.test(line) ? /^\s*(?:-\s+)*/.exec(line)[0].length : undefined
    const m = /^\s*(?:-\s+)?(?:\{\s*)?["']?uses["']?\s*:\s*["']?([\w.-]+)\/([\w.-]+)(?:\/[^@\s"']*)?@([^\s"',}#]+)/.exec(line)
    if (m && `${m[1]}/${m[2]}`.toLowerCase() === 'zk-rollout/zk-rollout' && m[3] !== major)
      problems.push(`${file}:${i + 1}: uses this repository's actions at ${m[3]}, not at this release's major tag ${major}`)
  })
  return problems
}

async function api(method, route, body) {
  const base = process.env.GITHUB_API_URL ?? 'https://api.github.com'
  const response = await fetch(`${base}${route}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${process.env.GITHUB_TOKEN}`,
      'x-github-api-version': '2022-11-28',
      ...(body ? { 'content-type': 'application/json' } : {})
    },
    body: body ? JSON.stringify(body) : undefined
  })
  const text = await response.text()
  let data
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = { message: `(not JSON: ${text.slice(0, 80).replace(/\s+/g, ' ')})` } // a proxy's HTML error page
  }
  return { status: response.status, data, headers: response.headers }
}

/** Why a move of the major tag failed, with what to do when GitHub wants the workflows permission. */
function moveFailure(major, moved) {
  const why = `moving ${major} failed: HTTP ${moved.status} ${moved.data?.message ?? ''}`.trim()
  const accepted = moved.headers?.get('x-accepted-github-permissions') ?? ''
  if (moved.status !== 403 || !accepted.includes('workflows')) return why
  // GITHUB_TOKEN never holds it: GitHub takes a tag on a commit whose .github/workflows no branch head has for a workflow change.
  return `${why} (GitHub wants the workflows permission: this commit's .github/workflows differs from every branch head). Tag the release on main's head, or re-run the publish job with a RELEASE_TOKEN secret (a fine-grained token for this repository with Contents and Workflows write)`
}

async function publish(tag, version, notes) {
  const repo = process.env.GITHUB_REPOSITORY
  const sha = process.env.GITHUB_SHA
  if (!repo || !sha || !process.env.GITHUB_TOKEN) throw new ReleaseError('publish needs GITHUB_REPOSITORY, GITHUB_SHA and GITHUB_TOKEN')
  // A re-run after a failure below finds its release made and goes on to move the major tag.
  const existing = await api('GET', `/repos/${repo}/releases/tags/${tag}`)
  if (existing.status !== 200 && existing.status !== 404)
    throw new ReleaseError(`looking up the release failed: HTTP ${existing.status} ${existing.data?.message ?? ''}`)
  if (existing.status === 200) console.log(`release ${tag}: exists already (${existing.data.html_url}), not created again`)
  else {
    const created = await api('POST', `/repos/${repo}/releases`, { tag_name: tag, name: tag, body: notes, draft: false, prerelease: false })
    if (created.status !== 201) throw new ReleaseError(`creating the release failed: HTTP ${created.status} ${created.data?.message ?? ''}`)
    console.log(`release ${tag}: ${created.data.html_url}`)
  }
  // The major tag moves last, so a failure above leaves v<major> where it was.
  const major = `v${version.split('.')[0]}`
  const ref = await api('GET', `/repos/${repo}/git/ref/tags/${major}`)
  if (ref.status !== 200 && ref.status !== 404) throw new ReleaseError(`reading ${major} failed: HTTP ${ref.status} ${ref.data?.message ?? ''}`)
  const moved =
    ref.status === 200
      ? await api('PATCH', `/repos/${repo}/git/refs/tags/${major}`, { sha, force: true })
      : await api('POST', `/repos/${repo}/git/refs`, { ref: `refs/tags/${major}`, sha })
  if (moved.status !== 200 && moved.status !== 201) throw new ReleaseError(moveFailure(major, moved))
  console.log(`tag ${major} -> ${sha}`)
}

async function main([command, tag]) {
  const root = path.resolve(import.meta.dirname, '..', '..')
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  const version = versionOfTag(tag ?? '', pkg.version)
  const notes = changelogSection(readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8'), version)
  if (command === 'check') {
    const major = `v${version.split('.')[0]}`
    const dir = path.join(root, '.github', 'workflows')
    const files = existsSync(dir) ? readdirSync(dir).filter(f => /\.ya?ml$/.test(f)) : []
    const problems = files.flatMap(f => selfReferences(readFileSync(path.join(dir, f), 'utf8'), `.github/workflows/${f}`, major))
    if (problems.length) throw new ReleaseError(problems.join('\nrelease: '))
    if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `version=${version}\nmajor=${major}\n`)
    console.log(`release ${tag}: package.json, CHANGELOG.md and the workflows (this repository at ${major}) agree`)
  } else if (command === 'publish') await publish(tag, version, notes)
  else throw new ReleaseError('usage: release.mjs check|publish <tag>')
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).catch(error => {
    // Our own message first on the line: never a value from the tag (it could start "::").
    console.error(`release: ${error.message}`)
    process.exitCode = 1
  })
}
