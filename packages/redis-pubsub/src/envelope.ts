import { ConfigError, Header, type Headers, msgpackCodec } from '@relaybus/core';

/**
 * The relaybus Pub/Sub envelope: the bytes published on a channel.
 *
 * ```
 * offset 0   0xC1 0x52 0x42      magic: 0xC1 is never the first byte of MessagePack, JSON or
 *                                any UTF-8 text, so a plain PUBLISH of those never looks like one
 * offset 3   0x01                version
 * offset 4   uint32 big-endian   length M of the meta block
 * offset 8   meta (M bytes)      MessagePack array [id: string, headers: map string→string,
 *                                contentType: nil | small int (see CONTENT_TYPE_CODES) | string]
 * offset 8+M payload             the message bytes, as published (not re-encoded)
 * ```
 *
 * The content type travels outside the header map, and the three built-in ones as one byte, so a
 * typical envelope costs 8 bytes plus the id (≈30) plus the application's headers.
 */
export const ENVELOPE_MAGIC: readonly number[] = [0xc1, 0x52, 0x42];
/** The envelope version this package writes (and the only one it reads). */
export const ENVELOPE_VERSION = 1;
/** Bytes before the meta block. */
export const ENVELOPE_HEADER_BYTES = 8;

/** Content types written as one small integer instead of a string. */
export const CONTENT_TYPE_CODES: Readonly<Record<number, string>> = Object.freeze({
  1: 'application/msgpack',
  2: 'application/json',
  3: 'application/octet-stream',
});
const CODE_OF = new Map(Object.entries(CONTENT_TYPE_CODES).map(([code, type]) => [type, Number(code)]));

/** A message read from an envelope. */
export interface EnvelopeMessage {
  readonly id: string;
  /** Application headers plus `x-relaybus-content-type` when the publisher set one. */
  readonly headers: Headers;
  /** A plain `Uint8Array` view of the payload bytes inside the envelope (not a copy). */
  readonly payload: Uint8Array;
}

/**
 * Wraps a message in the envelope. `headers` may hold `x-relaybus-content-type`; it is stored
 * compactly and comes back as a header from `decodeEnvelope`. Returns a new Buffer (the payload is
 * copied, so the caller may reuse its buffer once this returns).
 */
export function encodeEnvelope(id: string, headers: Headers | undefined, payload: Uint8Array): Buffer {
  // The meta block is written by hand, straight into the one buffer of the envelope: a general
  // MessagePack encoder costs a fresh encoder and an intermediate buffer per message.
  let contentType: string | undefined;
  let metaLength = 1 + stringSize(id);
  let entries = 0;
  if (headers !== undefined) {
    for (const key in headers) {
      const value = headers[key] as string;
      if (key === Header.contentType) {
        contentType = value;
        continue;
      }
      // MessagePack readers refuse this map key: the whole envelope would read as foreign bytes.
      if (key === '__proto__') {
        throw new ConfigError(
          'message.headers.__proto__',
          'is not usable as a header name; rename the header',
        );
      }
      entries++;
      metaLength += stringSize(key) + stringSize(value);
    }
  }
  metaLength += entries < 16 ? 1 : entries < 0x10000 ? 3 : 5;
  const code = contentType === undefined ? undefined : CODE_OF.get(contentType);
  metaLength += contentType === undefined || code !== undefined ? 1 : stringSize(contentType);

  const envelope = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + metaLength + payload.length);
  envelope[0] = ENVELOPE_MAGIC[0] as number;
  envelope[1] = ENVELOPE_MAGIC[1] as number;
  envelope[2] = ENVELOPE_MAGIC[2] as number;
  envelope[3] = ENVELOPE_VERSION;
  envelope.writeUInt32BE(metaLength, 4);
  let at = ENVELOPE_HEADER_BYTES;
  envelope[at++] = 0x93; // fixarray of 3
  at = writeString(envelope, at, id);
  if (entries < 16) {
    envelope[at++] = 0x80 | entries;
  } else if (entries < 0x10000) {
    envelope[at++] = 0xde;
    at = envelope.writeUInt16BE(entries, at);
  } else {
    envelope[at++] = 0xdf;
    at = envelope.writeUInt32BE(entries, at);
  }
  if (headers !== undefined) {
    for (const key in headers) {
      if (key === Header.contentType) continue;
      at = writeString(envelope, at, key);
      at = writeString(envelope, at, headers[key] as string);
    }
  }
  if (contentType === undefined)
    envelope[at++] = 0xc0; // nil
  else if (code !== undefined)
    envelope[at++] = code; // positive fixint
  else at = writeString(envelope, at, contentType);
  envelope.set(payload, at);
  return envelope;
}

