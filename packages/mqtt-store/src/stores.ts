import { ConfigError, defaultLogger, describeValue, type Logger, rejectUnknownOptions } from '@relaybus/core';
import { KeySpace } from '@relaybus/redis';
import { type RedisTarget, StoreConnection } from './connection.js';
import { checkClientId, namespaceUrl, storeKeys } from './keys.js';
import { RedisStore } from './store.js';

/** Options of `createRedisStores`. */
export interface RedisStoresOptions {
  /**
   * Where to keep the packets: connection options (standalone `url`, `cluster`, `sentinel`, TLS,
   * ACL user, credentials provider, `keyPrefix` — as every relaybus Redis package takes them),
   * or a `RedisConnector` / iovalkey `Redis` / `Cluster` you own. A connection you pass is never
   * closed by the stores; one they open from options is closed when both stores are closed.
   */
  readonly redis: RedisTarget;
  /** The MQTT client id: with `brokerUrl`, names the namespace a restarted client finds again. */
  readonly clientId: string;
  /** The broker this client talks to (any string; a URL's user name and password are dropped). */
  readonly brokerUrl: string;
  /**
   * Delete the stored packets when a store is closed (MQTT.js closes its stores on `end()`),
   * like MQTT.js's in-memory store. Default false: packets survive `end()`, a crash and a restart.
   */
  readonly clean?: boolean;
  /** Key prefix; default the connection's `keyPrefix` (`relaybus:`). */
  readonly prefix?: string;
  /** Where connection problems are logged (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
}

/** Defaults of `RedisStoresOptions`. */
export const DEFAULT_STORES_OPTIONS = Object.freeze({ clean: false });

/** MQTT.js's two stores for one client, to pass to `mqtt.connect(url, { incomingStore, outgoingStore })`. */
export interface RedisStores {
  /** QoS 2 PUBLISH packets received and not yet released (PUBREL): the `:in` keys. */
  readonly incomingStore: RedisStore;
  /** QoS 1/2 packets sent and not yet acknowledged: the `:out` keys. */
  readonly outgoingStore: RedisStore;
}

const OPTION_KEYS = ['redis', 'clientId', 'brokerUrl', 'clean', 'prefix', 'logger'] as const;

/**
 * Makes MQTT.js's incoming and outgoing stores on Redis for `clientId` at `brokerUrl`: keys
 * `${prefix}mqtt:{${clientId}@${brokerUrl}}:out` and `:in` (each with `:order` and `:seq`), all
 * on one Cluster slot. Validates the options (throws `ConfigError` naming the option); connects on
 * first use. A new process that makes stores with the same `clientId`, `brokerUrl` and prefix
 * resends what the previous one left unacknowledged.
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('createRedisStores', `options must be an object, got ${describeValue(options)}`);
  }
  rejectUnknownOptions('createRedisStores', options, OPTION_KEYS);
  if (options.redis === undefined) {
    throw new ConfigError('redis', 'is required: connection options, a RedisConnector or an iovalkey client');
  }
  const clientId = checkClientId(options.clientId);
  const brokerUrl = namespaceUrl(options.brokerUrl);
  const clean = options.clean ?? DEFAULT_STORES_OPTIONS.clean;
  if (typeof clean !== 'boolean')
    throw new ConfigError('clean', `must be a boolean, got ${describeValue(clean)}`);
  const logger = options.logger ?? defaultLogger();
  const connection = new StoreConnection(options.redis, 'redis', logger);
  const prefix = new KeySpace(options.prefix ?? connection.keyPrefix).prefix;
  const storeLogger = logger.child({ component: 'mqtt-store', clientId });
  return Object.freeze({
    incomingStore: new RedisStore(
      connection,
      storeKeys(prefix, clientId, brokerUrl, 'in'),
      clean,
      storeLogger,
    ),
    outgoingStore: new RedisStore(
      connection,
      storeKeys(prefix, clientId, brokerUrl, 'out'),
      clean,
      storeLogger,
    ),
  });
}
