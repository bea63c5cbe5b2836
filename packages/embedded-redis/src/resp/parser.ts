/**
 * The streaming RESP request parser: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
 * (`GET k\r\n`) commands, split anywhere across reads and pipelined any number per read.
 *
 * Arguments are `subarray`s of the bytes read (no copy); a caller that keeps one beyond the
 * command must copy it. Protocol errors carry Redis 7.0's texts (`Protocol error: …`).
 */

/** Longest inline request or length line before it is a protocol error (Redis's PROTO_INLINE_MAX_SIZE). */
export const INLINE_MAX_SIZE = 64 * 1024;
/** Default `proto-max-bulk-len`: 512 MiB. */
export const DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024;
const INT_MAX = 2147483647;
const EMPTY = Buffer.alloc(0);

/** A malformed request: the connection replies `-ERR <message>` and closes. */
export class ProtocolError extends Error {
  constructor(reason: string) {
    super(`Protocol error: ${reason}`);
    this.name = 'ProtocolError';
  }
}

/**
 * Parses a decimal integer as Redis's `string2ll` does: no sign but `-`, no leading zeros, no
 * spaces. Returns NaN when malformed or beyond ±2^53 (callers limit further).
 */
export function parseStrictInteger(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return Number.NaN;
  let p = start;
  let negative = false;
  if (buf[p] === 45) {
    negative = true;
    p++;
    if (p === end) return Number.NaN;
  }
  const first = buf[p] as number;
  if (first === 48) return end - start === 1 ? 0 : Number.NaN;
  if (first < 49 || first > 57) return Number.NaN;
  let value = first - 48;
  p++;
  for (; p < end; p++) {
    const c = buf[p] as number;
    if (c < 48 || c > 57) return Number.NaN;
    value = value * 10 + (c - 48);
  }
  if (value > Number.MAX_SAFE_INTEGER) return Number.NaN;
  return negative ? -value : value;
}

/**
 * Index of the first CR at or after `from`, or -1. Length lines are a few bytes long, so a plain
 * loop beats `indexOf`'s call into C++; a long run without CR (a bad request) goes to `indexOf`.
 */
function findCr(buf: Buffer, from: number, end: number): number {
  const stop = Math.min(end, from + 24);
  for (let i = from; i < stop; i++) if (buf[i] === 13) return i;
  return stop === end ? -1 : buf.indexOf(13, stop);
}

/** Parses requests out of the bytes read from one connection. */
export class RequestParser {
  /** Largest bulk argument accepted (`proto-max-bulk-len`). */
  maxBulkLen = DEFAULT_MAX_BULK_LEN;
  /** When true, Redis's stricter limits for unauthenticated clients apply. */
  authRequired = false;

  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Chunks held back while a large bulk argument is incomplete (concatenated once, when enough). */
  #pending: Buffer[] = [];
  #pendingLen = 0;
  #need = 0;
  #args: Buffer[] | undefined;
  #remaining = 0;
  #bulkLen = -1;

