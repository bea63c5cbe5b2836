export { AsyncQueue } from './async-queue.js';
export type { AsyncApiDocument } from './asyncapi.js';
export {
  type BatchHandlerOptions,
  type BatchItem,
  Broker,
  type BrokerHealth,
  type BrokerOptions,
  type ConsumeOptions,
  DEFAULT_BROKER_OPTIONS,
  DEFAULT_HANDLER_OPTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HandlerOptions,
  type PublishOptions,
  type RequestOptions,
} from './broker.js';
export { BUILTIN_CODECS, type Codec, CodecRegistry, jsonCodec, msgpackCodec, rawCodec } from './codec.js';
export type {
  Capabilities,
  Delivery,
  NackOptions,
  Ordering,
  OutgoingMessage,
  Publisher,
  PublishResult,
  RawDelivery,
  ReadOptions,
  Settlement,
  StartPosition,
  StoredMessage,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportHealth,
} from './contract.js';
export {
  createDelivery,
  type DeliveryInit,
  GuardedDelivery,
  type SettleFn,
  settlementFromNack,
} from './delivery.js';
export {
  AlreadySettledError,
  ClosedError,
  ConfigError,
  DecodeError,
  EncodeError,
  ErrorCode,
  isRelaybusError,
  MessageTooLargeError,
  Reject,
  RelaybusError,
  RequestError,
  TimeoutError,
  TransportError,
  UnsupportedError,
} from './errors.js';
export type {
  BatchHandler,
  Filter,
  Handler,
  HandlerStats,
  HandlerSubscription,
} from './handler-runner.js';
export { checkHeaders, Header, type Headers, RESERVED_HEADER_PREFIX, setHeader } from './headers.js';
export { newConsumerName, newMessageId } from './id.js';
export { defaultLogger, type LogFn, type Logger, silentLogger } from './logger.js';
export type {
  ConsumeContext,
  ConsumeMiddleware,
  Middleware,
  PublishContext,
  PublishItem,
  PublishMiddleware,
  SubscriptionControl,
} from './middleware.js';
export {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
} from './middlewares/circuit-breaker.js';
export { type DedupeOptions, dedupe } from './middlewares/dedupe.js';
export { type LoggingOptions, logging } from './middlewares/logging.js';
export { type RateLimitOptions, rateLimit } from './middlewares/rate-limit.js';
export { timeout } from './middlewares/timeout.js';
export {
  checkInteger,
  checkName,
  checkNumber,
  checkOneOf,
  checkSubject,
  describe as describeValue,
  MAX_SUBJECT_LENGTH,
  rejectUnknownOptions,
} from './options.js';
export {
  type Backoff,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelayMs,
} from './retry.js';
export {
  formatIssues,
  jsonSchemaOf,
  type SchemaOutput,
  type StandardSchemaV1,
  validateWithSchema,
} from './schema.js';
export { type HandleSignalsOptions, handleSignals } from './signals.js';
export { SlotList, type Slotted } from './slot-list.js';
export { Telemetry, type TelemetryOptions } from './telemetry.js';
