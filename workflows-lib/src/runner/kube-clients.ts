// The Kubernetes side of every action's settings: which kubeconfig, kubectl and helm to use.
import * as log from '../output/log.js'
import * as io from '@actions/io'
import { Helm } from '../kube/helm.js'
import { Kubectl } from '../kube/kubectl.js'
import { optionalInput, secretInput } from './inputs.js'
import { kubeconfigSecrets } from './masking.js'
import { withSecretFiles } from './secret-file.js'

export interface KubeSettings {
  /** kubeconfig content from the `kubeconfig` input; undefined means use $KUBECONFIG. */
  kubeconfig?: string
  kubectlPath: string
  helmPath: string
}

export function getKubeSettings(): KubeSettings {
  const kubeconfig = secretInput('kubeconfig', { required: false, parts: kubeconfigSecrets })
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    kubectlPath: optionalInput('kubectl') ?? 'kubectl',
    helmPath: optionalInput('helm') ?? 'helm'
  }
}

export interface KubeClients {
  kubectl: Kubectl
  helm: Helm
}

/** Clients for the duration of `fn`; a kubeconfig given as input lives in a 0600 temp file. */
export async function withKubeClients<T>(settings: KubeSettings, fn: (clients: KubeClients) => Promise<T>): Promise<T> {
  const [kubectl, helm] = await Promise.all([io.which(settings.kubectlPath, true), io.which(settings.helmPath, false)])
  return withSecretFiles(async files => {
    const kubeconfig = settings.kubeconfig ? files.write('kubeconfig', settings.kubeconfig) : process.env.KUBECONFIG
    if (!kubeconfig) throw new Error('no cluster credentials: pass the kubeconfig input (from a secret), or set KUBECONFIG in an earlier step')
    log.debug(`kubectl ${kubectl}, helm ${helm || '(not found)'}`)
    return fn({ kubectl: new Kubectl(kubectl, kubeconfig), helm: new Helm(helm || settings.helmPath, kubeconfig) })
  })
}
