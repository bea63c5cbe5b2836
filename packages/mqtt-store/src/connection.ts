import { defaultLogger, type Logger } from '@relaybus/core';
import {
  DEFAULT_REDIS_OPTIONS,
  type RedisClient,
  type RedisConnectionOptions,
  RedisConnector,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from '@relaybus/redis';
import { Cluster, Redis } from 'iovalkey';

/** Where the stores send their commands: connection options, or a connection you own and share. */
export type RedisTarget = RedisConnectionOptions | RedisConnector | RedisClient;

const ROLE = 'mqtt-store';

/**
 * The connection of one set of stores. A client or connector that was passed in is shared: used,
 * never closed here. With connection options, the stores open their own connector on first use and
 * close it once every store that used it is closed; a later call opens a new one (MQTT.js calls
 * `close` on `end()` and may reuse the same stores after `reconnect()`).
 */
export class StoreConnection {
  /** Key prefix: the connector's `keyPrefix`, or the default for a bare client. */
  readonly keyPrefix: string;
  readonly #client: RedisClient | undefined;
  readonly #connector: RedisConnector | undefined;
  readonly #options: ResolvedRedisOptions | undefined;
  readonly #logger: Logger;
  readonly #users = new Set<object>();
  #owned: RedisConnector | undefined;

  constructor(target: RedisTarget | undefined, option: string, logger: Logger = defaultLogger()) {
    this.#logger = logger;
    if (target instanceof Redis || target instanceof Cluster) {
      this.#client = target;
      this.keyPrefix = DEFAULT_REDIS_OPTIONS.keyPrefix;
    } else if (target instanceof RedisConnector) {
      this.#connector = target;
      this.keyPrefix = target.keys.prefix;
    } else {
      this.#options = resolveRedisOptions(target, option);
      this.keyPrefix = this.#options.keyPrefix;
    }
  }

  /** True when the stores opened (and so close) the connection themselves. */
  get owned(): boolean {
    return this.#options !== undefined;
  }

  /** The client for `user`'s next command; marks `user` as using the connection until `release`. */
  client(user: object): RedisClient {
    this.#users.add(user);
    if (this.#client) return this.#client;
    if (this.#connector) return this.#connector.client(ROLE);
    this.#owned ??= new RedisConnector(this.#options!, this.#logger);
    return this.#owned.client(ROLE);
  }

  /** `user` is done; when it was the last user of an owned connector, closes the connector. */
  async release(user: object): Promise<void> {
    this.#users.delete(user);
    if (this.#users.size > 0 || this.#owned === undefined) return;
    const connector = this.#owned;
    this.#owned = undefined;
    await connector.close();
  }
}
