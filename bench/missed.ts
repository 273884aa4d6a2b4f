// Why each missed target was missed, keyed "<section>: <case>: <target>" as bench/report.ts
// looks them up. Written after reading a run's numbers; a reason says what costs the time and
// whether it is ours to fix.

// kubectl rollout status, a Go client watching the API itself with nothing between, adds 22-28 ms
// here: that is the floor for "a separate process notices the event and exits, and its parent
// notices" on this 2-core machine. Ours adds 25-35 ms: the event passes through one more pipe
// (our kubectl watch child, then node parses it), then node writes outputs and the summary and
// ends that child before exiting. The target (10 ms) is below what kubectl itself achieves on
// this machine; the comparison that means something is ours against rollout status (0.8-0.9x).
const readinessFloor =
  'kubectl rollout status itself adds 22-28 ms on this machine (a process noticing a watch event and exiting is the floor here); ours is within a few ms of it (one more pipe: our kubectl watch child, then node), so 10 ms is below what any separate waiter reaches here'
// helm 4 watches (kstatus) and returns 40-64 ms after the last Ready here; ours 25-35 ms.
const helm4 =
  'helm 4 returns 40-64 ms after the last Ready here; ours is 0.5-0.7x of it, bounded by the same process-exit floor (kubectl rollout status is 0.45-0.55x of helm 4)'
// helm 3 polls every 2 s: how much it adds depends on where the last Ready falls in its poll
// cycle; at N=3 the pods' 1.2 s happened to end just before a poll in most runs.
const helm3 =
  'helm 3 --wait polls every 2 s, so what it adds depends on where the last Ready falls in its cycle (61 ms to 1.9 s here); against its median the ratio swings with that phase, not with us'

export const missedBecause: Record<string, string> = {
  'fanout: 20 VMs: no-op <= 1.3x the parallel ssh floor':
    "on loopback 20 VMs are CPU-bound on 2 cores (each OpenSSH post-quantum key exchange costs ~280 ms of CPU, which is most of the floor's 1.7 s): concurrency 4 and 20 tie. Ours adds what the floor does not do: node's start-up and bundle load (see start-up), and per host the remote script (sha256 of three files, a srvr probe, ~20 short processes on the VM), which also competes for the same 2 cores here; the default concurrency was raised to 10 after this run for the 5- and 10-VM cases and for real networks, where ~14 round trips per host make concurrency matter more than CPU",
  'fanout: 1 VM, +20 ms RTT: <= 10 round trips per host':
    'OpenSSH alone needs ~10 round trips for `ssh host true` (TCP, banners, key exchange, new keys and service request, auth none, publickey query, signed publickey, session open, exec and exit status); ours adds the ControlMaster hand-off (the session rides the master, a mux round trip) and stdin carrying the program. Removing them means giving up the shared connection that makes a changed host cost no second handshake',
  ...Object.fromEntries(
    ['N=3', 'N=5', 'N=7'].flatMap(n => [
      [`readiness: ${n}: median added latency <= 10 ms`, readinessFloor],
      [`readiness: ${n}: <= 0.5x helm 4`, helm4],
      [`readiness: ${n}: <= 0.01x helm 3`, helm3]
    ])
  )
}
