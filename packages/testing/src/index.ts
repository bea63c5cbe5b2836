export { type RedisAvailability, redisAvailability } from './availability.js';
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './cluster.js';
export { type RedisServer, type RedisServerOptions, type RestartOptions, startRedis } from './server.js';
export { randomSubject } from './subject.js';
export { UntilTimeoutError, until } from './until.js';
