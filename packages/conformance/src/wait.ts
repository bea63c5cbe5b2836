import { setTimeout as delay } from 'node:timers/promises';

/** How often `until` looks at its condition. */
const POLL_INTERVAL_MS = 5;

/** A condition `until` waits for. */
export type Condition = () => boolean | Promise<boolean>;

/** What a wait is for: a text, or a function describing the current state when the wait fails. */
export type WaitDescription = string | (() => string);

/** A wait-until that passed its deadline. The message says what was awaited and what was seen. */
export class ConformanceTimeoutError extends Error {
  override readonly name = 'ConformanceTimeoutError';
}

/**
 * Resolves as soon as `condition()` is true; rejects with `ConformanceTimeoutError` once
 * `timeoutMs` passed without it. `check` runs before every look and may throw to fail early (a
 * consumer loop that crashed, for example).
 */
export async function until(
  condition: Condition,
  timeoutMs: number,
  what: WaitDescription,
  check?: () => void,
): Promise<void> {
  const started = performance.now();
  for (;;) {
    check?.();
    if (await condition()) return;
    const elapsedMs = performance.now() - started;
    if (elapsedMs >= timeoutMs) {
      const text = typeof what === 'function' ? what() : what;
      throw new ConformanceTimeoutError(`timed out after ${Math.round(elapsedMs)} ms waiting until ${text}`);
    }
    await delay(POLL_INTERVAL_MS);
  }
}

/**
 * Resolves with the promise's value, or rejects with `ConformanceTimeoutError` after `timeoutMs`.
 * The timer is cleared either way.
 */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConformanceTimeoutError(`${what} did not settle within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lets `ms` pass. Never a synchronisation: only used where the assertion is that something did
 * NOT happen within a window (a delivery stolen, a delayed message delivered early).
 */
export function observeFor(ms: number): Promise<void> {
  return delay(ms).then(() => undefined);
}
