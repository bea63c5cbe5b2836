import { randomBytes } from 'node:crypto';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a text. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The text of UTF-8 bytes. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `length` random bytes, as a plain `Uint8Array`. */
export function randomPayload(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** Every byte value 0–255, then zeros, then every value again: catches text and C-string handling. */
export function binaryPayload(): Uint8Array {
  const bytes = new Uint8Array(256 * 2 + 16);
  for (let i = 0; i < 256; i++) {
    bytes[i] = i;
    bytes[256 + 16 + i] = 255 - i;
  }
  return bytes;
}

/** A short random suffix for names. */
export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/**
 * Describes how `actual` differs from `expected`, or returns `undefined` when they hold the same
 * bytes. Any `Uint8Array` (a `Buffer` too) counts; what matters is the bytes.
 */
export function bytesDifference(actual: unknown, expected: Uint8Array): string | undefined {
  if (!(actual instanceof Uint8Array)) {
    return `expected a Uint8Array payload, got ${actual === null ? 'null' : typeof actual}`;
  }
  if (actual.byteLength !== expected.byteLength) {
    return `expected ${expected.byteLength} bytes, got ${actual.byteLength}`;
  }
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) {
      return `byte ${i} differs: expected ${expected[i]}, got ${actual[i]}`;
    }
  }
  return undefined;
}
