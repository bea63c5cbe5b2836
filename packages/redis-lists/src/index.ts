export { type DecodedValue, decodeEntry, ENTRY_MAGIC, type Entry, encodeEntry, isEntry } from './entry.js';
export { type ListKeys, listKeys } from './keys.js';
export {
  DEFAULT_LISTS_OPTIONS,
  type ListsMode,
  type RedisListsOptions,
  type ResolvedListsOptions,
  resolveListsOptions,
} from './options.js';
export { listsCapabilities, RedisListsTransport } from './transport.js';
