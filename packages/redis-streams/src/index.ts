export { type DecodedEntry, decodeEntry, type EntryFields, encodeEntry, Field } from './fields.js';
export {
  type ConsumerInfo,
  type GroupInfo,
  StreamsInspector,
  type SubjectInfo,
} from './inspect.js';
export { type StreamKeys, streamKeys } from './keys.js';
export {
  DEFAULT_STREAMS_OPTIONS,
  MAX_PARTITIONS,
  type RedisStreamsOptions,
  type ResolvedStreamsOptions,
  type ResolvedSubjectOptions,
  type RetentionOptions,
  resolveStreamsOptions,
  type StreamSubjectOptions,
} from './options.js';
export { fnv1a, partitionFor } from './partition.js';
export { oldestNeededId, trimStream } from './retention.js';
export { RedisStreamsTransport, type StreamReadOptions, streamsCapabilities } from './transport.js';
