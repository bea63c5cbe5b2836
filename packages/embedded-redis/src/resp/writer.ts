import type { ReplyWriter } from '../types.js';
import { formatDouble17g } from './format.js';

const INITIAL_SIZE = 16 * 1024;
const SHRINK_ABOVE = 1024 * 1024;
/** A new slab is started when less than this is left after a take. */
const MIN_ROOM = 2 * 1024;
const CRLF_CR = 13;
const CRLF_LF = 10;

/** Pre-encoded `:n\r\n` and `$n\r\n` for small n, so common replies copy bytes instead of formatting. */
const SMALL = 1024;
const INTEGER_HEADERS: Buffer[] = [];
const BULK_HEADERS: Buffer[] = [];
const ARRAY_HEADERS: Buffer[] = [];
for (let i = 0; i < SMALL; i++) {
  INTEGER_HEADERS.push(Buffer.from(`:${i}\r\n`, 'latin1'));
  BULK_HEADERS.push(Buffer.from(`$${i}\r\n`, 'latin1'));
  ARRAY_HEADERS.push(Buffer.from(`*${i}\r\n`, 'latin1'));
}
const OK = Buffer.from('+OK\r\n', 'latin1');

/**
 * Encodes replies for one connection into a slab; the connection takes the bytes once per read
 * batch (`take()`) and writes them with a single socket write. `take()` hands out a view of the
 * slab without copying and later replies go after it; a slab is never written twice, so a view
 * stays valid however long the socket holds it.
 */
export class RespWriter implements ReplyWriter {
  protocol: 2 | 3;
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_SIZE);
  /** Start of the bytes not yet taken. */
  #start = 0;
  /** End of the bytes written. */
  #len = 0;

  constructor(protocol: 2 | 3 = 2) {
    this.protocol = protocol;
  }

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.#len - this.#start;
  }

  /**
   * The encoded bytes, resetting the writer; undefined when empty. The Buffer is a view of a
   * slab the writer never writes into again: the caller may keep it.
   */
  take(): Buffer | undefined {
    const start = this.#start;
    const len = this.#len;
    if (len === start) return undefined;
    const buf = this.#buf;
    const out = buf.subarray(start, len);
    if (buf.length > SHRINK_ABOVE || buf.length - len < MIN_ROOM) {
      this.#buf = Buffer.allocUnsafe(INITIAL_SIZE);
      this.#start = 0;
      this.#len = 0;
    } else {
      this.#start = len;
    }
    return out;
  }

  /** Drops everything not yet taken (a reply that must not be sent). */
  discard(): void {
    this.#len = this.#start;
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    // Move the untaken bytes to the start of a new slab (the old one may be held by sockets).
    const pending = this.#len - this.#start;
    let size = INITIAL_SIZE;
    while (size < pending + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, this.#start, this.#len);
    this.#buf = next;
    this.#start = 0;
    this.#len = pending;
  }

  #bytes(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  #line(prefix: number, text: string): void {
    this.#ensure(text.length * 3 + 3);
    const buf = this.#buf;
    buf[this.#len++] = prefix;
    this.#len += buf.write(text, this.#len, 'utf8');
    buf[this.#len++] = CRLF_CR;
    buf[this.#len++] = CRLF_LF;
  }

  #header(prefix: number, n: number, cache: Buffer[]): void {
    if (n >= 0 && n < SMALL && Number.isInteger(n)) {
      this.#bytes(cache[n] as Buffer);
      return;
    }
    if (Number.isSafeInteger(n)) {
      this.#integerLine(prefix, n);
      return;
    }
    this.#line(prefix, String(n));
  }

  /** `<prefix><n>\r\n` for a safe integer, digits written in place (no string, no native call). */
  #integerLine(prefix: number, n: number): void {
    this.#ensure(20);
    const buf = this.#buf;
    let at = this.#len;
    buf[at++] = prefix;
    let v = n;
    if (v < 0) {
      buf[at++] = 45;
      v = -v;
    }
    let digits = 1;
    for (let rest = v; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let i = at + digits - 1;
    for (; i >= at; i--) {
      buf[i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    at += digits;
    buf[at++] = CRLF_CR;
    buf[at++] = CRLF_LF;
    this.#len = at;
  }

  simple(text: string): void {
    if (text === 'OK') {
      this.#bytes(OK);
      return;
    }
    this.#line(43, text);
  }

  error(message: string): void {
    this.#line(
      45,
      message.includes('\r') || message.includes('\n') ? message.replace(/[\r\n]/g, ' ') : message,
    );
  }

  integer(value: number | bigint): void {
    if (typeof value === 'number') this.#header(58, value, INTEGER_HEADERS);
    else this.#line(58, value.toString());
  }

  bulk(value: Buffer | string): void {
    if (typeof value === 'string') {
      const len = Buffer.byteLength(value, 'utf8');
      this.#header(36, len, BULK_HEADERS);
      this.#ensure(len + 2);
      this.#len += this.#buf.write(value, this.#len, 'utf8');
    } else {
      this.#header(36, value.length, BULK_HEADERS);
      this.#ensure(value.length + 2);
      this.#buf.set(value, this.#len);
      this.#len += value.length;
    }
    this.#buf[this.#len++] = CRLF_CR;
    this.#buf[this.#len++] = CRLF_LF;
  }

  /** A bulk string of a binary (latin1) string: keys, fields, members, channels. */
  bulkLatin1(value: string): void {
    this.#header(36, value.length, BULK_HEADERS);
    this.#ensure(value.length + 2);
    this.#len += this.#buf.write(value, this.#len, 'latin1');
    this.#buf[this.#len++] = CRLF_CR;
    this.#buf[this.#len++] = CRLF_LF;
  }

  nullBulk(): void {
    this.#line(this.protocol === 3 ? 95 : 36, this.protocol === 3 ? '' : '-1');
  }

  nullArray(): void {
    this.#line(this.protocol === 3 ? 95 : 42, this.protocol === 3 ? '' : '-1');
  }

  array(length: number): void {
    this.#header(42, length, ARRAY_HEADERS);
  }

  map(length: number): void {
    if (this.protocol === 3) this.#line(37, String(length));
    else this.array(length * 2);
  }

  set(length: number): void {
    if (this.protocol === 3) this.#line(126, String(length));
    else this.array(length);
  }

  double(value: number): void {
    const text = formatDouble17g(value);
    if (this.protocol === 3) this.#line(44, text);
    else this.bulk(text);
  }

  boolean(value: boolean): void {
    if (this.protocol === 3) this.#line(35, value ? 't' : 'f');
    else this.integer(value ? 1 : 0);
  }

  push(length: number): void {
    if (this.protocol === 3) this.#line(62, String(length));
    else this.array(length);
  }

  verbatim(text: string): void {
    if (this.protocol !== 3) {
      this.bulk(text);
      return;
    }
    const len = Buffer.byteLength(text, 'utf8') + 4;
    this.#line(61, String(len));
    this.#ensure(len + 2);
    this.#len += this.#buf.write('txt:', this.#len, 'latin1');
    this.#len += this.#buf.write(text, this.#len, 'utf8');
    this.#buf[this.#len++] = CRLF_CR;
    this.#buf[this.#len++] = CRLF_LF;
  }
}
