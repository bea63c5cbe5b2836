import { ConfigError } from './errors.js';

/**
 * Option validation shared by every relaybus component: each check throws a `ConfigError` that
 * names the option and what it accepts.
 */

/** Rejects keys of `options` that are not in `known` (catches typos such as `prefetc`). */
export function rejectUnknownOptions(scope: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${scope}.${key}`, `unknown option; known options are ${known.join(', ')}`);
    }
  }
}

/** An integer within [min, max]. */
export function checkInteger(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(option, `must be an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number within [min, max]. */
export function checkNumber(option: string, value: unknown, min: number, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.MAX_VALUE ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(option, `must be a finite number ${range}, got ${describe(value)}`);
  }
  return value;
}

/** A non-empty string without control characters, at most `maxLength` long. */
export function checkName(option: string, value: unknown, maxLength = 256): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(option, `must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > maxLength) throw new ConfigError(option, `must be at most ${maxLength} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new ConfigError(option, 'must not contain control characters');
  return value;
}

/** One of the allowed literal values. */
export function checkOneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(
      option,
      `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/** Describes a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Longest subject name accepted by `checkSubject`. */
export const MAX_SUBJECT_LENGTH = 200;

/**
 * A subject name: 1–200 characters, no control characters, no whitespace, no `{` or `}` (Redis
 * transports wrap subjects in Cluster hash tags).
 */
export function checkSubject(subject: unknown, option = 'subject'): string {
  const name = checkName(option, subject, MAX_SUBJECT_LENGTH);
  if (/[\s{}]/.test(name)) {
    throw new ConfigError(option, `must not contain whitespace, "{" or "}", got ${describe(name)}`);
  }
  return name;
}
