import { RespWriter } from '../resp/writer.js';
import type { Entry, ReplyWriter } from '../types.js';

/**
 * The value of a `string` key, kept compact: values up to `INLINE_MAX` bytes are stored as a
 * binary (latin1) JS string, one heap object of 16 bytes plus the bytes, instead of a Buffer (a
 * typed-array object of about 100 bytes plus its backing store). Longer values stay Buffers.
 *
 * `value` still reads as a Buffer (a fresh copy for an inline value) and may be assigned a
 * Buffer, so code that treats string entries generically (AOF rewrite, COPY, OBJECT) works
 * unchanged; the string commands use `text`/`bytes`/`writeValue` and avoid the copy.
 */
export class StringEntry implements Entry {
  readonly type = 'string' as const;
  expiresAt: number | undefined;
  /** The bytes: a latin1 string when short, else a Buffer that no one else holds. */
  data: string | Buffer;

  constructor(data: string | Buffer, expiresAt: number | undefined = undefined) {
    this.data = data;
    this.expiresAt = expiresAt;
  }

  /** The bytes as a Buffer (a copy when stored inline: do not mutate to change the value). */
  get value(): Buffer {
    const data = this.data;
    return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  }

  /** Replaces the value with `bytes`, which the entry then owns (it must not be a view of a request). */
  set value(bytes: unknown) {
    const buf = bytes as Buffer;
    this.data = buf.length <= INLINE_MAX ? buf.toString('latin1') : buf;
  }

  /** Length in bytes. */
  get length(): number {
    return this.data.length;
  }
}

/** Bytes as values keep them: a latin1 string when short, else a Buffer (see `compact`). */
export type Stored = string | Buffer;

/** Stored bytes as a Buffer (a copy when kept as a string). */
export function stored(item: Stored): Buffer {
  return typeof item === 'string' ? Buffer.from(item, 'latin1') : item;
}

/**
 * Equality of stored bytes. Bytes stored by `compact` have one form (chosen by length); a Buffer
 * that is short (passed in by a caller directly) still compares by its bytes.
 */
export function sameStored(a: Stored, b: Stored): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a !== 'string' && typeof b !== 'string') return a.equals(b);
  return a.length === b.length && stored(a).equals(stored(b));
}

/** Writes stored bytes as a bulk reply without copying them first. */
export function writeStored(out: ReplyWriter, item: Stored): void {
  if (typeof item !== 'string') out.bulk(item);
  else if (out instanceof RespWriter) out.bulkLatin1(item);
  else out.bulk(Buffer.from(item, 'latin1'));
}

/** Longest value stored as a latin1 string. */
export const INLINE_MAX = 16 * 1024;

/**
 * `bytes` in the compact form a StringEntry keeps: a latin1 string when short (a copy, so it
 * may be a view of the read buffer), else an owned copy of the bytes.
 */
export function compact(bytes: Buffer): Stored {
  // One byte: V8's cached one-character strings, without a call into C++.
  if (bytes.length === 1) return String.fromCharCode(bytes[0] as number);
  return bytes.length <= INLINE_MAX ? bytes.toString('latin1') : Buffer.from(bytes);
}

/** A new string entry holding a copy of `bytes` (a view of the read buffer is fine). */
export function stringEntryOf(bytes: Buffer, expiresAt: number | undefined = undefined): StringEntry {
  return new StringEntry(compact(bytes), expiresAt);
}

/** A string entry's bytes as a Buffer (copying an inline value), for any string entry. */
export function bytesOf(entry: Entry): Buffer {
  if (entry instanceof StringEntry) {
    const data = entry.data;
    return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  }
  return entry.value as Buffer;
}

/** Writes a string entry's value as a bulk reply without copying it first. */
export function writeValue(out: ReplyWriter, entry: Entry): void {
  if (entry instanceof StringEntry) writeStored(out, entry.data);
  else out.bulk(entry.value as Buffer);
}
