export {
  COUNT_OFFSET,
  COUNT_WIDTH,
  type DecodedValue,
  decodeEntry,
  ENTRY_MAGIC,
  type Entry,
  encodeEntry,
  isEntry,
  MAX_DELIVERY_COUNT,
  withDeliveriesBefore,
} from './entry.js';
export { checkConsumerName, type ListKeys, listKeys } from './keys.js';
export {
  DEFAULT_LISTS_OPTIONS,
  type ListsMode,
  type RedisListsOptions,
  type ResolvedListsOptions,
  resolveListsOptions,
} from './options.js';
export { listsCapabilities, RedisListsTransport } from './transport.js';
