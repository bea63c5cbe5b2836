import { randomBytes } from 'node:crypto';

/**
 * A fresh subject name for one test: `${prefix}-<12 hex chars>` (default prefix `test`).
 *
 * Guarantee: contains only the prefix's characters, `-` and `[0-9a-f]` (no braces, no whitespace),
 * so it is a valid relaybus subject whenever the prefix is; two calls practically never collide.
 */
export function randomSubject(prefix = 'test'): string {
  if (/[\s{}]/.test(prefix)) {
    throw new Error(
      `randomSubject: prefix must not contain whitespace, "{" or "}", got ${JSON.stringify(prefix)}`,
    );
  }
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
