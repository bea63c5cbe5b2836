import type { Broker } from './broker.js';

/** Options of `handleSignals`. */
export interface HandleSignalsOptions {
  /** Signals that stop the broker. Default `['SIGTERM', 'SIGINT']`. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Deadline for running handlers. Default: the broker's `stopDeadlineMs`. */
  readonly deadlineMs?: number;
  /** Exit the process after stopping (code 0, or 1 if stopping failed). Default `true`. */
  readonly exit?: boolean;
}

/**
 * Stops `broker` gracefully on SIGTERM / SIGINT: no new fetches, running handlers get up to the
 * deadline, then connections close, then (by default) the process exits. A second signal while
 * stopping exits at once with code 130. Returns a function that removes the listeners.
 */
export function handleSignals(broker: Broker, options: HandleSignalsOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      broker.logger.warn({ signal }, 'second signal while stopping; exiting now');
      if (exit) process.exit(130);
      return;
    }
    stopping = true;
    broker.logger.info({ signal }, 'signal received; stopping the broker');
    broker.stop(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }).then(
      () => {
        if (exit) process.exit(0);
      },
      (error: unknown) => {
        broker.logger.error({ err: error }, 'broker stop failed');
        if (exit) process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
