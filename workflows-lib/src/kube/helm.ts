// helm 3 (>= 3.13, for --dry-run=server) and helm 4. Never passes flags that delete and
// recreate objects (--force / --force-replace) or uninstall on failure.
import { parseAllDocuments } from 'yaml'
import { runCommand, type CommandResult, type RunOptions } from './command.js'
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

  private async run(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const shown = `helm ${args.join(' ')}`
    return retryTransient(() => runCommand(this.binary, ['--kubeconfig', this.kubeconfig, ...args], shown, opts), { what: shown })
  }

  /** 3 or 4; older helm cannot do server-side dry runs, so it is refused. */
  async majorVersion(): Promise<number> {
    if (this.major !== undefined) return this.major
    const { stdout } = await runCommand(this.binary, ['version', '--template', '{{.Version}}'], 'helm version')
    const match = /^v(\d+)\.(\d+)/.exec(stdout.trim())
    if (!match) throw new Error(`cannot read the helm version from "${stdout.trim()}"`)
    const [major, minor] = [Number(match[1]), Number(match[2])]
    if (major < 3 || (major === 3 && minor < 13)) throw new Error(`helm ${stdout.trim()} is too old: zk-rollout needs helm 3.13+ or helm 4`)
    this.major = major
    return major
  }

  /** The deployed release, or undefined when it was never installed. */
  async status(release: string, namespace: string): Promise<HelmRelease | undefined> {
    const result = await this.run(['get', 'metadata', release, '-n', namespace, '-o', 'json'], { allowExitCodes: [1] })
    if (result.exitCode !== 0) {
      if (/not found/i.test(result.stderr)) return undefined
      throw new Error(`helm get metadata ${release} failed: ${result.stderr.trim()}`)
    }
    const meta = JSON.parse(result.stdout) as { name: string; namespace: string; revision: number; status: string; version: string }
    const { stdout: manifest } = await this.run(['get', 'manifest', release, '-n', namespace])
    return { name: meta.name, namespace: meta.namespace, revision: meta.revision, status: meta.status, chartVersion: meta.version, manifest }
  }

  private upgradeArgs(req: UpgradeRequest): string[] {
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
      ...Object.entries(req.set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
      '-o',
      'json'
    ]
  }

  /** What an upgrade would produce, rendered against the live cluster's capabilities. */
  async dryRun(req: UpgradeRequest): Promise<HelmRelease> {
    await this.majorVersion()
    return fromReleaseJson((await this.run([...this.upgradeArgs(req), '--dry-run=server'])).stdout)
  }

  async upgrade(req: UpgradeRequest): Promise<HelmRelease> {
    await this.majorVersion()
    return fromReleaseJson((await this.run(this.upgradeArgs(req))).stdout)
  }

  async rollback(release: string, namespace: string, revision: number): Promise<void> {
    await this.run(['rollback', release, String(revision), '-n', namespace])
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
