import type { Logger } from '@relaybus/core';

/** One line a `RecordingLogger` received. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A pino-shaped logger that keeps every line, for asserting on what was logged. */
export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  debug = this.#log('debug');
  info = this.#log('info');
  warn = this.#log('warn');
  error = this.#log('error');

  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }

  /** The lines at `level` whose message contains `text`. */
  find(level: LogLine['level'], text: string): LogLine[] {
    return this.lines.filter((line) => line.level === level && line.message.includes(text));
  }

  #log(level: LogLine['level']) {
    return (objectOrMessage: object | string, message?: string): void => {
      if (typeof objectOrMessage === 'string') {
        this.lines.push({ level, message: objectOrMessage, fields: { ...this.bindings } });
      } else {
        this.lines.push({
          level,
          message: message ?? '',
          fields: { ...this.bindings, ...(objectOrMessage as Record<string, unknown>) },
        });
      }
    };
  }
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `bytes` as UTF-8 text. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
