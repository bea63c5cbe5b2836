import { ConfigError } from './errors.js';

/** Message headers: string keys to string values. */
export type Headers = Record<string, string>;

/**
 * Reserved header names. Everything starting with `x-relaybus-` belongs to relaybus; applications
 * may read these but should not set them.
 */
export const Header = {
  /** Content type of the payload, chosen by the producer's codec (e.g. `application/msgpack`). */
  contentType: 'x-relaybus-content-type',
  /** How many times the message has been delivered, as a decimal string, on requeued copies. */
  deliveryCount: 'x-relaybus-delivery-count',
  /** Why a message was dead-lettered. */
  deadLetterReason: 'x-relaybus-dead-letter-reason',
  /** Subject the dead-lettered message was published to. */
  originalSubject: 'x-relaybus-original-subject',
  /** Id of the message as it was first published, kept on requeued and dead-lettered copies. */
  originalId: 'x-relaybus-original-id',
  /** How long a reclaimed delivery sat idle with a crashed consumer, in milliseconds. */
  idleMs: 'x-relaybus-idle-ms',
  /** The message's partition / ordering key. */
  partitionKey: 'x-relaybus-partition-key',
  /** Milliseconds since the epoch at which the message was published. */
  publishedAt: 'x-relaybus-published-at',
  /** W3C trace context. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** Prefix of every reserved header. */
export const RESERVED_HEADER_PREFIX = 'x-relaybus-';

/**
 * Checks message headers a caller gave: an object whose values are strings, and no header named
 * `__proto__` (plain objects treat that name as their prototype, so it would be lost or change the
 * object on the way). Throws `ConfigError` naming the offending option, e.g.
 * `message.headers.x-id`. Returns the headers, typed.
 */
export function checkHeaders(headers: unknown, option: string): Headers | undefined {
  if (headers === undefined) return undefined;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new ConfigError(option, `must be an object of string values, got ${describe(headers)}`);
  }
  for (const name of Object.keys(headers)) {
    if (name === '__proto__') {
      throw new ConfigError(`${option}.__proto__`, 'is not usable as a header name; rename the header');
    }
    const value = (headers as Record<string, unknown>)[name];
    if (typeof value !== 'string') {
      throw new ConfigError(`${option}.${name}`, `must be a string, got ${describe(value)}`);
    }
  }
  return headers as Headers;
}

/**
 * Sets a header as an own property, also when its name is `__proto__` (which plain assignment
 * would take as the prototype): decoders use it so a foreign entry's headers arrive as sent.
 */
export function setHeader(headers: Headers, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    headers[name] = value;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
