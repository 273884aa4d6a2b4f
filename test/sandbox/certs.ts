// The sandbox control plane's key material, made with Debian's openssl: a CA, the apiserver's
// serving certificate signed by it, and the service-account signing key pair.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const OPENSSL = '/usr/bin/openssl'

export interface ControlPlaneCerts {
  caFile: string
  servingCertFile: string
  servingKeyFile: string
  /** RSA private key that signs service-account tokens. */
  serviceAccountKeyFile: string
  serviceAccountPublicKeyFile: string
}

/**
 * Writes the files into `dir`. The serving certificate names every address a client may dial:
 * 127.0.0.1 and localhost, plus the in-cluster `kubernetes` Service names and its ClusterIP.
 */
export async function makeControlPlaneCerts(dir: string, serviceIP: string): Promise<ControlPlaneCerts> {
  const f = (name: string): string => join(dir, name)
  const certs: ControlPlaneCerts = {
    caFile: f('ca.crt'),
    servingCertFile: f('apiserver.crt'),
    servingKeyFile: f('apiserver.key'),
    serviceAccountKeyFile: f('sa.key'),
    serviceAccountPublicKeyFile: f('sa.pub')
  }
  // P-256 keys for TLS: generated in milliseconds, where RSA takes a noticeable share of start-up.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await Promise.all([servingCert(), serviceAccountKeys()])
  return certs

  async function serviceAccountKeys(): Promise<void> {
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', certs.serviceAccountKeyFile])
    await openssl(['pkey', '-in', certs.serviceAccountKeyFile, '-pubout', '-out', certs.serviceAccountPublicKeyFile])
  }

  async function servingCert(): Promise<void> {
    await openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', certs.caFile, '-days', '3650', '-subj', '/CN=zk-rollout-sandbox-ca'])
    await openssl(['req', '-new', ...ec, '-keyout', certs.servingKeyFile, '-out', f('apiserver.csr'), '-subj', '/CN=kube-apiserver'])
    const altNames = [
      'IP:127.0.0.1',
      `IP:${serviceIP}`,
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local'
    ]
    writeFileSync(
      f('apiserver.ext'),
      [`subjectAltName=${altNames.join(',')}`, 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', ''].join('\n')
    )
    await openssl([
      'x509',
      '-req',
      '-in',
      f('apiserver.csr'),
      '-CA',
      certs.caFile,
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      f('apiserver.ext'),
      '-out',
      certs.servingCertFile
    ])
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run(OPENSSL, args)
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`openssl ${args[0]} failed (${OPENSSL} ${args.join(' ')}): ${e.stderr?.trim() || e.message}`, { cause: err })
  }
}
