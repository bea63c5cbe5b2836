import { describe, expect, it } from 'vitest';
import {
  COUNT_OFFSET,
  decodeEntry,
  ENTRY_MAGIC,
  encodeEntry,
  isEntry,
  MAX_DELIVERY_COUNT,
  withDeliveriesBefore,
} from '../src/entry.js';

const every = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('entry encoding', () => {
  it('round-trips id, unicode headers, every byte value and the delivery count', () => {
    const headers = { 'x-app': 'kept ✓', ключ: 'значение', 'empty-value': '', 'emoji-🔑': '🚀' };
    const encoded = encodeEntry({ id: 'id-ü-1', headers, payload: every, deliveriesBefore: 7 });
    const decoded = decodeEntry(encoded);
    expect(decoded.kind).toBe('entry');
    if (decoded.kind !== 'entry') return;
    expect(decoded.entry.id).toBe('id-ü-1');
    expect(decoded.entry.headers).toEqual(headers);
    expect(Buffer.from(decoded.entry.payload).equals(Buffer.from(every))).toBe(true);
    expect(decoded.entry.deliveriesBefore).toBe(7);
  });

  it('round-trips an empty payload and no headers', () => {
    const decoded = decodeEntry(
      encodeEntry({ id: 'x', headers: {}, payload: new Uint8Array(0), deliveriesBefore: 0 }),
    );
    expect(decoded).toMatchObject({ kind: 'entry', entry: { id: 'x', headers: {}, deliveriesBefore: 0 } });
    if (decoded.kind === 'entry') expect(decoded.entry.payload.byteLength).toBe(0);
  });

  it('starts with the magic and keeps the count as 8 hex digits at a fixed offset (what Lua patches)', () => {
    const encoded = encodeEntry({
      id: 'a',
      headers: {},
      payload: new Uint8Array([1]),
      deliveriesBefore: 0x1f,
    });
    expect(encoded.subarray(0, 4).equals(ENTRY_MAGIC)).toBe(true);
    expect(encoded.toString('latin1', COUNT_OFFSET, COUNT_OFFSET + 8)).toBe('0000001f');
  });

  it('sets the delivery count in a copy, leaving the rest byte for byte', () => {
    const encoded = encodeEntry({ id: 'a', headers: { h: 'v' }, payload: every, deliveriesBefore: 1 });
    const bumped = withDeliveriesBefore(encoded, 2);
    expect(bumped).not.toBe(encoded);
    expect(decodeEntry(encoded)).toMatchObject({ entry: { deliveriesBefore: 1 } });
    expect(decodeEntry(bumped)).toMatchObject({
      entry: { deliveriesBefore: 2, id: 'a', headers: { h: 'v' } },
    });
    expect(bumped.subarray(12).equals(encoded.subarray(12))).toBe(true);
  });

  it('clamps the delivery count to what 8 hex digits hold', () => {
    const encoded = encodeEntry({ id: 'a', headers: {}, payload: every, deliveriesBefore: 2 ** 40 });
    expect(decodeEntry(encoded)).toMatchObject({ entry: { deliveriesBefore: MAX_DELIVERY_COUNT } });
  });

  it('reads a value without the magic (a plain LPUSH by another client) as raw', () => {
    const value = Buffer.from('hello from redis-cli');
    expect(isEntry(value)).toBe(false);
    const decoded = decodeEntry(value);
    expect(decoded.kind).toBe('raw');
    if (decoded.kind === 'raw') expect(Buffer.from(decoded.payload).toString()).toBe('hello from redis-cli');
    expect(withDeliveriesBefore(value, 3)).toBe(value);
  });

  it('reads a value with the magic that does not parse as malformed, naming the problem', () => {
    const encoded = encodeEntry({
      id: 'abcdefghij',
      headers: { h: 'v' },
      payload: every,
      deliveriesBefore: 0,
    });
    expect(decodeEntry(encoded.subarray(0, 10))).toMatchObject({
      kind: 'malformed',
      problem: 'truncated entry',
    });
    expect(decodeEntry(encoded.subarray(0, 22))).toMatchObject({
      kind: 'malformed',
      problem: 'truncated id',
    });
    const badCount = Buffer.from(encoded);
    badCount.write('zz', COUNT_OFFSET, 'latin1');
    expect(decodeEntry(badCount)).toMatchObject({ kind: 'malformed', problem: 'bad delivery count' });
    const headerStart = 12 + 4 + 10;
    const manyHeaders = Buffer.from(encoded.subarray(0, headerStart + 4));
    manyHeaders.writeUInt32BE(5, headerStart);
    expect(decodeEntry(manyHeaders)).toMatchObject({ kind: 'malformed', problem: 'truncated headers' });
  });
});
