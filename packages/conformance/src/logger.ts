import type { Logger } from '@relaybus/core';

/** One log call recorded by `RecordingLogger`. */
export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/**
 * A pino-shaped logger that keeps what it is told, so scenarios can assert that a Broker logged
 * no error (a settlement that failed, a subscription that died) while the test still passed.
 */
export class RecordingLogger implements Logger {
  readonly debug = this.#method('debug');
  readonly info = this.#method('info');
  readonly warn = this.#method('warn');
  readonly error = this.#method('error');

  constructor(
    readonly records: LogRecord[] = [],
    readonly bindings: Record<string, unknown> = {},
  ) {}

  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.records, { ...this.bindings, ...bindings });
  }

  #method(level: LogRecord['level']): (objectOrMessage: object | string, message?: string) => void {
    return (objectOrMessage, message) => {
      if (typeof objectOrMessage === 'string') {
        this.records.push({ level, message: objectOrMessage, fields: { ...this.bindings } });
      } else {
        this.records.push({
          level,
          message: message ?? '',
          fields: { ...this.bindings, ...objectOrMessage },
        });
      }
    };
  }
}

/** Formats records for an assertion message. */
export function formatRecords(records: readonly LogRecord[]): string {
  return records
    .map((record) => {
      const err = record.fields['err'];
      const detail = err instanceof Error ? `: ${err.name}: ${err.message}` : '';
      return `[${record.level}] ${record.message}${detail}`;
    })
    .join('\n');
}