/** Strings up to this length are measured and written by hand when they are ASCII (ids, names). */
const SHORT_STRING = 64;

/** UTF-8 byte length of `text`; short ASCII text is counted without a native call. */
function utf8Length(text: string): number {
  if (text.length <= SHORT_STRING) {
    let i = 0;
    while (i < text.length && text.charCodeAt(i) < 0x80) i++;
    if (i === text.length) return i;
  }
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes of `text` as a MessagePack str (prefix + UTF-8). */
function stringSize(text: string): number {
  const bytes = utf8Length(text);
  return bytes + (bytes < 32 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5);
}

/** Writes `text` as a MessagePack str at `at`; returns the offset after it. */
function writeString(buffer: Buffer, at: number, text: string): number {
  const bytes = utf8Length(text);
  let offset = at;
  if (bytes < 32) {
    buffer[offset++] = 0xa0 | bytes;
  } else if (bytes < 0x100) {
    buffer[offset++] = 0xd9;
    buffer[offset++] = bytes;
  } else if (bytes < 0x10000) {
    buffer[offset++] = 0xda;
    offset = buffer.writeUInt16BE(bytes, offset);
  } else {
    buffer[offset++] = 0xdb;
    offset = buffer.writeUInt32BE(bytes, offset);
  }
  if (bytes === text.length && bytes <= SHORT_STRING) {
    // ASCII (one byte per character): stored directly, cheaper than Buffer#write for short text.
    for (let i = 0; i < bytes; i++) buffer[offset + i] = text.charCodeAt(i);
    return offset + bytes;
  }
  return offset + buffer.write(text, offset, bytes, 'utf8');
}

/**
 * A plain `Uint8Array` view of `bytes` from `start` (no copy). A Buffer's `subarray` is a Buffer,
 * and codecs handing out views of it (msgpack `bin`) would give the application Buffers.
 */
export function plainView(bytes: Uint8Array, start = 0): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
}

/** True when `bytes` starts like an envelope (magic and version), whether or not the rest is sound. */
export function looksLikeEnvelope(bytes: Uint8Array): boolean {
  return (
    bytes.length >= ENVELOPE_HEADER_BYTES &&
    bytes[0] === ENVELOPE_MAGIC[0] &&
    bytes[1] === ENVELOPE_MAGIC[1] &&
    bytes[2] === ENVELOPE_MAGIC[2] &&
    bytes[3] === ENVELOPE_VERSION
  );
}

/**
 * Reads an envelope. Never throws: anything that is not a whole, well-formed envelope (a plain
 * PUBLISH from another client, a truncated or corrupted envelope, a newer version) yields
 * `undefined`, and the caller delivers the bytes as they are.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeMessage | undefined {
  if (!looksLikeEnvelope(bytes)) return undefined;
  const metaLength =
    (bytes[4] as number) * 0x1000000 +
    (bytes[5] as number) * 0x10000 +
    (bytes[6] as number) * 0x100 +
    (bytes[7] as number);
  if (metaLength > bytes.length - ENVELOPE_HEADER_BYTES) return undefined;
  const end = ENVELOPE_HEADER_BYTES + metaLength;
  reader.start(bytes, end);
  const fast = readMeta(reader);
  // Not kept past this call: a Buffer held here would outlive the message.
  reader.start(EMPTY, 0);
  if (fast !== UNUSUAL) return fast;
  const meta = readMetaGenerally(bytes, end);
  return meta === undefined
    ? undefined
    : { id: meta.id, headers: meta.headers, payload: plainView(bytes, end) };
}

interface Meta {
  readonly id: string;
  readonly headers: Headers;
}

const EMPTY = new Uint8Array(0);

/** A valid MessagePack form the encoder never writes: the general decoder judges it. */
const UNUSUAL = Symbol('unusual');
/** Runs past the end of the meta block: not an envelope. */
const TRUNCATED = Symbol('truncated');

/** A cursor over the meta block (one for the module: reading never calls out, so never nests). */
class MetaReader {
  bytes: Uint8Array = EMPTY;
  end = 0;
  at = ENVELOPE_HEADER_BYTES;

  /** Points the cursor at the meta block of `bytes`, which ends at `end`. */
  start(bytes: Uint8Array, end: number): void {
    this.bytes = bytes;
    this.end = end;
    this.at = ENVELOPE_HEADER_BYTES;
  }