  /** Adds bytes read from the connection. */
  push(chunk: Buffer): void {
    const left = this.#buf.length - this.#pos;
    if (left === 0 && this.#pendingLen === 0) {
      this.#buf = chunk;
      this.#pos = 0;
      return;
    }
    if (this.#need > 0 && left + this.#pendingLen + chunk.length < this.#need) {
      this.#pending.push(chunk);
      this.#pendingLen += chunk.length;
      return;
    }
    const parts = [this.#buf.subarray(this.#pos), ...this.#pending, chunk];
    this.#buf = Buffer.concat(parts, left + this.#pendingLen + chunk.length);
    this.#pos = 0;
    this.#pending = [];
    this.#pendingLen = 0;
    this.#need = 0;
  }

  /** Bytes received and not yet consumed by a complete command. */
  get buffered(): number {
    return this.#buf.length - this.#pos + this.#pendingLen;
  }

  /**
   * The next complete command's arguments, or undefined when more bytes are needed.
   * Throws `ProtocolError` on malformed input (the parser is unusable afterwards).
   */
  next(): Buffer[] | undefined {
    if (this.#pendingLen > 0) return undefined;
    // What a held-back bulk needs is decided afresh below: a stale figure from an earlier bulk
    // would make push() hold back the bytes of a later, shorter command forever.
    this.#need = 0;
    const buf = this.#buf;
    const end = buf.length;
    let pos = this.#pos;
    let args = this.#args;
    while (args === undefined) {
      if (pos >= end) {
        this.#pos = pos;
        return undefined;
      }
      if (buf[pos] !== 42) {
        const inline = this.#inline(pos);
        if (inline === undefined) return undefined;
        if (inline.length === 0) {
          pos = this.#pos;
          continue;
        }
        return inline;
      }
      const cr = findCr(buf, pos, end);
      if (cr < 0 || cr + 1 >= end) {
        if (end - pos > INLINE_MAX_SIZE) throw new ProtocolError('too big mbulk count string');
        this.#pos = pos;
        return undefined;
      }
      const count = parseStrictInteger(buf, pos + 1, cr);
      if (Number.isNaN(count) || count > INT_MAX) throw new ProtocolError('invalid multibulk length');
      if (count > 10 && this.authRequired) throw new ProtocolError('unauthenticated multibulk length');
      pos = cr + 2;
      if (count <= 0) continue;
      args = [];
      this.#args = args;
      this.#remaining = count;
    }
    let remaining = this.#remaining;
    let bulkLen = this.#bulkLen;
    while (remaining > 0) {
      if (bulkLen < 0) {
        if (pos >= end) break;
        const cr = findCr(buf, pos, end);
        if (cr < 0 || cr + 1 >= end) {
          if (end - pos > INLINE_MAX_SIZE) throw new ProtocolError('too big bulk count string');
          break;
        }
        if (buf[pos] !== 36) {
          throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[pos] as number)}'`);
        }
        const len = parseStrictInteger(buf, pos + 1, cr);
        if (Number.isNaN(len) || len < 0 || len > this.maxBulkLen)
          throw new ProtocolError('invalid bulk length');
        if (len > 16384 && this.authRequired) throw new ProtocolError('unauthenticated bulk length');
        pos = cr + 2;
        bulkLen = len;
      }
      if (end - pos < bulkLen + 2) {
        this.#need = bulkLen + 2;
        break;
      }
      args.push(buf.subarray(pos, pos + bulkLen));
      pos += bulkLen + 2;
      bulkLen = -1;
      remaining--;
    }
    this.#pos = pos;
    this.#bulkLen = bulkLen;
    this.#remaining = remaining;
    if (remaining > 0) {
      if (pos >= end) {
        this.#buf = EMPTY;
        this.#pos = 0;
      }
      return undefined;
    }
    this.#args = undefined;
    this.#need = 0;
    return args;
  }

  /** Parses one inline command at `pos`: its args ([] for a blank line), or undefined for more bytes. */
  #inline(pos: number): Buffer[] | undefined {
    const buf = this.#buf;
    const nl = buf.indexOf(10, pos);
    if (nl < 0) {
      if (buf.length - pos > INLINE_MAX_SIZE) throw new ProtocolError('too big inline request');
      this.#pos = pos;
      return undefined;
    }
    const lineEnd = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
    const args = splitArgs(buf, pos, lineEnd);
    if (args === undefined) throw new ProtocolError('unbalanced quotes in request');
    this.#pos = nl + 1;
    return args;
  }
}

function isSpace(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Splits an inline command line into arguments as Redis's `sdssplitargs` does: whitespace
 * separated, `"…"` with `\n \r \t \b \a \\ \" \xHH` escapes, `'…'` with `\'`. Undefined when a
 * quote is unbalanced or not followed by a space.
 */
export function splitArgs(buf: Uint8Array, start: number, end: number): Buffer[] | undefined {
  const args: Buffer[] = [];
  let p = start;
  for (;;) {
    while (p < end && isSpace(buf[p])) p++;
    if (p >= end) return args;
    const bytes: number[] = [];
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = p < end ? (buf[p] as number) : -1;
      if (inDouble) {
        if (c === -1) return undefined;
        if (c === 92 && p + 3 < end && buf[p + 1] === 120) {
          const hi = hexValue(buf[p + 2] as number);
          const lo = hexValue(buf[p + 3] as number);
          if (hi >= 0 && lo >= 0) {
            bytes.push(hi * 16 + lo);
            p += 4;
            continue;
          }
        }
        if (c === 92 && p + 1 < end) {
          p++;
          const e = buf[p] as number;
          bytes.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        } else if (c === 34) {
          if (p + 1 < end && !isSpace(buf[p + 1])) return undefined;
          done = true;
        } else {
          bytes.push(c);
        }
      } else if (inSingle) {
        if (c === -1) return undefined;
        if (c === 92 && p + 1 < end && buf[p + 1] === 39) {
          p++;
          bytes.push(39);
        } else if (c === 39) {
          if (p + 1 < end && !isSpace(buf[p + 1])) return undefined;
          done = true;
        } else {
          bytes.push(c);
        }
      } else if (c === -1 || isSpace(c)) {
        done = true;
      } else if (c === 34) {
        inDouble = true;
      } else if (c === 39) {
        inSingle = true;
      } else {
        bytes.push(c);
      }
      if (p < end) p++;
    }
    args.push(Buffer.from(bytes));
  }
}
