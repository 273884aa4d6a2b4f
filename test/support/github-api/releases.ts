// Git references and releases of the stand-in's repository: what release.yml's publish step reads
// and writes. Refs start from StartOptions.refs (a pushed tag, the default branch); with a git
// directory the stand-in also checks, as GitHub does, that a SHA names a commit of the repository,
// that an update without `force` is a fast-forward, and that GITHUB_TOKEN (which can never hold
// the `workflows` permission) points a ref only at a commit whose workflows a branch already has.
import { execFileSync } from 'node:child_process'
import { Refusal, type HandlerInput, type HandlerOutput } from './endpoints.js'
import { ACTIONS_BOT, nodeId, repoApi, repoWeb, timestamp, user, type RepoContext } from './shapes.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>

export interface Release {
  id: number
  tag_name: string
  target_commitish: string
  name: string | null
  body: string | null
  draft: boolean
  prerelease: boolean
  author: string
  created_at: string
  published_at: string | null
}

/** GitHub's limit on a release's notes. */
export const MAX_RELEASE_BODY = 125000

export interface GitOptions {
  /** full ref name (refs/tags/v1.2.3, refs/heads/main) -> commit SHA */
  refs?: Record<string, string>
  /** a git directory holding the repository's commits: SHAs are checked against it */
  gitDir?: string
}

export class GitStore {
  readonly releases: Release[] = []
  readonly refs: Record<string, string>
  private nextId = 1_800_000_000

  constructor(
    private readonly ctx: RepoContext,
    private readonly actor: () => string,
    private readonly opts: GitOptions = {}
  ) {
    this.refs = { ...(opts.refs ?? {}) }
  }

  renderRef(ref: string): Json {
    const api = repoApi(this.ctx)
    const sha = this.refs[ref]
    return {
      ref,
      node_id: nodeId('REF', parseInt(sha.slice(0, 7), 16)),
      url: `${api}/git/${ref}`,
      object: { type: 'commit', sha, url: `${api}/git/commits/${sha}` }
    }
  }

  renderRelease(r: Release): Json {
    const api = repoApi(this.ctx)
    const url = `${api}/releases/${r.id}`
    return {
      url,
      html_url: `${repoWeb(this.ctx)}/releases/tag/${encodeURIComponent(r.tag_name)}`,
      assets_url: `${url}/assets`,
      upload_url: `https://uploads.github.com/repos/${this.ctx.owner}/${this.ctx.repo}/releases/${r.id}/assets{?name,label}`,
      tarball_url: `${api}/tarball/${encodeURIComponent(r.tag_name)}`,
      zipball_url: `${api}/zipball/${encodeURIComponent(r.tag_name)}`,
      id: r.id,
      node_id: nodeId('RE', r.id),
      tag_name: r.tag_name,
      target_commitish: r.target_commitish,
      name: r.name,
      body: r.body,
      draft: r.draft,
      prerelease: r.prerelease,
      immutable: false,
      created_at: r.created_at,
      published_at: r.published_at,
      updated_at: r.published_at ?? r.created_at,
      author: user(this.ctx, r.author),
      assets: []
    }
  }

  /** GitHub's "Object does not exist" for a SHA that is not a commit of the repository. */
  private needCommit(sha: string, resource: string): void {
    if (!/^[0-9a-f]{40}$/.test(sha))
      throw new Refusal(422, 'Validation Failed', [{ resource, code: 'invalid', field: 'sha', message: 'sha is not a valid SHA' }], true)
    if (!this.opts.gitDir) return
    try {
      execFileSync('git', ['-C', this.opts.gitDir, 'cat-file', '-e', `${sha}^{commit}`], { stdio: 'ignore' })
    } catch {
      throw new Refusal(422, 'Object does not exist')
    }
  }

  /**
   * Our reading of what GitHub answered in https://github.com/mkb79/Audible/pull/882 (GitHub does
   * not document the rule): a ref moved to a commit whose .github/workflows no branch head has is a
   * change of workflows, which needs the `workflows` permission GITHUB_TOKEN never holds; over REST
   * a bare 403 that names the permissions in x-accepted-github-permissions.
   */
  private needWorkflowsPermission(sha: string, unserved: string[]): void {
    if (this.actor() !== ACTIONS_BOT || !this.opts.gitDir) return
    if (!Object.keys(this.refs).some(ref => ref.startsWith('refs/heads/'))) {
      unserved.push('a ref moved by GITHUB_TOKEN with no branch head known: StartOptions.refs needs refs/heads/<default branch>')
      return
    }
    const workflows = (commit: string): string => {
      try {
        return execFileSync('git', ['-C', this.opts.gitDir!, 'rev-parse', '--verify', '-q', `${commit}:.github/workflows`], {
          encoding: 'utf8'
        }).trim()
      } catch {
        return ''
      }
    }
    const mine = workflows(sha)
    const heads = Object.entries(this.refs).filter(([ref]) => ref.startsWith('refs/heads/'))
    if (heads.some(([, head]) => workflows(head) === mine)) return
    throw new Refusal(403, 'Resource not accessible by integration', undefined, false, {
      'x-accepted-github-permissions': 'contents=write; contents=write,workflows=write'
    })
  }

