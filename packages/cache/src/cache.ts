import { randomBytes } from 'node:crypto';
import {
  ClosedError,
  type Codec,
  ConfigError,
  checkInteger,
  DecodeError,
  EncodeError,
  RelaybusError,
  TransportError,
  validateWithSchema,
} from '@relaybus/core';
import {
  hashSlot,
  type LuaScript,
  loadScriptFile,
  type RedisClient,
  runScriptBuffer,
  type ScriptArgument,
} from '@relaybus/redis';
import { abortReason, type Within, within } from './deadline.js';
import { CacheSchemaError } from './errors.js';
import { Inbox } from './inbox.js';
import { type CacheKeyNames, cacheKeyNames, checkKey } from './keys.js';
import { Notifier } from './notifier.js';
import {
  type CacheOptions,
  checkTtl,
  MAX_TTL_MS,
  type ResolvedCacheOptions,
  resolveCacheOptions,
} from './options.js';

const SET = loadScriptFile(new URL('../scripts/set.lua', import.meta.url), 1);
const CLAIM = loadScriptFile(new URL('../scripts/claim.lua', import.meta.url), 2);
const FILL = loadScriptFile(new URL('../scripts/fill.lua', import.meta.url), 2);
const UNLOCK = loadScriptFile(new URL('../scripts/unlock.lua', import.meta.url), 1);
const EXTEND = loadScriptFile(new URL('../scripts/extend.lua', import.meta.url), 1);

/** Extra wait after a lock's time to live before trying to take it over, in ms. */
const LOCK_EXPIRY_GRACE_MS = 5;

/** Options of `Cache.set`. */
export interface SetOptions {
  /** Time to live in ms (default: the cache's `ttlMs`, else none): the key is gone after it. */
  readonly ttlMs?: number;
}

/** Options of `Cache.wait`. */
export interface WaitOptions {
  /** Longest wait in ms; the wait then resolves `undefined` (default: no limit). */
  readonly timeoutMs?: number;
  /** Aborting it rejects the wait with the signal's reason (an `AbortError` by default). */
  readonly signal?: AbortSignal;
}

/** Options of `Cache.getOrSet`. */
export interface GetOrSetOptions {
  /** Time to live of the produced value in ms (default: the cache's `ttlMs`, else none). */
  readonly ttlMs?: number;
  /**
   * Time to live of the producer lock in ms (default: the cache's `lockTtlMs`, 10 000). A live
   * producer renews it every third of it; when its process dies, another caller takes over at
   * most this long after the last renewal.
   */
  readonly lockTtlMs?: number;
  /** Aborting it rejects the call with the signal's reason (a running producer is not stopped). */
  readonly signal?: AbortSignal;
}

/**
 * A shared cache on Redis. Empty is not an error: a miss resolves `undefined`, a wait that timed
 * out too. Failures reject with relaybus errors: `TransportError` (Redis unreachable or refusing),
 * `DecodeError` (stored bytes the codec cannot read), `CacheSchemaError` (a decoded value the
 * schema refuses), `EncodeError` (a value the codec cannot write), `ConfigError` (a bad argument),
 * `ClosedError` (after `close()`).
 */
