export { detectDrift, DEFAULT_MAX_LAG, type DetectDriftOptions, type DriftDetection } from './detect.js'
export { formatDriftJson, formatDriftMarkdown, formatDriftText } from './format.js'
export { healDecision, healObservers, type HealDecision, type HealMode } from './heal.js'
export { driftStatus, EXIT_CODES, type DriftItem, type DriftKind, type DriftReport, type DriftStatus, type Unchecked } from './types.js'
