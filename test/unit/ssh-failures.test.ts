// What ssh prints when it cannot connect (captured from OpenSSH 9.2), and the errors we make of it.
import { describe, expect, it } from '@jest/globals'
import { classifySshFailure, describeSshFailure } from '../../workflows-lib/src/ssh/failures.js'

const unknownKey = `No ED25519 host key is known for 127.0.0.39 and you have requested strict checking.
Host key verification failed.
`
const unknownKeyOtherPort = `No ECDSA host key is known for [10.0.0.5]:2222 and you have requested strict checking.
Host key verification failed.
`
const changedKey = `@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
SHA256:mwgnbllpvLopxMz5jxcElIqyL7vsn97Y7cPLZ9nWDI4.
Please contact your system administrator.
Add correct host key in /tmp/exp/kh-wrong to get rid of this message.
Offending ED25519 key in /tmp/exp/kh-wrong:1
  remove with:
  ssh-keygen -f "/tmp/exp/kh-wrong" -R "127.0.0.39"
Host key for 127.0.0.39 has changed and you have requested strict checking.
Host key verification failed.
`

const target = { host: '127.0.0.39', port: 22, user: 'deploy' }
const jump = { host: '10.0.0.5', port: 2222, user: 'bastion' }

describe('classifySshFailure', () => {
  it('reads an unknown host key: type and host', () => {
    expect(classifySshFailure(unknownKey)).toMatchObject({ kind: 'unknown-host-key', keyType: 'ED25519', where: '127.0.0.39' })
    expect(classifySshFailure(unknownKeyOtherPort)).toMatchObject({ kind: 'unknown-host-key', keyType: 'ECDSA', where: '[10.0.0.5]:2222' })
  })

  it('reads a changed host key with the fingerprint the host offered', () => {
    expect(classifySshFailure(changedKey)).toMatchObject({
      kind: 'changed-host-key',
      where: '127.0.0.39',
      offered: { type: 'ED25519', fingerprint: 'SHA256:mwgnbllpvLopxMz5jxcElIqyL7vsn97Y7cPLZ9nWDI4' }
    })
  })

  it.each([
    ['ssh: connect to host 127.0.0.34 port 22: Connection refused', 'refused'],
    ['ssh: connect to host 10.9.9.9 port 22: Connection timed out', 'timeout'],
    ['ssh: connect to host 10.9.9.9 port 22: No route to host', 'unreachable'],
    ['root@127.0.0.39: Permission denied (publickey).', 'auth'],
    ['ssh: Could not resolve hostname vm.invalid: Name or service not known', 'dns'],
    ['kex_exchange_identification: read: Connection reset by peer', 'other']
  ])('%s -> %s', (stderr, kind) => {
    expect(classifySshFailure(stderr).kind).toBe(kind)
  })
})

describe('describeSshFailure', () => {
  it('for a changed key: the offered fingerprint, the two explanations, how to re-pin; no fetching', async () => {
    const error = await describeSshFailure(changedKey, target)
    expect(error.kind).toBe('changed-host-key')
    expect(error.message).toBe(
      'deploy@127.0.0.39:22: host key verification failed: it offered ED25519 key SHA256:mwgnbllpvLopxMz5jxcElIqyL7vsn97Y7cPLZ9nWDI4, ' +
        'which differs from the key pinned for deploy@127.0.0.39:22 in the known-hosts input. Either the VM was rebuilt or someone is ' +
        "intercepting the connection; nothing was sent to it. If the VM was rebuilt, compare it out-of-band with the VM's own key (on its " +
        'console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then replace its line in the known-hosts secret with the output of ' +
        '`ssh-keyscan -p 22 -t ed25519 127.0.0.39`.'
    )
  })

  it('for an unknown jump host key: names the jump host, and how to pin it', async () => {
    // The jump host is scanned; nothing listens on 127.0.0.34:2222, so the scan comes back empty.
    const stderr = unknownKeyOtherPort.replace('10.0.0.5', '127.0.0.34')
    const error = await describeSshFailure(stderr, target, { ...jump, host: '127.0.0.34' })
    expect(error.kind).toBe('unknown-host-key')
    expect(error.message).toContain(
      'deploy@127.0.0.39:22 (through jump host bastion@127.0.0.34:2222): host key verification failed: the known-hosts input has no ' +
        'ECDSA key for bastion@127.0.0.34:2222; its key could not be fetched with ssh-keyscan. Nothing was sent to it. To pin it: run ' +
        '`ssh-keyscan -p 2222 -t ecdsa 127.0.0.34`'
    )
  })

  it('for an unknown key of a VM behind a jump host: says to scan it from the jump host', async () => {
    const error = await describeSshFailure(unknownKey, target, jump)
    expect(error.message).toBe(
      'deploy@127.0.0.39:22 (through jump host bastion@10.0.0.5:2222): host key verification failed: the known-hosts input has no ' +
        'ED25519 key for deploy@127.0.0.39:22; it is behind the jump host, so its key cannot be fetched from the runner: run the ' +
        'ssh-keyscan below on the jump host. Nothing was sent to it. To pin it: run `ssh-keyscan -p 22 -t ed25519 127.0.0.39`, compare ' +
        "it out-of-band with the VM's own key (on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), and add the line to " +
        'the known-hosts secret.'
    )
  })

  it('for a refused key: which user, and where the public key goes', async () => {
    const error = await describeSshFailure('root@127.0.0.39: Permission denied (publickey).', target)
    expect(error.message).toBe(
      'deploy@127.0.0.39:22: the ssh-private-key is not accepted for user "deploy": add its public key to that user\'s ' +
        '~/.ssh/authorized_keys on the VM (root@127.0.0.39: Permission denied (publickey).)'
    )
  })
})
