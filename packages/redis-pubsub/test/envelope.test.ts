import { Header, msgpackCodec } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MAGIC,
  encodeEnvelope,
  looksLikeEnvelope,
} from '../src/index.js';
import { utf8 } from './helpers.js';

function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

describe('envelope', () => {
  it('round-trips id, headers, content type and every byte value of the payload', () => {
    const headers = {
      'x-app': 'value',
      ключ: 'значение ✓',
      empty: '',
      [Header.contentType]: 'application/vnd.custom+json',
    };
    const decoded = decodeEnvelope(encodeEnvelope('id-1', headers, allBytes()));
    expect(decoded?.id).toBe('id-1');
    expect(decoded?.headers).toEqual(headers);
    expect(decoded?.payload).toEqual(allBytes());
  });

  it('stores the built-in content types as one byte and restores them as the header', () => {
    for (const contentType of ['application/msgpack', 'application/json', 'application/octet-stream']) {
      const custom = encodeEnvelope(
        'id',
        { [Header.contentType]: 'x/' + 'y'.repeat(contentType.length - 2) },
        utf8('p'),
      );
      const builtIn = encodeEnvelope('id', { [Header.contentType]: contentType }, utf8('p'));
      expect(builtIn.length).toBeLessThan(custom.length - 10);
      expect(decodeEnvelope(builtIn)?.headers).toEqual({ [Header.contentType]: contentType });
    }
  });

  it('writes valid MessagePack for every string and map size it uses', () => {
    const lengths = [0, 1, 31, 32, 255, 256, 65_535, 65_536];
    const headers: Record<string, string> = {};
    for (const length of lengths) headers[`k${length}`] = 'v'.repeat(length);
    for (let i = 0; i < 12; i++) headers[`é${i}✓`] = '🚀'.repeat(i * 9);
    const longType = `application/x-${'t'.repeat(300)}`;
    const id = `id-${'x'.repeat(40)}`;
    const envelope = encodeEnvelope(id, { ...headers, [Header.contentType]: longType }, utf8('p'));
    const metaLength = envelope.readUInt32BE(4);
    const meta = msgpackCodec.decode(
      envelope.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + metaLength),
    );
    expect(meta).toEqual([id, headers, longType]);
    expect(decodeEnvelope(envelope)).toEqual({
      id,
      headers: { ...headers, [Header.contentType]: longType },
      payload: utf8('p'),
    });
    for (const entries of [15, 16, 70_000]) {
      const many: Record<string, string> = {};
      for (let i = 0; i < entries; i++) many[`h${i}`] = `${i}`;
      expect(decodeEnvelope(encodeEnvelope('id', many, utf8('')))?.headers).toEqual(many);
    }
  });

  it('round-trips a message without headers and an empty payload', () => {
    const decoded = decodeEnvelope(encodeEnvelope('id-2', undefined, new Uint8Array(0)));
    expect(decoded).toEqual({ id: 'id-2', headers: {}, payload: new Uint8Array(0) });
  });

  it('copies the payload, so the caller may reuse its buffer', () => {
    const payload = utf8('reused');
    const envelope = encodeEnvelope('id', {}, payload);
    payload.fill(0);
    expect(decodeEnvelope(envelope)?.payload).toEqual(utf8('reused'));
  });

  it('hands out the payload as a plain Uint8Array view, also when reading from a Buffer', () => {
    const decoded = decodeEnvelope(encodeEnvelope('id', {}, utf8('view')));
    expect(decoded?.payload.constructor).toBe(Uint8Array);
    expect(Buffer.isBuffer(decoded?.payload)).toBe(false);
  });

  it('does not mistake MessagePack, JSON or UTF-8 text for an envelope', () => {
    for (const foreign of [utf8('hello'), utf8('{"a":1}'), Uint8Array.of(0x93, 1, 2, 3), utf8('héllo ✓')]) {
      expect(looksLikeEnvelope(foreign)).toBe(false);
      expect(decodeEnvelope(foreign)).toBeUndefined();
    }
  });

  it('yields undefined, never throws, for truncated, corrupted or future envelopes', () => {
    const good = encodeEnvelope('id', { a: 'b', [Header.contentType]: 'application/json' }, utf8('payload'));
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.from(ENVELOPE_MAGIC),
      good.subarray(0, ENVELOPE_HEADER_BYTES + 2),
      Uint8Array.of(...ENVELOPE_MAGIC, 2, ...good.subarray(4)),
    ];
    const hugeLength = Buffer.from(good);
    hugeLength.writeUInt32BE(0xffffffff, 4);
    cases.push(hugeLength);
    const badMeta = Buffer.from(good);
    badMeta.fill(0xc1, ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + 3);
    cases.push(badMeta);
    for (let i = 0; i < 200; i++) {
      const noise = Buffer.from(good);
      const at = ENVELOPE_HEADER_BYTES + (i % (good.length - ENVELOPE_HEADER_BYTES));
      noise[at] = (noise[at] as number) ^ (1 + (i % 255));
      cases.push(noise);
    }
    for (const bytes of cases) {
      expect(() => decodeEnvelope(bytes)).not.toThrow();
    }
    for (const bytes of cases.slice(0, 6)) expect(decodeEnvelope(bytes)).toBeUndefined();
  });

  it('rejects meta blocks of the wrong shape (non-string header values, unknown content type codes)', () => {
    const withMeta = (meta: Uint8Array): Buffer => {
      const out = Buffer.alloc(ENVELOPE_HEADER_BYTES + meta.length);
      out.set([...ENVELOPE_MAGIC, 1]);
      out.writeUInt32BE(meta.length, 4);
      out.set(meta, ENVELOPE_HEADER_BYTES);
      return out;
    };
    // msgpack: [ "id", { "a": 1 }, nil ]
    expect(
      decodeEnvelope(withMeta(Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x81, 0xa1, 0x61, 0x01, 0xc0))),
    ).toBeUndefined();
    // msgpack: [ "id", {}, 99 ]
    expect(decodeEnvelope(withMeta(Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x80, 0x63)))).toBeUndefined();
    // msgpack: [ "", {}, nil ]
    expect(decodeEnvelope(withMeta(Uint8Array.of(0x93, 0xa0, 0x80, 0xc0)))).toBeUndefined();
    // msgpack: [ "id", {}, nil ] is fine
    expect(decodeEnvelope(withMeta(Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x80, 0xc0)))).toEqual({
      id: 'id',
      headers: {},
      payload: new Uint8Array(0),
    });
  });
});

