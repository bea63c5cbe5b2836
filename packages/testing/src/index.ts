export { type RedisAvailability, redisAvailability } from './availability.js';
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './cluster.js';
export { EmbeddedUnsupportedError } from './embedded.js';
export {
  type RealRedisAvailability,
  type RealRedisNeeds,
  type RealRedisSuite,
  realRedisAvailability,
  realRedisSuite,
} from './real.js';
export { RespError, type SimpleReply, sendCommand } from './resp.js';
export { type RedisSentinel, type RedisSentinelOptions, startRedisSentinel } from './sentinel.js';
export {
  type RedisServer,
  type RedisServerOptions,
  type RedisTlsEndpoint,
  type RestartOptions,
  startRedis,
} from './server.js';
export { randomSubject } from './subject.js';
export { createTestCertificates, type TestCertificates } from './tls.js';
export { UntilTimeoutError, until } from './until.js';
