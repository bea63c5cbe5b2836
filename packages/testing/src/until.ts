/**
 * Polls `predicate` until it returns true, at most `timeoutMs` (default 5 000 ms).
 *
 * Guarantee: resolves as soon as one call of `predicate` resolves to `true`; otherwise rejects,
 * after the deadline, with an error naming `message` (and the last error `predicate` threw, if it
 * threw). A predicate that throws counts as "not yet". Use it instead of fixed sleeps.
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  message = 'condition',
): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastError: unknown;
  let intervalMs = 5;
  for (;;) {
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const now = Date.now();
    if (now >= deadline) break;
    await delay(Math.min(intervalMs, deadline - now));
    // Back off gently so a slow condition does not burn a core, but stay responsive.
    intervalMs = Math.min(intervalMs * 2, 50);
  }
  const suffix = lastError === undefined ? '' : `; last error: ${errorMessage(lastError)}`;
  throw new UntilTimeoutError(`Timed out after ${Date.now() - started} ms waiting for ${message}${suffix}`, {
    cause: lastError,
  });
}

/** The error `until` rejects with when its deadline passes. */
export class UntilTimeoutError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UntilTimeoutError';
  }
}

/** Resolves after `ms` milliseconds (internal; tests should prefer `until`). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
