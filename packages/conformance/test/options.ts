/** Options of the runs on broken transports and their controls: short waits, since most failures are timeouts. */
export const BROKEN_RUN_OPTIONS = { redeliveryIdleMs: 100, timeoutMs: 1_000 } as const;
