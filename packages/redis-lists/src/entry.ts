import { type Headers, setHeader } from '@relaybus/core';

/**
 * The entry format: one binary-safe string per message, as it sits in a queue, a processing
 * list, the delayed set (behind a nonce) and the dead-letter list.
 *
 * ```
 * offset  size  field
 * 0       4     magic F5 52 4C 31 ("\xF5RL1"; 0xF5 never starts UTF-8 text)
 * 4       8     deliveries so far, 8 lowercase hex ASCII digits (patched in place by the Lua scripts)
 * 12      4     id length N, uint32 big-endian
 * 16      N     id, UTF-8
 * 16+N    4     header count H, uint32 big-endian
 * …       H ×   key length (uint32 BE), key (UTF-8), value length (uint32 BE), value (UTF-8)
 * …       rest  payload bytes, as published
 * ```
 *
 * Only the delivery count is read by Lua, and it sits at a fixed offset with a fixed width, so
 * a script can bump it without parsing (or copying through Lua tables) the rest.
 */
export const ENTRY_MAGIC: Buffer = Buffer.from([0xf5, 0x52, 0x4c, 0x31]);

/** Byte offset of the delivery count field. */
export const COUNT_OFFSET = 4;
/** Width of the delivery count field (hex digits). */
export const COUNT_WIDTH = 8;
/** Largest delivery count the 8 hex digits hold. */
export const MAX_DELIVERY_COUNT = 0xffff_ffff;

const HEADER_BYTES = COUNT_OFFSET + COUNT_WIDTH;

/** A decoded entry. */
export interface Entry {
  readonly id: string;
  readonly headers: Headers;
  readonly payload: Uint8Array;
  /** How often the message was delivered before (0 for a message never delivered). */
  readonly deliveriesBefore: number;
}

/** What `decodeEntry` makes of a list element. */
export type DecodedValue =
  | { readonly kind: 'entry'; readonly entry: Entry }
  /** No magic: a value pushed by another client, delivered as a raw payload. */
  | { readonly kind: 'raw'; readonly payload: Uint8Array }
  /** The magic, but not a well-formed entry (truncated, bad count, bad lengths). */
  | { readonly kind: 'malformed'; readonly payload: Uint8Array; readonly problem: string };

/** Encodes a message as an entry. */
export function encodeEntry(entry: Entry): Buffer {
  const idBytes = Buffer.byteLength(entry.id, 'utf8');
  const names = Object.keys(entry.headers);
  let size = HEADER_BYTES + 4 + idBytes + 4 + entry.payload.byteLength;
  for (const name of names) {
    size += 8 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(entry.headers[name] as string, 'utf8');
  }
  const out = Buffer.allocUnsafe(size);
  ENTRY_MAGIC.copy(out, 0);
  out.write(countDigits(entry.deliveriesBefore), COUNT_OFFSET, 'latin1');
  let offset = HEADER_BYTES;
  offset = out.writeUInt32BE(idBytes, offset);
  offset += out.write(entry.id, offset, 'utf8');
  offset = out.writeUInt32BE(names.length, offset);
  for (const name of names) {
    offset = writeString(out, name, offset);
    offset = writeString(out, entry.headers[name] as string, offset);
  }
  out.set(entry.payload, offset);
  return out;
}

/**
 * Decodes a list element. Never throws: an element without the magic is `raw`, one with the magic
 * that does not parse is `malformed`. The payload is a view into `value` (no copy).
 */
export function decodeEntry(value: Buffer): DecodedValue {
  if (!isEntry(value)) return { kind: 'raw', payload: bytesOf(value) };
  const malformed = (problem: string): DecodedValue => ({
    kind: 'malformed',
    payload: bytesOf(value),
    problem,
  });
  if (value.length < HEADER_BYTES + 8) return malformed('truncated entry');
  const digits = value.toString('latin1', COUNT_OFFSET, HEADER_BYTES);
  if (!/^[0-9a-f]{8}$/.test(digits)) return malformed('bad delivery count');
  const deliveriesBefore = Number.parseInt(digits, 16);
  let offset = HEADER_BYTES;
  const read = (): string | undefined => {
    if (offset + 4 > value.length) return undefined;
    const length = value.readUInt32BE(offset);
    offset += 4;
    if (offset + length > value.length) return undefined;
    const text = value.toString('utf8', offset, offset + length);
    offset += length;
    return text;
  };
  const id = read();
  if (id === undefined) return malformed('truncated id');
  if (offset + 4 > value.length) return malformed('truncated header count');
  const count = value.readUInt32BE(offset);
  offset += 4;
  const headers: Headers = {};
  for (let i = 0; i < count; i++) {
    const name = read();
    const text = name === undefined ? undefined : read();
    if (name === undefined || text === undefined) return malformed('truncated headers');
    setHeader(headers, name, text);
  }
  return {
    kind: 'entry',
    entry: { id, headers, deliveriesBefore, payload: bytesOf(value, offset) },
  };
}

/** True when `value` starts with the entry magic. */
export function isEntry(value: Uint8Array): boolean {
  return (
    value.length >= ENTRY_MAGIC.length &&
    value[0] === ENTRY_MAGIC[0] &&
    value[1] === ENTRY_MAGIC[1] &&
    value[2] === ENTRY_MAGIC[2] &&
    value[3] === ENTRY_MAGIC[3]
  );
}

/**
 * A copy of `value` with its delivery count set to `deliveriesBefore` (what the Lua scripts do in
 * place); a value that is not an entry comes back unchanged.
 */
export function withDeliveriesBefore(value: Buffer, deliveriesBefore: number): Buffer {
  if (!isEntry(value) || value.length < HEADER_BYTES) return value;
  const copy = Buffer.from(value);
  copy.write(countDigits(deliveriesBefore), COUNT_OFFSET, 'latin1');
  return copy;
}

/**
 * A plain `Uint8Array` view of `value` from `start` (no copy). Payloads are handed out as plain
 * Uint8Arrays, not Buffers: codecs (msgpack's bin type) and deep equality treat the two apart.
 */
export function bytesOf(value: Buffer, start = 0): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset + start, value.byteLength - start);
}

function countDigits(count: number): string {
  const clamped = Math.min(MAX_DELIVERY_COUNT, Math.max(0, Math.floor(count)));
  return clamped.toString(16).padStart(COUNT_WIDTH, '0');
}

function writeString(out: Buffer, text: string, offset: number): number {
  const length = out.write(text, offset + 4, 'utf8');
  out.writeUInt32BE(length, offset);
  return offset + 4 + length;
}
