import type { Logger } from '@relaybus/core';

/** One line a `RecordingLogger` received. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A pino-shaped logger keeping every line, for assertions on what was logged. */
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

  /** Lines at warn or error whose message or error matches `pattern`. */
  problems(pattern: RegExp): LogLine[] {
    return this.lines.filter(
      (line) =>
        (line.level === 'warn' || line.level === 'error') &&
        (pattern.test(line.message) || pattern.test(describeFields(line.fields))),
    );
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

function describeFields(fields: Record<string, unknown>): string {
  const err = fields.err;
  const error =
    err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? ''} ${err.message}` : '';
  return `${error} ${JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`;
}
