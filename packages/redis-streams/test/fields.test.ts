import { ConfigError, Header } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, fnv1a, partitionFor } from '../src/index.js';

/** Turns XADD fields into what XREADGROUP returns (Buffers). */
function asRead(fields: Array<string | Buffer>): Buffer[] {
  return fields.map((field) => (Buffer.isBuffer(field) ? field : Buffer.from(field)));
}

describe('entry fields', () => {
  it('round-trips payload bytes, headers, key and id', () => {
    const payload = new Uint8Array([0, 1, 255, 0, 128]);
    const headers = { a: '1', 'ü ✓': '', [Header.contentType]: 'application/json' };
    const fields = encodeEntry({ payload, headers, key: 'k-1' }, 'id-1', 1_700_000_000_000);
    const decoded = decodeEntry(asRead(fields), '1-0');
    expect(decoded.id).toBe('id-1');
    expect(decoded.payload).toEqual(payload);
    expect(decoded.payload).not.toBeInstanceOf(Buffer);
    expect(decoded.headers).toEqual({ ...headers, [Header.partitionKey]: 'k-1' });
    expect(decoded.deliveriesBefore).toBe(0);
    expect(decoded.publishedAtMs).toBe(1_700_000_000_000);
  });

  it('keeps the content type in its own field and omits empty headers', () => {
    const fields = encodeEntry(
      { payload: new Uint8Array(), headers: { [Header.contentType]: 'x/y' } },
      'i',
      1,
    );
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['i', 'p', 't', 'c']);
  });

  it('does not copy the payload', () => {
    const payload = Buffer.from('abc');
    expect(encodeEntry({ payload }, 'i', 1)[3]).toBe(payload);
  });

  it('rebuilds dead-letter headers', () => {
    const fields = [
      ...encodeEntry({ payload: new Uint8Array([1]) }, 'm', 1),
      'r',
      'max-deliveries',
      's',
      'orders',
      'e',
      '5-0',
      'd',
      '3',
    ];
    expect(decodeEntry(asRead(fields), '9-0').headers).toEqual({
      [Header.deadLetterReason]: 'max-deliveries',
      [Header.originalSubject]: 'orders',
      [Header.originalId]: 'm',
      [Header.deliveryCount]: '3',
    });
  });

  it('reads entries written by others without failing', () => {
    const decoded = decodeEntry(asRead(['h', '{not json', 'other', 'x']), '7-1');
    expect(decoded.id).toBe('7-1');
    expect(decoded.headers).toEqual({});
    expect(decoded.payload.length).toBe(0);
  });

  it('rejects malformed messages with the option named', () => {
    expect(() => encodeEntry({ payload: 'x' as unknown as Uint8Array }, 'i', 1)).toThrow(ConfigError);
    expect(() =>
      encodeEntry({ payload: new Uint8Array(), headers: { a: 1 as unknown as string } }, 'i', 1),
    ).toThrow(/message.headers.a/);
  });
});

describe('partition choice', () => {
  it('sends one key always to the same partition and spreads keys', () => {
    const counter = () => 0;
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const key = `customer-${i}`;
      const partition = partitionFor(key, 8, counter);
      expect(partitionFor(key, 8, counter)).toBe(partition);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(8);
      seen.add(partition);
    }
    expect(seen.size).toBe(8);
  });

  it('round-robins messages without a key, and uses partition 0 when there is one', () => {
    let next = 0;
    const counter = () => next++;
    expect([0, 1, 2, 3, 4].map(() => partitionFor(undefined, 4, counter))).toEqual([0, 1, 2, 3, 0]);
    expect(partitionFor('k', 1, counter)).toBe(0);
  });

  it('hashes with 32-bit FNV-1a over UTF-8', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });
});
