import { decode, ExtensionCodec, encode } from '@msgpack/msgpack';
import { DecodeError, EncodeError } from '@relaybus/core';

/** First byte of every stored value: the layout version, so a later format can be told apart. */
const FORMAT_V1 = 1;
/** msgpack extension type that marks a Node Buffer (a plain Uint8Array stays msgpack `bin`). */
const BUFFER_EXTENSION = 0;

const extensions = new ExtensionCodec();
extensions.register({
  type: BUFFER_EXTENSION,
  encode: (value: unknown) => (Buffer.isBuffer(value) ? value : null),
  // Copy: the decoder hands out a view into the whole stored value.
  decode: (data: Uint8Array) => Buffer.from(data),
});

/**
 * Encodes a value (an MQTT packet, or Paho's buffers) for Redis: msgpack behind a version byte,
 * Buffers kept as Buffers (a msgpack extension), strings as strings, numbers, booleans, arrays and
 * nested objects (MQTT 5 `properties`, `userProperties`, `correlationData`) as they are. Object
 * fields that are `undefined` are left out, as JSON would. Throws `EncodeError` for what msgpack
 * cannot hold (functions, symbols, BigInt beyond 64 bits).
 */
export function encodeValue(value: unknown): Buffer {
  let body: Uint8Array;
  try {
    body = encode(value, { extensionCodec: extensions, ignoreUndefined: true });
  } catch (error) {
    throw new EncodeError(`cannot encode the packet for Redis: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = FORMAT_V1;
  out.set(body, 1);
  return out;
}

/** Decodes what `encodeValue` made; throws `DecodeError` for anything else. */
export function decodeValue(stored: Buffer): unknown {
  if (stored.length < 2 || stored[0] !== FORMAT_V1) {
    throw new DecodeError(
      `stored MQTT value has an unknown format (first byte ${stored.length === 0 ? 'missing' : stored[0]}); ` +
        'it was not written by @relaybus/mqtt-store',
    );
  }
  try {
    return decode(stored.subarray(1), { extensionCodec: extensions });
  } catch (error) {
    throw new DecodeError(`stored MQTT value is not valid msgpack: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
