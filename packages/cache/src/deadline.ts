/** The outcome of `within`: the promise's value, or `timedOut` when the deadline came first. */
export type Within<T> = { readonly timedOut: false; readonly value: T } | { readonly timedOut: true };

/** The error an aborted operation rejects with: the signal's reason, or an `AbortError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Waits for `promise`, at most until `deadline` (a `Date.now()` time; undefined: no limit).
 * Rejects with the signal's reason when `signal` aborts first. Leaves no timer or listener behind.
 */
export function within<T>(
  promise: Promise<T>,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
): Promise<Within<T>> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (deadline === undefined && signal === undefined) {
    return promise.then((value) => ({ timedOut: false, value }));
  }
  return new Promise<Within<T>>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      reject(abortReason(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== undefined) {
      timer = setTimeout(
        () => {
          cleanup();
          resolve({ timedOut: true });
        },
        Math.max(0, deadline - Date.now()),
      );
    }
    promise.then(
      (value) => {
        cleanup();
        resolve({ timedOut: false, value });
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}
