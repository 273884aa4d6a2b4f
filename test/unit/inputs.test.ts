import { describe, expect, it } from '@jest/globals'
import { kubeconfigSecret } from '../../workflows-lib/src/runner/masking.js'

describe('kubeconfigSecret', () => {
  it.each([
    ['    token: abcdef0123456789', 'abcdef0123456789'],
    ['        "token": "aebe5b194430a3bc1f8e9f2d"', 'aebe5b194430a3bc1f8e9f2d'],
    ['    client-key-data: LS0tLS1CRUdJTiBSU0E=', 'LS0tLS1CRUdJTiBSU0E='],
    ['    client-certificate-data: LS0tLS1CRUdJTg==', 'LS0tLS1CRUdJTg=='],
    ['    password: hunter2hunter2', 'hunter2hunter2']
  ])('masks the value of %j', (line, secret) => {
    expect(kubeconfigSecret(line)).toBe(secret)
  })

  it.each(['apiVersion: v1', 'kind: Config', '    server: https://10.0.0.1:6443', '  "current-context": "prod",', 'users:'])(
    'leaves %j readable',
    line => {
      expect(kubeconfigSecret(line)).toBeUndefined()
    }
  )
})
