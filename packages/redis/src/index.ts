export { createClient, type RedisClient } from './client.js';
export { type CommandArgument, CommandCoalescer } from './coalesce.js';
export {
  type ClientOptions,
  type ConnectionStatus,
  type ConnectorHealth,
  RedisConnector,
  type RedisConnectorEvents,
  type StatusDetail,
} from './connector.js';
export { checkRedisSubject, KeySpace } from './keys.js';
export {
  DEFAULT_REDIS_OPTIONS,
  type HostPort,
  type RedisConnectionOptions,
  type RedisCredentials,
  type RedisTlsOptions,
  type ResolvedRedisOptions,
  redactUrl,
  resolveRedisOptions,
} from './options.js';
export {
  type LuaScript,
  loadScript,
  loadScriptFile,
  runScript,
  runScriptBuffer,
  type ScriptArgument,
} from './scripts.js';
export { CLUSTER_SLOTS, hashSlot } from './slot.js';
