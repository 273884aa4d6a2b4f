// A self-signed P-256 certificate for one loopback address, made with Debian's openssl, for the
// sandbox's own TLS servers (fault proxy, kubelet). Go clients need the IP SAN, not just a CN.
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'

export interface CertificateFiles {
  keyFile: string
  /** Also the CA to trust: the certificate signs itself. */
  certFile: string
}

/** Writes <dir>/<name>.key and <dir>/<name>.crt unless they exist already. */
export async function selfSignedCertificate(dir: string, name: string, ip: string): Promise<CertificateFiles> {
  fs.mkdirSync(dir, { recursive: true })
  const keyFile = path.join(dir, `${name}.key`)
  const certFile = path.join(dir, `${name}.crt`)
  if (!fs.existsSync(certFile)) {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '3650',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE'
    ])
  }
  return { keyFile, certFile }
}
