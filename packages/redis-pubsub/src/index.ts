export { ChannelNames, isPattern, WILDCARD } from './channels.js';
export {
  CONTENT_TYPE_CODES,
  decodeEnvelope,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  type EnvelopeMessage,
  encodeEnvelope,
  looksLikeEnvelope,
} from './envelope.js';
export type { LinkEvent, LinkStatus } from './link.js';
export {
  DEFAULT_PUBSUB_OPTIONS,
  MAX_BUFFER_SIZE,
  type OverflowPolicy,
  type PubSubMode,
  type RedisPubSubOptions,
  type ResolvedPubSubOptions,
  resolvePubSubOptions,
} from './options.js';
export type { PubSubPublishResult } from './publisher.js';
export type {
  PubSubSubscription,
  PubSubSubscriptionStats,
  SubscriptionStatusEvent,
} from './subscription.js';
export { type PubSubSubscribeOptions, pubsubCapabilities, RedisPubSubTransport } from './transport.js';
