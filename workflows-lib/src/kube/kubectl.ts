// kubectl as the one Kubernetes client: it owns authentication (token, client certs, exec
// plugins for EKS/GKE/AKS), so zk-rollout never parses a kubeconfig.
import { runCommand, type CommandResult, type RunOptions } from './command.js'
import { retryTransient } from './transient.js'
import type { KubeList, KubeObject } from './types.js'

export const FIELD_MANAGER = 'zk-rollout'

export class Kubectl {
  constructor(
    readonly binary: string,
    readonly kubeconfig: string
  ) {}

  /** Arguments every kubectl call carries (the kubeconfig is never shown in logs). */
  baseArgs(): string[] {
    return ['--kubeconfig', this.kubeconfig]
  }

  async run(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const shown = `kubectl ${args.join(' ')}`
    const once = (): Promise<CommandResult> => runCommand(this.binary, [...this.baseArgs(), '--request-timeout=60s', ...args], shown, opts)
    return opts.once ? once() : retryTransient(once, { what: shown })
  }

  async json<T>(args: string[]): Promise<T> {
    const { stdout } = await this.run([...args, '-o', 'json'])
    return JSON.parse(stdout) as T
  }

  /** GET of a raw API path, e.g. /api/v1/namespaces/x/pods?labelSelector=... */
  async raw<T>(path: string): Promise<T> {
    const { stdout } = await this.run(['get', '--raw', path])
    return JSON.parse(stdout) as T
  }

  /** The object, or undefined when it does not exist. */
  async getOptional<T extends KubeObject>(resource: string, name: string, namespace?: string): Promise<T | undefined> {
    const { stdout } = await this.run(['get', resource, name, ...(namespace ? ['-n', namespace] : []), '--ignore-not-found', '-o', 'json'])
    return stdout.trim() ? (JSON.parse(stdout) as T) : undefined
  }

  async list<T extends KubeObject>(resource: string, namespace: string, labelSelector?: string): Promise<T[]> {
    const list = await this.json<KubeList<T>>(['get', resource, '-n', namespace, ...(labelSelector ? ['-l', labelSelector] : [])])
    return list.items
  }

  /**
   * Server-side apply; returns the objects as stored. An unchanged object keeps its
   * resourceVersion, which is how callers tell "changed" from "unchanged".
   */
  async apply<T extends KubeObject>(manifests: KubeObject[]): Promise<T[]> {
    if (manifests.length === 0) return []
    const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests })
    const { stdout } = await this.run(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-o', 'json', '-f', '-'], {
      input
    })
    const result = JSON.parse(stdout) as KubeObject | KubeList<T>
    return 'items' in result ? result.items : [result as T]
  }

  async delete(resource: string, name: string, namespace: string): Promise<void> {
    await this.run(['delete', resource, name, '-n', namespace, '--ignore-not-found', '--wait=false'])
  }

  /** Whether the API serves a resource type, e.g. servicemonitors.monitoring.coreos.com. */
  async serves(group: string, resource: string): Promise<boolean> {
    const { stdout } = await this.run(['api-resources', `--api-group=${group}`, '-o', 'name'])
    return stdout.split('\n').some(line => line.trim() === `${resource}.${group}` || line.trim() === resource)
  }
}
