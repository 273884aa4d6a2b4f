# The rules of test/support/host-observer.ts (adaptContainerConfigForHost), for the compose shim:
# a container observer zoo.cfg made runnable as a host process on the shared loopback. Every
# line is kept verbatim except dataDir/dataLogDir (volume mounts -> host directories),
# quorumListenOnAllIPs=true -> false, clientPortAddress (replaced by the VM's address, added
# after clientPort), and metricsProvider.* (Debian's ZooKeeper lacks the Prometheus provider).
# The adapted file goes to stdout, one sentence per change to stderr. The integration test checks
# that both match adaptContainerConfigForHost exactly.
# Usage: awk -v address=A -v dataDir=D -v dataLogDir=L -f adapt-zoo-cfg.awk zoo.cfg
function trim(s) {
  sub(/^[ \t\r\n\f\v]+/, "", s)
  sub(/[ \t\r\n\f\v]+$/, "", s)
  return s
}
function change(text) {
  changes[++nchanges] = text
}
{
  line = $0
  key = ""
  value = ""
  if (match(line, /^[ \t\r\n\f\v]*[^#! \t\r\n\f\v=:][^=: \t\r\n\f\v]*[ \t\r\n\f\v]*[=:]/)) {
    key = trim(substr(line, 1, RLENGTH - 1))
    value = trim(substr(line, RLENGTH + 1))
  }
  if (key == "dataDir" || key == "dataLogDir") {
    dir = key == "dataDir" ? dataDir : dataLogDir
    if (key == "dataDir") sawDataDir = 1
    out[++n] = key "=" dir
    change(key "=" value " -> " dir ": the container's volume mount at " value " is this host directory here")
  } else if (key == "quorumListenOnAllIPs" && value == "true") {
    out[++n] = "quorumListenOnAllIPs=false"
    change("quorumListenOnAllIPs=true -> false: the container's own network namespace makes binding every address safe; on the shared loopback it would collide with the ensemble's ports")
  } else if (key == "clientPortAddress") {
    change("clientPortAddress=" value " dropped: replaced by clientPortAddress=" address)
  } else if (index(key, "metricsProvider.") == 1) {
    change(trim(line) " dropped: Debian's ZooKeeper build lacks the Prometheus metrics provider")
  } else {
    if (key == "clientPort") clientPortAt = n + 1
    out[++n] = line
  }
}
END {
  if (!sawDataDir) {
    print "The observer zoo.cfg has no dataDir line: ZooKeeper cannot start without one" > "/dev/stderr"
    exit 1
  }
  at = clientPortAt ? clientPortAt : n
  for (i = 1; i <= n; i++) {
    print out[i]
    if (i == at) print "clientPortAddress=" address
  }
  if (n == 0) print "clientPortAddress=" address
  change("clientPortAddress=" address " added: without it the client port binds every address, which collides with the ensemble on the shared loopback")
  for (i = 1; i <= nchanges; i++) print changes[i] > "/dev/stderr"
}