  /** The MessagePack str at the cursor (the cursor moves past it). */
  string(): string | typeof UNUSUAL | typeof TRUNCATED {
    const { bytes, end, at } = this;
    if (at >= end) return TRUNCATED;
    const first = bytes[at] as number;
    let length: number;
    let start: number;
    if ((first & 0xe0) === 0xa0) {
      length = first & 0x1f;
      start = at + 1;
    } else if (first === 0xd9) {
      length = at + 2 > end ? end : (bytes[at + 1] as number);
      start = at + 2;
    } else if (first === 0xda) {
      length = at + 3 > end ? end : (bytes[at + 1] as number) * 0x100 + (bytes[at + 2] as number);
      start = at + 3;
    } else if (first === 0xdb) {
      length =
        at + 5 > end
          ? end
          : (bytes[at + 1] as number) * 0x1000000 +
            (bytes[at + 2] as number) * 0x10000 +
            (bytes[at + 3] as number) * 0x100 +
            (bytes[at + 4] as number);
      start = at + 5;
    } else {
      return UNUSUAL;
    }
    if (start + length > end) return TRUNCATED;
    this.at = start + length;
    return text(bytes, start, length);
  }
}

/**
 * Reads the meta block as `encodeEnvelope` writes it, without a general MessagePack decoder (which
 * costs an array, a map object and `Object.entries` per message). Forms the encoder never writes
 * (wider integers, longer arrays, non-string map keys or values, trailing bytes) go to the general
 * decoder, so both paths accept and refuse the same envelopes.
 */
function readMeta(reader: MetaReader): EnvelopeMessage | undefined | typeof UNUSUAL {
  const { bytes, end } = reader;
  if (reader.at >= end || bytes[reader.at] !== 0x93) return UNUSUAL;
  reader.at++;
  const id = reader.string();
  if (typeof id !== 'string') return id === UNUSUAL ? UNUSUAL : undefined;
  if (id.length === 0 || reader.at >= end) return undefined;
  const mapByte = bytes[reader.at] as number;
  let entries: number;
  if ((mapByte & 0xf0) === 0x80) {
    entries = mapByte & 0x0f;
    reader.at++;
  } else if (mapByte === 0xde && reader.at + 3 <= end) {
    entries = (bytes[reader.at + 1] as number) * 0x100 + (bytes[reader.at + 2] as number);
    reader.at += 3;
  } else {
    return UNUSUAL;
  }
  const headers: Headers = {};
  for (let i = 0; i < entries; i++) {
    const key = reader.string();
    if (typeof key !== 'string') return key === UNUSUAL ? UNUSUAL : undefined;
    // MessagePack readers refuse this key (it would replace the object's prototype).
    if (key === '__proto__') return undefined;
    const value = reader.string();
    if (typeof value !== 'string') return value === UNUSUAL ? UNUSUAL : undefined;
    headers[key] = value;
  }
  if (reader.at >= end) return undefined;
  const code = bytes[reader.at] as number;
  if (code === 0xc0) {
    reader.at++;
  } else if (code <= 0x7f) {
    const contentType = CONTENT_TYPE_CODES[code];
    if (contentType === undefined) return undefined;
    headers[Header.contentType] = contentType;
    reader.at++;
  } else {
    const contentType = reader.string();
    if (typeof contentType !== 'string') return contentType === UNUSUAL ? UNUSUAL : undefined;
    headers[Header.contentType] = contentType;
  }
  return reader.at === end ? { id, headers, payload: plainView(bytes, end) } : UNUSUAL;
}

const reader = new MetaReader();

/** Node's own UTF-8 reader of a Buffer range (what `toString('utf8', …)` ends in, without its checks). */
type Utf8Slice = (this: Uint8Array, start: number, end: number) => string;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: Utf8Slice }).utf8Slice;

/** UTF-8 text of `length` bytes at `start`. */
function text(bytes: Uint8Array, start: number, length: number): string {
  if (utf8Slice !== undefined && Buffer.isBuffer(bytes)) return utf8Slice.call(bytes, start, start + length);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('utf8');
}

/** The meta block read by the general MessagePack decoder, checked for the envelope's shape. */
function readMetaGenerally(bytes: Uint8Array, end: number): Meta | undefined {
  let meta: unknown;
  try {
    meta = msgpackCodec.decode(bytes.subarray(ENVELOPE_HEADER_BYTES, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(meta) || meta.length < 3) return undefined;
  const [id, map, code] = meta as unknown[];
  if (typeof id !== 'string' || id.length === 0) return undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof Uint8Array) {
    return undefined;
  }
  const headers: Headers = {};
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== 'string') return undefined;
    headers[key] = value;
  }
  if (typeof code === 'number') {
    const contentType = CONTENT_TYPE_CODES[code];
    if (contentType === undefined) return undefined;
    headers[Header.contentType] = contentType;
  } else if (typeof code === 'string') {
    headers[Header.contentType] = code;
  } else if (code !== null) {
    return undefined;
  }
  return { id, headers };
}
