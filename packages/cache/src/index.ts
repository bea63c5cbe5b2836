export { type Cache, createCache, type GetOrSetOptions, type SetOptions, type WaitOptions } from './cache.js';
export { CacheSchemaError } from './errors.js';
export { type CacheKeyNames, cacheKeyNames, MAX_KEY_LENGTH } from './keys.js';
export { type CacheOptions, DEFAULT_CACHE_OPTIONS, MAX_TTL_MS } from './options.js';
