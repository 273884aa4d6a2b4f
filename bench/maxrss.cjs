// Preloaded (node -r) by the benchmarks: prints this node process's own peak RSS on exit. Not
// /usr/bin/time's %M, which is the largest of the process and the children it waited for
// (helm, kubectl, ssh), so it may not be ours.
process.on('exit', () => process.stderr.write(`\nmaxrss=${process.resourceUsage().maxRSS}\n`))
