import { pino } from 'pino';

/** Log method in pino's shape: `(object, message)` or `(message)`. */
export interface LogFn {
  (object: object, message?: string): void;
  (message: string): void;
}

/**
 * The logger relaybus writes to: any pino logger fits (and so does anything shaped like one).
 * Pass `pino({ level: 'debug' })` to see what the runtime does, `silentLogger` to hear nothing.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** The logger used when none is given: pino at `warn` (or `$RELAYBUS_LOG_LEVEL`), writing JSON to stdout. */
export function defaultLogger(): Logger {
  return pino({ name: 'relaybus', level: process.env.RELAYBUS_LOG_LEVEL ?? 'warn' });
}

/** A logger that drops everything. */
export const silentLogger: Logger = pino({ level: 'silent' });
