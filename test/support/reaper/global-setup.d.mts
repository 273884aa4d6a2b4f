/** Marks this process's future children and starts the reaper; returns the marker value. */
export function startReaper(): string
export const OWNER_VARIABLE: string
export default function globalSetup(): void
