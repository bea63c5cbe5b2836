import { Decoder, Encoder } from '@msgpack/msgpack';
import { DecodeError, EncodeError, ErrorCode } from './errors.js';
import { Header, type Headers } from './headers.js';

/** Turns bodies into bytes and back. Its `contentType` travels with every message it encodes. */
export interface Codec<T = unknown> {
  /** MIME type written to `x-relaybus-content-type`, e.g. `application/msgpack`. */
  readonly contentType: string;
  /** Encodes a body; throws `EncodeError` for a body it cannot represent. */
  encode(body: T): Uint8Array;
  /** Decodes a payload; throws `DecodeError` for bytes it cannot read. */
  decode(payload: Uint8Array): T;
}

// One encoder and decoder for the process: `encode()`/`decode()` of @msgpack/msgpack build a new
// instance (and its buffers) per call. Both handle re-entrant use by cloning themselves.
const msgpackEncoder = new Encoder();
const msgpackDecoder = new Decoder();

/** MessagePack (the default): compact, binary-safe, keeps `Uint8Array` and `Date` values. */
export const msgpackCodec: Codec = {
  contentType: 'application/msgpack',
  encode(body) {
    try {
      return msgpackEncoder.encode(body);
    } catch (cause) {
      throw new EncodeError(`msgpack cannot encode the body: ${messageOf(cause)}`, { cause });
    }
  },
  decode(payload) {
    try {
      return msgpackDecoder.decode(payload);
    } catch (cause) {
      throw new DecodeError(`payload is not valid msgpack: ${messageOf(cause)}`, { cause });
    }
  },
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** JSON in UTF-8. */
export const jsonCodec: Codec = {
  contentType: 'application/json',
  encode(body) {
    let text: string | undefined;
    try {
      text = JSON.stringify(body);
    } catch (cause) {
      throw new EncodeError(`JSON cannot encode the body: ${messageOf(cause)}`, { cause });
    }
    if (text === undefined) throw new EncodeError(`JSON cannot encode a body of type ${typeof body}`);
    return textEncoder.encode(text);
  },
  decode(payload) {
    try {
      return JSON.parse(textDecoder.decode(payload));
    } catch (cause) {
      throw new DecodeError(`payload is not valid UTF-8 JSON: ${messageOf(cause)}`, { cause });
    }
  },
};

/** Raw bytes: the body is the payload. Strings are encoded as UTF-8; decoding yields a `Uint8Array`. */
export const rawCodec: Codec<Uint8Array | string> = {
  contentType: 'application/octet-stream',
  encode(body) {
    if (typeof body === 'string') return textEncoder.encode(body);
    if (body instanceof Uint8Array) return body;
    throw new EncodeError(`the raw codec takes a Uint8Array or a string, got ${typeof body}`);
  },
  decode(payload) {
    return payload;
  },
};

/**
 * The codecs a consumer can read, keyed by content type. A message whose content-type header names
 * none of them fails to decode (and is dead-lettered by the Broker); a message without the header is
 * decoded with the fallback codec.
 */
export class CodecRegistry {
  readonly #byType = new Map<string, Codec>();
  readonly fallback: Codec;

  constructor(codecs: readonly Codec[], fallback: Codec) {
    for (const codec of codecs) this.#byType.set(codec.contentType, codec);
    this.#byType.set(fallback.contentType, fallback);
    this.fallback = fallback;
  }

  /** The codec for a content type, or `undefined`. */
  get(contentType: string): Codec | undefined {
    return this.#byType.get(contentType);
  }

  /** Decodes a payload with the codec its headers name; throws `DecodeError` when it cannot. */
  decode(payload: Uint8Array, headers: Headers): unknown {
    const contentType = headers[Header.contentType];
    if (contentType === undefined) return this.fallback.decode(payload);
    const codec = this.#byType.get(contentType);
    if (codec === undefined) {
      throw new DecodeError(`no codec for content type "${contentType}"`, {
        code: ErrorCode.UnknownContentType,
      });
    }
    return codec.decode(payload);
  }
}

/** The codecs every Broker understands. */
export const BUILTIN_CODECS: readonly Codec[] = [msgpackCodec, jsonCodec, rawCodec as Codec];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
