export type { RedisTarget } from './connection.js';
export { MISSING_PACKET, MissingPacketError } from './errors.js';
export type { StoreKeys, StoreKind } from './keys.js';
export { RedisClientPersistence, type RedisClientPersistenceOptions } from './persistence.js';
export type { DoneCallback, MqttPacket, PacketCallback, RedisStore } from './store.js';
export {
  createRedisStores,
  DEFAULT_STORES_OPTIONS,
  type RedisStores,
  type RedisStoresOptions,
} from './stores.js';
