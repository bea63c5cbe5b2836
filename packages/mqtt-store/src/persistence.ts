import {
  ClosedError,
  ConfigError,
  checkName,
  defaultLogger,
  describeValue,
  type Logger,
  rejectUnknownOptions,
} from '@relaybus/core';
import { KeySpace, runScript, runScriptBuffer } from '@relaybus/redis';
import { decodeValue, encodeValue } from './codec.js';
import { type RedisTarget, StoreConnection } from './connection.js';
import { checkClientId, namespaceUrl, type StoreKeys, storeKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';

/** Options of `RedisClientPersistence`. */
export interface RedisClientPersistenceOptions {
  /**
   * Connection options (the persistence opens its connection in `open` and closes it in `close`),
   * or a `RedisConnector` / iovalkey client you own (used, never closed).
   */
  readonly redis: RedisTarget;
  /** Key prefix; default the connection's `keyPrefix` (`relaybus:`). */
  readonly prefix?: string;
  /** Where connection problems are logged (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
}

const OPTION_KEYS = ['redis', 'prefix', 'logger'] as const;

function checkKey(key: unknown): string {
  return checkName('key', key, 65_535);
}

function checkBuffers(buffers: unknown): Buffer[] {
  if (!Array.isArray(buffers) || !buffers.every((part) => part instanceof Uint8Array)) {
    throw new ConfigError(
      'buffers',
      `must be an array of Buffers/Uint8Arrays, got ${describeValue(buffers)}`,
    );
  }
  return buffers.map((part) => (Buffer.isBuffer(part) ? part : Buffer.from(part)));
}

/**
 * A Paho-style client persistence on Redis, for code ported from Eclipse Paho
 * (`MqttClientPersistence`): named byte sequences (Paho stores a packet's header and payload) per
 * client and server, kept until removed. All methods return promises.
 *
 * After `open(clientId, serverUri)` resolves, every `put` that resolved is in Redis under
 * `${prefix}mqtt:{${clientId}@${serverUri}}:paho`, and `keys()` lists them in the order they were
 * first put. `close` never deletes anything. Methods other than `open` reject with `ClosedError`
 * while the persistence is not open.
 */
export class RedisClientPersistence {
  readonly #connection: StoreConnection;
  readonly #prefix: string;
  #keys: StoreKeys | undefined;

  /** Validates `options` (throws `ConfigError` naming the option); connects in `open`. */
  constructor(options: RedisClientPersistenceOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(
        'RedisClientPersistence',
        `options must be an object, got ${describeValue(options)}`,
      );
    }
    rejectUnknownOptions('RedisClientPersistence', options, OPTION_KEYS);
    if (options.redis === undefined) {
      throw new ConfigError(
        'redis',
        'is required: connection options, a RedisConnector or an iovalkey client',
      );
    }
    const logger = options.logger ?? defaultLogger();
    this.#connection = new StoreConnection(options.redis, 'redis', logger);
    this.#prefix = new KeySpace(options.prefix ?? this.#connection.keyPrefix).prefix;
  }

  /** Whether `open` was called and `close` not since. */
  get isOpen(): boolean {
    return this.#keys !== undefined;
  }

  /** The Redis keys of the open namespace, or undefined when not open. */
  get storeKeys(): StoreKeys | undefined {
    return this.#keys;
  }

  /**
   * Opens the namespace of `clientId` at `serverUri` (user name and password in the URI are
   * ignored); resolves once Redis answers. Opening again switches namespace.
   */
  async open(clientId: string, serverUri: string): Promise<void> {
    const keys = storeKeys(
      this.#prefix,
      checkClientId(clientId),
      namespaceUrl(serverUri, 'serverUri'),
      'paho',
    );
    this.#keys = keys;
    await this.#connection.client(this).ping();
  }

  /** Closes the namespace, and the connection when the persistence opened it. Keeps all data. */
  async close(): Promise<void> {
    this.#keys = undefined;
    await this.#connection.release(this);
  }

  /** Stores `buffers` under `key` (replacing what was there); resolves once Redis has them. */
  async put(key: string, buffers: readonly Uint8Array[]): Promise<void> {
    const keys = this.#open();
    const value = encodeValue(checkBuffers(buffers));
    await runScript(this.#client(), SCRIPTS.put, list(keys), [checkKey(key), value]);
  }

  /** The buffers stored under `key` (as Buffers), or undefined when there are none. */
  async get(key: string): Promise<Buffer[] | undefined> {
    const keys = this.#open();
    const stored = await this.#client().hgetBuffer(keys.entries, checkKey(key));
    return stored === null ? undefined : (decodeValue(stored) as Buffer[]);
  }

  /** Removes `key`; resolves true when it was there. */
  async remove(key: string): Promise<boolean> {
    const keys = this.#open();
    const removed = await runScriptBuffer(this.#client(), SCRIPTS.del, list(keys), [checkKey(key)]);
    return removed !== null;
  }

  /** Every stored key, in the order each was first put. */
  async keys(): Promise<string[]> {
    const keys = this.#open();
    return await this.#client().zrange(keys.order, 0, -1);
  }

  /** Whether `key` is stored. */
  async containsKey(key: string): Promise<boolean> {
    const keys = this.#open();
    return (await this.#client().hexists(keys.entries, checkKey(key))) === 1;
  }

  /** Removes every key of the namespace. */
  async clear(): Promise<void> {
    const keys = this.#open();
    await this.#client().del(keys.entries, keys.order, keys.counter);
  }

  #open(): StoreKeys {
    if (this.#keys === undefined) throw new ClosedError('RedisClientPersistence (call open first)');
    return this.#keys;
  }

  #client() {
    return this.#connection.client(this);
  }
}

function list(keys: StoreKeys): string[] {
  return [keys.entries, keys.order, keys.counter];
}