/** The envelope as a general MessagePack reader sees it: the reference the fast reader must match. */
function referenceDecode(bytes: Uint8Array): { id: string; headers: Record<string, string> } | undefined {
  if (!looksLikeEnvelope(bytes)) return undefined;
  const metaLength = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(4);
  if (metaLength > bytes.length - ENVELOPE_HEADER_BYTES) return undefined;
  let meta: unknown;
  try {
    meta = msgpackCodec.decode(bytes.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + metaLength));
  } catch {
    return undefined;
  }
  if (!Array.isArray(meta) || meta.length < 3) return undefined;
  const [id, map, code] = meta as unknown[];
  if (typeof id !== 'string' || id.length === 0) return undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof Uint8Array) {
    return undefined;
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== 'string') return undefined;
    headers[key] = value;
  }
  const types: Record<number, string> = {
    1: 'application/msgpack',
    2: 'application/json',
    3: 'application/octet-stream',
  };
  if (typeof code === 'number') {
    if (types[code] === undefined) return undefined;
    headers[Header.contentType] = types[code];
  } else if (typeof code === 'string') {
    headers[Header.contentType] = code;
  } else if (code !== null) {
    return undefined;
  }
  return { id, headers };
}

/** An envelope around a meta block written by hand (forms the encoder itself never uses). */
function withMeta(meta: Uint8Array, payload = utf8('p')): Buffer {
  const out = Buffer.alloc(ENVELOPE_HEADER_BYTES + meta.length + payload.length);
  out.set([...ENVELOPE_MAGIC, 1]);
  out.writeUInt32BE(meta.length, 4);
  out.set(meta, ENVELOPE_HEADER_BYTES);
  out.set(payload, ENVELOPE_HEADER_BYTES + meta.length);
  return out;
}