export interface Cache<T> {
  /** The cache's name. */
  readonly name: string;
  /**
   * Stores `value` under `key` (replacing any value and time to live) and wakes every `wait` and
   * `getOrSet` waiting for it, in one atomic script. Resolves once Redis stored it.
   */
  set(key: string, value: T, options?: SetOptions): Promise<void>;
  /** The value of `key`, or `undefined` when there is none (never set, deleted, expired). */
  get(key: string): Promise<T | undefined>;
  /**
   * The values of `keys`, in their order, `undefined` for each miss: one MGET (on a Cluster, one
   * per slot, in parallel). Rejects as a whole when one value cannot be decoded.
   */
  getMany(keys: readonly string[]): Promise<Array<T | undefined>>;
  /** Removes `key`; resolves true when it existed. Waiters keep waiting. */
  delete(key: string): Promise<boolean>;
  /** True when `key` holds a value now. */
  has(key: string): Promise<boolean>;
  /**
   * The time `key` has left, in ms: `undefined` when there is no such key, `Infinity` when it
   * has no time to live.
   */
  ttl(key: string): Promise<number | undefined>;
  /**
   * Resolves with the value of `key` as soon as it is set: at once when it holds one already,
   * else when a `set` or `getOrSet` writes it (told by Pub/Sub, no polling). The subscription is
   * in place before the first read, so a value written at any moment after the call is seen.
   * Resolves `undefined` after `timeoutMs`; rejects with the signal's reason when `signal` aborts.
   * Waiters of one key in one cache share one subscription.
   */
  wait(key: string, options?: WaitOptions): Promise<T | undefined>;
  /**
   * The value of `key`; when there is none, runs `producer` and stores its result, with at most
   * one producer per key at a time across every process (a lock key with a time to live, renewed
   * while the producer runs). Other callers wait for the value (told by Pub/Sub); when the
   * producer fails they try again at once, when its process dies they take over once its lock
   * expires. A producer's rejection rejects its caller's call unchanged.
   */
  getOrSet(key: string, producer: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T>;
  /**
   * Stops every subscription (pending waits reject with `ClosedError`) and closes the connections
   * the cache opened (not a `RedisConnector` it was given). Later calls reject with `ClosedError`.
   */
  close(): Promise<void>;
}

/**
 * Makes a cache named `options.name` on Redis. Validates the options now (throws `ConfigError`
 * naming the option); connects on first use. With a `schema`, `T` is what the schema produces.
 */
export function createCache<T = unknown>(options: CacheOptions<T>): Cache<T> {
  return new RedisCache(resolveCacheOptions(options));
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new ConfigError('signal', 'must be an AbortSignal');
}

class RedisCache<T> implements Cache<T> {
  readonly name: string;
  readonly #options: ResolvedCacheOptions<T>;
  readonly #codec: Codec<T>;
  readonly #notifier: Notifier;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedCacheOptions<T>) {
    this.#options = options;
    this.name = options.name;
    this.#codec = options.codec;
    this.#notifier = new Notifier(options.connector, options.logger);
  }

  async set(key: string, value: T, options: SetOptions = {}): Promise<void> {
    this.#assertOpen();
    const names = this.#names(key);
    const ttlMs = this.#ttlOf(options.ttlMs);
    const payload = this.#encode(key, value);
    await this.#command('SET', () =>
      runScriptBuffer(
        this.#client(),
        SET,
        [names.value],
        [payload, ttlMs ?? 0, names.channel, this.#notifier.publishCommand],
      ),
    );
  }

  async get(key: string): Promise<T | undefined> {
    this.#assertOpen();
    const names = this.#names(key);
    const payload = await this.#command('GET', () => this.#client().getBuffer(names.value));
    return payload === null ? undefined : this.#decode(key, payload);
  }

  async getMany(keys: readonly string[]): Promise<Array<T | undefined>> {
    this.#assertOpen();
    if (!Array.isArray(keys)) throw new ConfigError('keys', 'must be an array of keys');
    const values = keys.map((key, index) => this.#names(checkKey(key, `keys[${index}]`)).value);
    if (values.length === 0) return [];
    const client = this.#client();
    const payloads: Array<Buffer | null> = new Array(values.length).fill(null);
    await this.#command('MGET', async () => {
      if (!client.isCluster) {
        const replies = await client.mgetBuffer(...values);
        replies.forEach((reply, index) => {
          payloads[index] = reply;
        });
        return;
      }
      // MGET cannot span slots on a Cluster: one per slot, all at once.
      const bySlot = new Map<number, number[]>();
      values.forEach((value, index) => {
        const slot = hashSlot(value);
        const group = bySlot.get(slot);
        if (group === undefined) bySlot.set(slot, [index]);
        else group.push(index);
      });
      await Promise.all(
        [...bySlot.values()].map(async (indices) => {
          const replies = await client.mgetBuffer(...indices.map((index) => values[index] as string));
          indices.forEach((index, position) => {
            payloads[index] = replies[position] ?? null;
          });
        }),
      );
    });
    return Promise.all(
      payloads.map((payload, index) =>
        payload === null ? undefined : this.#decode(keys[index] as string, payload),
      ),
    );
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen();
    const names = this.#names(key);
    return (await this.#command('DEL', () => this.#client().del(names.value))) > 0;
  }

