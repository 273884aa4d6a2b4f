// helm 3 (>= 3.13, for --dry-run=server) and helm 4. Never passes flags that delete and
// recreate objects (--force / --force-replace) or uninstall on failure.
import { parseAllDocuments } from 'yaml'
import { CommandError, runCommand, type CommandResult, type RunOptions } from './command.js'
import { retryTransient } from './transient.js'
import type { KubeObject, StatefulSet } from './types.js'

/** What zk-rollout needs of a release, from whichever helm command reported it. */
export interface HelmRelease {
  name: string
  namespace: string
  revision: number
  status: string
  chartVersion: string
  manifest: string
}

/** The release JSON of `helm upgrade -o json` (helm 3 and 4 alike). */
function fromReleaseJson(text: string): HelmRelease {
  const r = JSON.parse(text) as {
    name: string
    namespace: string
    version: number
    info: { status: string }
    chart: { metadata: { version: string } }
    manifest: string
  }
  return {
    name: r.name,
    namespace: r.namespace,
    revision: r.version,
    status: r.info.status,
    chartVersion: r.chart.metadata.version,
    manifest: r.manifest
  }
}

export interface UpgradeRequest {
  release: string
  namespace: string
  chart: string
  chartFlags: string[]
  valuesFile: string
  /** --set key=value pairs (numbers and booleans as helm parses them). */
  set: Record<string, string>
}

export class Helm {
  private major?: number

  constructor(
    readonly binary: string,
    readonly kubeconfig: string
  ) {}

  private exec(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return runCommand(this.binary, ['--kubeconfig', this.kubeconfig, ...args], `helm ${args.join(' ')}`, opts)
  }

  /** Reads and the server-side dry run change nothing, so a transient API error is retried. */
  private read(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return retryTransient(() => this.exec(args, opts), { what: `helm ${args.join(' ')}` })
  }

  /**
   * upgrade and rollback run once, never through retryTransient: helm marks the release
   * pending-upgrade/pending-rollback and applies objects before the error that looks transient,
   * so a retry of a partly applied operation fails with "another operation
   * (install/upgrade/rollback) is in progress" and can leave the release stuck pending. Whether
   * to try again is the caller's decision, after reading the release's status.
   */
  private change(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return this.exec(args, opts)
  }

  /** 3 or 4; older helm cannot do server-side dry runs, so it is refused. */
  async majorVersion(): Promise<number> {
    if (this.major !== undefined) return this.major
    const { stdout } = await retryTransient(() => runCommand(this.binary, ['version', '--template', '{{.Version}}'], 'helm version'), {
      what: 'helm version'
    })
    const match = /^v(\d+)\.(\d+)/.exec(stdout.trim())
    if (!match) throw new Error(`cannot read the helm version from "${stdout.trim()}"`)
    const [major, minor] = [Number(match[1]), Number(match[2])]
    if (major < 3 || (major === 3 && minor < 13)) throw new Error(`helm ${stdout.trim()} is too old: zk-rollout needs helm 3.13+ or helm 4`)
    this.major = major
    return major
  }

  /** The deployed release, or undefined when it was never installed. */
  async status(release: string, namespace: string): Promise<HelmRelease | undefined> {
    // Not allowExitCodes: [1]: helm exits 1 for every error, and a transient one must be thrown
    // (and so retried) rather than read as an answer.
    let result: CommandResult
    try {
      result = await this.read(['get', 'metadata', release, '-n', namespace, '-o', 'json'])
    } catch (error) {
      if (!(error instanceof CommandError)) throw error
      if (/not found/i.test(error.result.stderr)) return undefined
      throw new Error(`helm get metadata ${release} failed: ${error.result.stderr.trim()}`, { cause: error })
    }
    const meta = JSON.parse(result.stdout) as { name: string; namespace: string; revision: number; status: string; version: string }
    const { stdout: manifest } = await this.read(['get', 'manifest', release, '-n', namespace])
    return { name: meta.name, namespace: meta.namespace, revision: meta.revision, status: meta.status, chartVersion: meta.version, manifest }
  }

  private upgradeArgs(req: UpgradeRequest): string[] {
    return [...helmUpgradeArgs(req), '-o', 'json']
  }

  /** What an upgrade would produce, rendered against the live cluster's capabilities. */
  async dryRun(req: UpgradeRequest): Promise<HelmRelease> {
    await this.majorVersion()
    return fromReleaseJson((await this.read([...this.upgradeArgs(req), '--dry-run=server'])).stdout)
  }

  async upgrade(req: UpgradeRequest): Promise<HelmRelease> {
    await this.majorVersion()
    return fromReleaseJson((await this.change(this.upgradeArgs(req))).stdout)
  }

  /** The manifest of one revision of the release. */
  async manifestAt(release: string, namespace: string, revision: number): Promise<string> {
    return (await this.read(['get', 'manifest', release, '-n', namespace, '--revision', String(revision)])).stdout
  }

  async rollback(release: string, namespace: string, revision: number): Promise<void> {
    await this.change(['rollback', release, String(revision), '-n', namespace])
  }
}

export function manifestObjects(manifest: string): KubeObject[] {
  return parseAllDocuments(manifest)
    .map(doc => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind && o.metadata?.name))
}

/** The release's one StatefulSet, read from its manifest so any chart works. */
export function findStatefulSet(manifest: string, release: string): StatefulSet {
  const sets = manifestObjects(manifest).filter(o => o.kind === 'StatefulSet') as StatefulSet[]
  if (sets.length !== 1)
    throw new Error(
      `release ${release} renders ${sets.length} StatefulSets${sets.length ? ` (${sets.map(s => s.metadata.name).join(', ')})` : ''}; zk-rollout needs exactly one ZooKeeper StatefulSet`
    )
  return sets[0]
}

/** `helm upgrade --install` of a request, as helm takes it (the benchmarks run other helms with it). */
export function helmUpgradeArgs(req: UpgradeRequest): string[] {
  return [
    'upgrade',
    '--install',
    req.release,
    req.chart,
    ...req.chartFlags,
    '--namespace',
    req.namespace,
    '--create-namespace',
    '--values',
    req.valuesFile,
    ...Object.entries(req.set).flatMap(([k, v]) => ['--set', `${k}=${v}`])
  ]
}