describe('envelope reader', () => {
  /**
   * Same envelopes accepted, with the same id and headers. Text that is not valid UTF-8 reads as
   * U+FFFD (as Node's and the WHATWG decoders read it), where the general reader's JavaScript path
   * keeps stray bytes as code units: only the acceptance is compared then.
   */
  function expectSameAsReference(bytes: Uint8Array): void {
    const fast = decodeEnvelope(bytes);
    const reference = referenceDecode(bytes);
    expect(fast === undefined).toBe(reference === undefined);
    if (fast === undefined || JSON.stringify(fast).includes('\ufffd')) return;
    expect({ id: fast.id, headers: fast.headers }).toEqual(reference);
  }

  it('reads what a general MessagePack reader reads, for valid, mutated and truncated envelopes', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const envelopes = [
      encodeEnvelope('id', undefined, utf8('')),
      encodeEnvelope('0mhx1k2ab-0001-9f3a2b1c', { [Header.contentType]: 'application/msgpack' }, utf8('x')),
      encodeEnvelope('ид-✓', { a: 'b', ключ: 'значение', [Header.contentType]: 'text/plain' }, utf8('y')),
      encodeEnvelope('id', { long: 'v'.repeat(300), [Header.contentType]: 'application/json' }, utf8('z')),
    ];
    let compared = 0;
    for (const envelope of envelopes) {
      expectSameAsReference(envelope);
      for (let i = 0; i < 400; i++) {
        const noisy = Buffer.from(envelope);
        const at = ENVELOPE_HEADER_BYTES + random(noisy.length - ENVELOPE_HEADER_BYTES);
        noisy[at] = random(256);
        expectSameAsReference(noisy);
        expectSameAsReference(noisy.subarray(0, ENVELOPE_HEADER_BYTES + random(noisy.length)));
        compared += 2;
      }
    }
    expect(compared).toBe(3_200);
  });

  it('reads forms the encoder never writes the same way (wider lengths, more items, integer codes)', () => {
    const cases = [
      // [ "id" as str8, { "k" as str16: "v" as str32 } as map16, 1 as uint8 ]
      Uint8Array.of(0x93, 0xd9, 2, 0x69, 0x64, 0xde, 0, 1, 0xda, 0, 1, 0x6b, 0xdb, 0, 0, 0, 1, 0x76, 0xcc, 1),
      // [ "id", {}, nil, "extra" ]: more than three items are allowed
      Uint8Array.of(0x94, 0xa2, 0x69, 0x64, 0x80, 0xc0, 0xa1, 0x78),
      // [ "id", { 1: "v" }, nil ]: an integer key
      Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x81, 0x01, 0xa1, 0x76, 0xc0),
      // [ "id", {}, nil ] followed by a stray byte inside the meta block
      Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x80, 0xc0, 0xc0),
      // [ "id", { "__proto__": "x" }, nil ]
      Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x81, 0xa9, ...utf8('__proto__'), 0xa1, 0x78, 0xc0),
      // [ 5, {}, nil ]
      Uint8Array.of(0x93, 0x05, 0x80, 0xc0),
      // [ "id", {}, "text/plain" as str8 ]
      Uint8Array.of(0x93, 0xa2, 0x69, 0x64, 0x80, 0xd9, 10, ...utf8('text/plain')),
    ];
    for (const meta of cases) expectSameAsReference(withMeta(meta));
    expect(decodeEnvelope(withMeta(cases[0] as Uint8Array))).toEqual({
      id: 'id',
      headers: { k: 'v', [Header.contentType]: 'application/msgpack' },
      payload: utf8('p'),
    });
    expect(decodeEnvelope(withMeta(cases[3] as Uint8Array))).toBeUndefined();
    expect(decodeEnvelope(withMeta(cases[4] as Uint8Array))).toBeUndefined();
  });

  it('reads an envelope held in a plain Uint8Array as well as in a Buffer', () => {
    const envelope = encodeEnvelope('ид-1', { ключ: 'значение', [Header.contentType]: 'x/y' }, utf8('p'));
    const copy = new Uint8Array(envelope.length + 3).subarray(3);
    copy.set(envelope);
    expect(Buffer.isBuffer(copy)).toBe(false);
    expect(decodeEnvelope(copy)).toEqual(decodeEnvelope(envelope));
    expect(decodeEnvelope(copy)?.headers).toEqual({ ключ: 'значение', [Header.contentType]: 'x/y' });
  });
});