  async has(key: string): Promise<boolean> {
    this.#assertOpen();
    const names = this.#names(key);
    return (await this.#command('EXISTS', () => this.#client().exists(names.value))) > 0;
  }

  async ttl(key: string): Promise<number | undefined> {
    this.#assertOpen();
    const names = this.#names(key);
    const pttl = await this.#command('PTTL', () => this.#client().pttl(names.value));
    if (pttl === -2) return undefined;
    return pttl === -1 ? Number.POSITIVE_INFINITY : pttl;
  }

  async wait(key: string, options: WaitOptions = {}): Promise<T | undefined> {
    this.#assertOpen();
    const names = this.#names(key);
    const timeoutMs =
      options.timeoutMs === undefined
        ? undefined
        : checkInteger('timeoutMs', options.timeoutMs, 0, MAX_TTL_MS);
    const signal = checkSignal(options.signal);
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const inbox = new Inbox();
    const release = await this.#watch(names.channel, inbox, deadline, signal);
    if (release === undefined) {
      // No time left to subscribe (e.g. timeoutMs 0): still answer with what is there now.
      const now = await this.#command('GET', () => this.#client().getBuffer(names.value));
      return now === null ? undefined : await this.#decode(key, now);
    }
    try {
      // Read only now that the subscription is in place: a write after this read is announced.
      const current = await this.#command('GET', () => this.#client().getBuffer(names.value));
      if (current !== null) return await this.#decode(key, current);
      for (;;) {
        const next = await within(inbox.next(), deadline, signal);
        if (next.timedOut) return undefined;
        const event = next.value;
        if (event.kind === 'value') return await this.#decode(key, event.payload);
        if (event.kind === 'closed') throw new ClosedError(`cache "${this.name}"`);
        if (event.kind === 'resync') {
          // Messages may have been missed while the subscription was down.
          const again = await this.#command('GET', () => this.#client().getBuffer(names.value));
          if (again !== null) return await this.#decode(key, again);
        }
      }
    } finally {
      release();
    }
  }

  async getOrSet(key: string, producer: () => T | Promise<T>, options: GetOrSetOptions = {}): Promise<T> {
    this.#assertOpen();
    const names = this.#names(key);
    if (typeof producer !== 'function') {
      throw new ConfigError('producer', 'must be a function returning the value (or a promise of it)');
    }
    const ttlMs = this.#ttlOf(options.ttlMs);
    const lockTtlMs =
      options.lockTtlMs === undefined ? this.#options.lockTtlMs : checkTtl('lockTtlMs', options.lockTtlMs);
    const signal = checkSignal(options.signal);
    if (signal?.aborted) throw abortReason(signal);
    // A hit needs no subscription.
    const stored = await this.#command('GET', () => this.#client().getBuffer(names.value));
    if (stored !== null) return this.#decode(key, stored);
    const token = randomBytes(12).toString('base64url');
    const inbox = new Inbox();
    const release = await this.#watch(names.channel, inbox, undefined, signal);
    if (release === undefined) throw new Error('unreachable: a wait without a deadline timed out');
    try {
      for (;;) {
        const claim = this.#command('getOrSet claim', () =>
          runScriptBuffer(this.#client(), CLAIM, [names.value, names.lock], [token, lockTtlMs]),
        ) as Promise<[number, Buffer | number | undefined]>;
        let claimed: Within<[number, Buffer | number | undefined]>;
        try {
          claimed = await within(claim, undefined, signal);
        } catch (error) {
          // Aborted while claiming: a lock taken meanwhile goes back at once, not at its expiry.
          claim.then(
            (reply) => (reply[0] === 2 ? this.#unlock(key, names, token) : undefined),
            () => undefined,
          );
          throw error;
        }
        if (claimed.timedOut) continue;
        const reply = claimed.value;
        if (reply[0] === 1) return await this.#decode(key, reply[1] as Buffer);
        if (reply[0] === 2) return await this.#produce(key, names, producer, token, ttlMs, lockTtlMs);
        // Someone else produces: wait for the value, for the lock to be given back, or for the
        // lock to expire (its holder died), whichever comes first.
        const lockPttl = reply[1] as number;
        const waitMs = lockPttl > 0 ? lockPttl : lockPttl === -1 ? lockTtlMs : 0;
        const next = await within(inbox.next(), Date.now() + waitMs + LOCK_EXPIRY_GRACE_MS, signal);
        if (next.timedOut) continue;
        const event = next.value;
        if (event.kind === 'value') return await this.#decode(key, event.payload);
        if (event.kind === 'closed') throw new ClosedError(`cache "${this.name}"`);
      }
    } finally {
      release();
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#notifier.close();
      if (this.#options.ownsConnector) await this.#options.connector.close();
    })();
    return this.#closing;
  }

  /** Runs the producer while holding the lock (renewing it), then stores and announces the value. */
  async #produce(
    key: string,
    names: CacheKeyNames,
    producer: () => T | Promise<T>,
    token: string,
    ttlMs: number | undefined,
    lockTtlMs: number,
  ): Promise<T> {
    const renew = setInterval(
      () => {
        this.#run(EXTEND, [names.lock], [token, lockTtlMs]).catch((error: unknown) => {
          this.#options.logger.warn({ err: error, key }, 'cache: could not renew a getOrSet lock');
        });
      },
      Math.max(1, Math.floor(lockTtlMs / 3)),
    );
    let payload: Buffer;
    let value: T;
    try {
      value = await producer();
      payload = this.#encode(key, value);
    } catch (error) {
      clearInterval(renew);
      // Let a waiter produce now instead of after the lock's time to live.
      await this.#unlock(key, names, token);
      throw error;
    }
    clearInterval(renew);
    await this.#command('getOrSet fill', () =>
      this.#run(
        FILL,
        [names.value, names.lock],
        [payload, ttlMs ?? 0, names.channel, this.#notifier.publishCommand, token],
      ),
    );
    return value;
  }

  /** Gives the producer lock back if it is still ours and tells the waiters; never rejects. */
  async #unlock(key: string, names: CacheKeyNames, token: string): Promise<void> {
    try {
      await this.#run(UNLOCK, [names.lock], [token, names.channel, this.#notifier.publishCommand]);
    } catch (error) {
      this.#options.logger.warn({ err: error, key }, 'cache: could not release a getOrSet lock');
    }
  }

  /**
   * Subscribes `inbox` to `channel`; resolves with its release function, or `undefined` when the
   * deadline passed first. Rejects with the signal's reason on abort (releasing it when it comes).
   */
  async #watch(
    channel: string,
    inbox: Inbox,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<(() => void) | undefined> {
    if (signal?.aborted) throw abortReason(signal);
    const watching = this.#notifier.watch(channel, inbox);
    const dropLater = (): void => {
      watching.then(
        (release) => release(),
        () => undefined,
      );
    };
    let outcome: Within<() => void>;
    try {
      outcome = await within(watching, deadline, signal);
    } catch (error) {
      dropLater();
      throw error;
    }
    if (outcome.timedOut) {
      dropLater();
      return undefined;
    }
    return outcome.value;
  }

  #run(script: LuaScript, keys: string[], args: ScriptArgument[]): Promise<unknown> {
    return runScriptBuffer(this.#client(), script, keys, args);
  }

  #client(): RedisClient {
    return this.#options.connector.client('cache');
  }

  #names(key: string): CacheKeyNames {
    return cacheKeyNames(this.#options.prefix, this.name, checkKey(key));
  }

  #ttlOf(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? this.#options.ttlMs : checkTtl('ttlMs', ttlMs);
  }

  #encode(key: string, value: T): Buffer {
    if (value === undefined) {
      throw new EncodeError(
        `cache "${this.name}": cannot store undefined under "${key}" (a miss reads as undefined)`,
      );
    }
    try {
      return toBuffer(this.#codec.encode(value));
    } catch (error) {
      if (error instanceof EncodeError) throw error;
      throw new EncodeError(
        `cache "${this.name}": cannot encode the value of "${key}": ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async #decode(key: string, payload: Buffer): Promise<T> {
    let value: T;
    try {
      value = this.#codec.decode(payload);
    } catch (error) {
      throw new DecodeError(
        `cache "${this.name}": cannot decode the value of "${key}": ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    const schema = this.#options.schema;
    if (schema === undefined) return value;
    const outcome = await validateWithSchema(schema, value);
    if (!outcome.ok) throw new CacheSchemaError(this.name, key, outcome.reason);
    return outcome.value as T;
  }

  /** Runs a Redis command, turning a failure into a relaybus error. */
  async #command<R>(what: string, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (error) {
      if (this.#closed) throw new ClosedError(`cache "${this.name}"`);
      if (error instanceof RelaybusError) throw error;
      throw new TransportError(`cache "${this.name}": ${what} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`cache "${this.name}"`);
  }
}
