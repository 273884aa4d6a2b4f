// Why each missed target was missed, keyed "<section>: <case>: <target>" as bench/report.ts
// looks them up. Written after reading a run's numbers; a reason says what costs the time and
// whether it is ours to fix.
export const missedBecause: Record<string, string> = {}
