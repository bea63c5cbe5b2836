import {
  ConfigError,
  checkHeaders,
  Header,
  type Headers,
  type OutgoingMessage,
  setHeader,
} from '@relaybus/core';

/**
 * How a message is laid out in a stream entry. Field names are one letter to keep entries small;
 * the Lua scripts use the same names (scripts/*.lua).
 *
 * | field | holds |
 * | --- | --- |
 * | `i` | message id (stable across requeued copies) |
 * | `p` | payload bytes |
 * | `h` | JSON of the headers, without the ones that have a field of their own; absent when empty |
 * | `c` | content type (`x-relaybus-content-type`), absent when none |
 * | `t` | publish time, ms since the epoch |
 * | `k` | partition / ordering key, absent when none |
 * | `d` | deliveries before this copy (requeued copies; absent = 0) |
 * | `q` | requeued copies only: the stream entry id this entry is a copy of |
 * | `g` | requeued copies only: the group the copy is for (other groups ack it without delivering) |
 * | `r` | dead letters only: reason |
 * | `s` | dead letters only: original subject |
 * | `e` | dead letters only: stream entry id of the dead-lettered entry |
 * | `w` | dead letters only: when it was dead-lettered, server time in microseconds |
 */
export const Field = {
  id: 'i',
  payload: 'p',
  headers: 'h',
  contentType: 'c',
  publishedAt: 't',
  key: 'k',
  deliveries: 'd',
  copyOf: 'q',
  group: 'g',
  reason: 'r',
  subject: 's',
  entryId: 'e',
  deadLetteredAt: 'w',
} as const;

/** Stream entry fields as sent to XADD: name, value, name, value … */
export type EntryFields = Array<string | Buffer>;

/** Turns an outgoing message into XADD fields. Throws `ConfigError` for a malformed message. */
export function encodeEntry(message: OutgoingMessage, id: string, publishedAtMs: number): EntryFields {
  const payload = message?.payload;
  if (!(payload instanceof Uint8Array)) throw new ConfigError('message.payload', 'must be a Uint8Array');
  const fields: EntryFields = [
    Field.id,
    id,
    Field.payload,
    Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    Field.publishedAt,
    String(publishedAtMs),
  ];
  const headers = message.headers;
  if (headers !== undefined) {
    checkHeaders(headers, 'message.headers');
    let rest: Headers | undefined;
    for (const name of Object.keys(headers)) {
      const value = headers[name] as string;
      if (name === Header.contentType) {
        fields.push(Field.contentType, value);
      } else if (name !== Header.partitionKey) {
        rest ??= {};
        rest[name] = value;
      }
    }
    if (rest !== undefined) fields.push(Field.headers, JSON.stringify(rest));
  }
  if (message.key !== undefined) {
    if (typeof message.key !== 'string') throw new ConfigError('message.key', 'must be a string');
    fields.push(Field.key, message.key);
  }
  return fields;
}