  private fastForward(from: string, to: string): boolean {
    if (from === to || !this.opts.gitDir) return true
    try {
      execFileSync('git', ['-C', this.opts.gitDir, 'merge-base', '--is-ancestor', from, to], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }

  'repos/get-release-by-tag' = ({ params }: HandlerInput): HandlerOutput => {
    const r = this.releases.find(x => x.tag_name === params.tag && !x.draft)
    if (!r) throw new Refusal(404, 'Not Found')
    return { status: 200, body: this.renderRelease(r) }
  }

  'repos/create-release' = ({ body, unserved }: HandlerInput): HandlerOutput => {
    const tag = String(body.tag_name)
    if (body.generate_release_notes === true) unserved.push('repos/create-release generate_release_notes is not modelled')
    if (body.discussion_category_name !== undefined) unserved.push('repos/create-release discussion_category_name is not modelled')
    if (this.releases.some(r => r.tag_name === tag))
      throw new Refusal(422, 'Validation Failed', [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }])
    if (typeof body.body === 'string' && body.body.length > MAX_RELEASE_BODY)
      throw new Refusal(
        422,
        'Validation Failed',
        [{ resource: 'Release', code: 'custom', field: 'body', message: `body is too long (maximum is ${MAX_RELEASE_BODY} characters)` }],
        true
      )
    const target = body.target_commitish ?? this.ctx.defaultBranch
    if (!(`refs/tags/${tag}` in this.refs)) {
      // GitHub tags target_commitish (a branch or a SHA) when the tag does not exist yet.
      const sha = this.refs[`refs/heads/${target}`] ?? (/^[0-9a-f]{40}$/.test(target) ? target : undefined)
      if (!sha) unserved.push(`repos/create-release: tag ${tag} does not exist and ${target} is not a branch the stand-in knows`)
      else if (!body.draft) this.refs[`refs/tags/${tag}`] = sha
    }
    const now = timestamp()
    const r: Release = {
      id: ++this.nextId,
      tag_name: tag,
      target_commitish: target,
      name: body.name ?? tag,
      body: body.body ?? null,
      draft: body.draft === true,
      prerelease: body.prerelease === true,
      author: this.actor(),
      created_at: now,
      published_at: body.draft === true ? null : now
    }
    this.releases.push(r)
    const rendered = this.renderRelease(r)
    return { status: 201, body: rendered, headers: { location: rendered.url } }
  }

  'git/get-ref' = ({ params }: HandlerInput): HandlerOutput => {
    const ref = `refs/${params.ref}`
    if (!(ref in this.refs)) throw new Refusal(404, 'Not Found')
    return { status: 200, body: this.renderRef(ref) }
  }

  'git/create-ref' = ({ body, unserved }: HandlerInput): HandlerOutput => {
    const ref = String(body.ref)
    if (!/^refs\/[^/]+\/.+/.test(ref)) throw new Refusal(422, 'Reference name is invalid', undefined, true)
    this.needCommit(String(body.sha), 'Reference')
    if (ref in this.refs) throw new Refusal(422, 'Reference already exists')
    this.needWorkflowsPermission(String(body.sha), unserved)
    this.refs[ref] = String(body.sha)
    const rendered = this.renderRef(ref)
    return { status: 201, body: rendered, headers: { location: rendered.url } }
  }

  'git/update-ref' = ({ params, body, unserved }: HandlerInput): HandlerOutput => {
    const ref = `refs/${params.ref}`
    if (!(ref in this.refs)) throw new Refusal(422, 'Reference does not exist')
    const sha = String(body.sha)
    this.needCommit(sha, 'Reference')
    if (body.force !== true && !this.fastForward(this.refs[ref], sha)) throw new Refusal(422, 'Update is not a fast forward')
    this.needWorkflowsPermission(sha, unserved)
    this.refs[ref] = sha
    return { status: 200, body: this.renderRef(ref) }
  }
}
