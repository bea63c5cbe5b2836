import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CODECS,
  CodecRegistry,
  DecodeError,
  EncodeError,
  ErrorCode,
  Header,
  jsonCodec,
  msgpackCodec,
  rawCodec,
} from '../src/index.js';

const registry = new CodecRegistry(BUILTIN_CODECS, msgpackCodec);

describe('codecs', () => {
  it('round-trips bodies through msgpack, keeping binary and nested values', () => {
    const body = { n: 1, s: 'ü€', bytes: new Uint8Array([0, 255]), list: [1, { a: null }] };
    expect(msgpackCodec.decode(msgpackCodec.encode(body))).toEqual(body);
  });

  it('round-trips bodies through JSON as UTF-8', () => {
    const body = { text: 'naïve ✓', n: 3.5 };
    const bytes = jsonCodec.encode(body);
    expect(new TextDecoder().decode(bytes)).toBe('{"text":"naïve ✓","n":3.5}');
    expect(jsonCodec.decode(bytes)).toEqual(body);
  });

  it('passes raw bytes through and encodes strings as UTF-8', () => {
    const bytes = new Uint8Array([9, 8, 7]);
    expect(rawCodec.encode(bytes)).toBe(bytes);
    expect(rawCodec.decode(rawCodec.encode('hé'))).toEqual(new Uint8Array([0x68, 0xc3, 0xa9]));
    expect(() => rawCodec.encode(42 as unknown as string)).toThrow(EncodeError);
  });

  it('fails to encode what JSON cannot represent with an EncodeError', () => {
    expect(() => jsonCodec.encode(undefined)).toThrow(EncodeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonCodec.encode(cyclic)).toThrow(/JSON cannot encode/);
  });

  it('decodes by the content-type header, so a msgpack consumer reads JSON', () => {
    const payload = jsonCodec.encode({ from: 'json' });
    expect(registry.decode(payload, { [Header.contentType]: 'application/json' })).toEqual({ from: 'json' });
  });

  it('uses the fallback codec when the header is absent', () => {
    expect(registry.decode(msgpackCodec.encode([1, 2]), {})).toEqual([1, 2]);
  });

  it('throws DecodeError with DECODE_FAILED for truncated msgpack and invalid JSON', () => {
    const truncated = msgpackCodec.encode({ long: 'x'.repeat(50) }).slice(0, 10);
    expect(() => registry.decode(truncated, { [Header.contentType]: 'application/msgpack' })).toThrow(
      DecodeError,
    );
    try {
      registry.decode(new Uint8Array([0x7b, 0xff]), { [Header.contentType]: 'application/json' });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: ErrorCode.DecodeFailed });
    }
  });

  it('throws UNKNOWN_CONTENT_TYPE for a content type no codec reads', () => {
    expect(() => registry.decode(new Uint8Array([1]), { [Header.contentType]: 'text/x-unknown' })).toThrow(
      expect.objectContaining({ code: ErrorCode.UnknownContentType }),
    );
  });
});
