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