/** A stream entry decoded back into a message. */
export interface DecodedEntry {
  readonly id: string;
  /** A plain Uint8Array view of the bytes (no copy; not a Buffer, so it compares as one). */
  readonly payload: Uint8Array;
  readonly headers: Headers;
  /** Deliveries before this copy (0 for a first publish). */
  readonly deliveriesBefore: number;
  /** Dead letters only: the reason. */
  readonly reason: string | undefined;
  /** Publish time (ms since the epoch), 0 when unknown. */
  readonly publishedAtMs: number;
  /** Requeued copies only: the stream entry id this entry copies. */
  readonly copyOf: string | undefined;
  /** Requeued copies only: the consumer group the copy is meant for. */
  readonly forGroup: string | undefined;
  /** Dead letters only: when (server time, microseconds since the epoch), 0 when unknown. */
  readonly deadLetteredAtUs: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Decodes the flat field list of a stream entry (as XREADGROUP/XRANGE return it, with Buffers).
 * Reserved headers are rebuilt from their fields: content type, partition key and, on dead
 * letters, reason, original subject, original id and delivery count. Unknown fields are ignored.
 * `fallbackId` is used for entries written by something else than relaybus (no `i` field).
 */
export function decodeEntry(fields: ReadonlyArray<Buffer | string>, fallbackId: string): DecodedEntry {
  let id: string | undefined;
  let payload: Uint8Array = EMPTY;
  let headers: Headers = {};
  let contentType: string | undefined;
  let key: string | undefined;
  let deliveries = 0;
  let reason: string | undefined;
  let subject: string | undefined;
  let publishedAtMs = 0;
  let copyOf: string | undefined;
  let forGroup: string | undefined;
  let deadLetteredAtUs = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fieldName(fields[i] as Buffer | string);
    const value = fields[i + 1] as Buffer | string;
    switch (name) {
      case Field.id:
        id = text(value);
        break;
      case Field.payload:
        payload = Buffer.isBuffer(value)
          ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
          : new TextEncoder().encode(value);
        break;
      case Field.headers:
        headers = parseHeaders(String(value));
        break;
      case Field.contentType:
        contentType = contentTypeOf(value);
        break;
      case Field.key:
        key = text(value);
        break;
      case Field.deliveries:
        deliveries = deliveriesOf(String(value));
        break;
      case Field.reason:
        reason = String(value);
        break;
      case Field.subject:
        subject = String(value);
        break;
      case Field.publishedAt:
        publishedAtMs = digitsOf(value);
        break;
      case Field.copyOf:
        copyOf = String(value);
        break;
      case Field.group:
        forGroup = String(value);
        break;
      case Field.deadLetteredAt:
        deadLetteredAtUs = Number(String(value)) || 0;
        break;
    }
  }
  if (contentType !== undefined) headers[Header.contentType] = contentType;
  if (key !== undefined) headers[Header.partitionKey] = key;
  const messageId = id ?? fallbackId;
  if (reason !== undefined) {
    headers[Header.deadLetterReason] = reason;
    headers[Header.originalId] = messageId;
    headers[Header.deliveryCount] = String(deliveries);
    if (subject !== undefined) headers[Header.originalSubject] = subject;
  }
  return {
    id: messageId,
    payload,
    headers,
    deliveriesBefore: deliveries,
    reason,
    publishedAtMs,
    copyOf,
    forGroup,
    deadLetteredAtUs,
  };
}

/**
 * The `d` field: a count of earlier deliveries, written by relaybus as decimal digits. Anything
 * else (a negative, fractional or huge number from another writer) counts as 0, so a forged field
 * can neither lower a delivery count below 1 nor push it past maxDeliveries' arithmetic.
 */
function deliveriesOf(text: string): number {
  return /^\d{1,15}$/.test(text) ? Number(text) : 0;
}

/** One-letter field names without decoding a string per field (every relaybus field is one letter). */
const LETTERS: readonly string[] = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));

function fieldName(name: Buffer | string): string {
  if (typeof name !== 'string' && name.length === 1) return LETTERS[name[0] as number] ?? name.toString();
  return String(name);
}

/** A field's text (Buffer.toString directly: `String(buffer)` costs twice as much). */
function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString();
}

/**
 * A field of decimal digits (a millisecond timestamp) read straight from its bytes, without a
 * string per entry; 0 for anything else.
 */
function digitsOf(value: Buffer | string): number {
  if (typeof value === 'string') return Number(value) || 0;
  if (value.length === 0 || value.length > 15) return 0;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = (value[i] as number) - 48;
    if (digit < 0 || digit > 9) return 0;
    n = n * 10 + digit;
  }
  return n;
}

/** The last content type seen, so a stream of one content type does not decode it per entry. */
let lastContentType: { bytes: Buffer; text: string } | undefined;

function contentTypeOf(value: Buffer | string): string {
  if (typeof value === 'string') return value;
  if (lastContentType !== undefined && sameBytes(lastContentType.bytes, value)) return lastContentType.text;
  const decoded = value.toString();
  lastContentType = { bytes: Buffer.from(value), text: decoded };
  return decoded;
}

/** Byte equality of short fields in JavaScript: cheaper than a native `equals` call for a few dozen bytes. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseHeaders(json: string): Headers {
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const headers: Headers = {};
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === 'string') setHeader(headers, name, value);
    }
    return headers;
  } catch {
    // Foreign or damaged entry: deliver it without headers rather than wedge the group on it.
    return {};
  }
}

/** Milliseconds part of a stream entry id (`<ms>-<seq>`). */
export function entryIdMs(entryId: string): number {
  const dash = entryId.indexOf('-');
  return Number(dash < 0 ? entryId : entryId.slice(0, dash));
}

/** Compares two stream entry ids (`<ms>-<seq>`) numerically. */
export function compareEntryIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
