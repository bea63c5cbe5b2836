import { setTimeout as wait } from 'node:timers/promises';

/** `RELAYBUS_FAULTS=full` runs the long form of each fault test; the short form runs in CI. */
export const FULL = process.env.RELAYBUS_FAULTS === 'full';

/** `short` in CI, `full` with RELAYBUS_FAULTS=full. */
export function pick<T>(short: T, full: T): T {
  return FULL ? full : short;
}

/**
 * Waits `ms` between two faults of a schedule. Pacing what the test does to the system, never
 * synchronising with it (that is what `until` is for).
 */
export function pace(ms: number): Promise<void> {
  return wait(ms);
}
