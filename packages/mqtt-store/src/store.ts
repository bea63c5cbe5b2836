import { ConfigError, defaultLogger, describeValue, type Logger } from '@relaybus/core';
import { runScript, runScriptBuffer } from '@relaybus/redis';
import type { Packet } from 'mqtt-packet';
import { Readable } from 'readable-stream';
import { decodeValue, encodeValue } from './codec.js';
import type { StoreConnection } from './connection.js';
import { MissingPacketError } from './errors.js';
import type { StoreKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';

/**
 * An MQTT packet as MQTT.js hands it to a store (`mqtt-packet`'s `Packet`): stored under its
 * `messageId` and given back field for field (topic, payload, qos, dup, retain, MQTT 5 properties).
 */
export type MqttPacket = Packet;

/** MQTT.js's completion callback. */
export type DoneCallback = (error?: Error) => void;
/** MQTT.js's callback of `get` and `del`. */
export type PacketCallback = (error?: Error, packet?: MqttPacket) => void;

/** How many entries `createStream` reads per round trip. */
const PAGE_SIZE = 100;

function checkMessageId(packet: unknown): number {
  const messageId = (packet as { messageId?: unknown } | null)?.messageId;
  if (!Number.isInteger(messageId) || (messageId as number) < 1 || (messageId as number) > 65_535) {
    throw new ConfigError('packet.messageId', `must be an integer 1–65535, got ${describeValue(messageId)}`);
  }
  return messageId as number;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function asPacket(value: unknown): MqttPacket {
  return value as MqttPacket;
}

/**
 * An MQTT.js store (`IStore`) on Redis: the outgoing or the incoming store of one MQTT client,
 * made by `createRedisStores`. Every call goes to Redis; nothing is cached in memory, so a new
 * process with a store of the same namespace sees exactly what the old one stored.
 *
 * - `put` is write-ahead: its callback runs once Redis has the packet. A packet whose messageId is
 *   already stored replaces it in place (a PUBREL replacing its PUBLISH keeps the PUBLISH's place).
 * - `createStream` yields the stored packets in insertion order (not messageId order), as they
 *   were when it started; `destroy()` stops it and it emits `close`.
 * - `get` and `del` call back with a `MissingPacketError` when nothing is stored under the
 *   messageId; `del` calls back with the packet it removed.
 * - `close` keeps every packet unless the stores were made with `clean: true`. The store stays
 *   usable after it (MQTT.js reuses its stores on `reconnect()`).
 *
 * A Redis failure reaches the callback as the error; nothing is retried beyond what the
 * connection does.
 */
export class RedisStore {
  /** The keys this store writes. */
  readonly keys: StoreKeys;
  readonly #connection: StoreConnection;
  readonly #clean: boolean;
  readonly #logger: Logger;

  constructor(
    connection: StoreConnection,
    keys: StoreKeys,
    clean: boolean,
    logger: Logger = defaultLogger(),
  ) {
    this.#connection = connection;
    this.keys = keys;
    this.#clean = clean;
    this.#logger = logger;
  }

  /** Stores `packet` under its messageId (replacing in place); `cb` runs once Redis has it. */
  put(packet: MqttPacket, cb?: DoneCallback): this {
    this.#settle(this.putAsync(packet), cb ? (error) => cb(error) : undefined);
    return this;
  }

  /** `put` as a promise: resolves true when the messageId was new, false when it replaced one. */
  async putAsync(packet: MqttPacket): Promise<boolean> {
    const messageId = checkMessageId(packet);
    const value = encodeValue(packet);
    const fresh = await runScript(this.#client(), SCRIPTS.put, this.#keyList(), [String(messageId), value]);
    return fresh === 1;
  }

  /** Calls back with the packet stored under `packet.messageId`, or a `MissingPacketError`. */
  get(packet: Pick<MqttPacket, 'messageId'>, cb: PacketCallback): this {
    this.#settle(this.#require(packet, this.getAsync(packet)), cb);
    return this;
  }

  /** `get` as a promise: the stored packet, or undefined. */
  async getAsync(packet: Pick<MqttPacket, 'messageId'>): Promise<MqttPacket | undefined> {
    const messageId = packet?.messageId;
    if (!Number.isInteger(messageId)) return undefined;
    const stored = await this.#client().hgetBuffer(this.keys.entries, String(messageId));
    return stored === null ? undefined : asPacket(decodeValue(stored));
  }

  /** Removes the packet stored under `packet.messageId` and calls back with it (or a `MissingPacketError`). */
  del(packet: Pick<MqttPacket, 'messageId'>, cb?: PacketCallback): this {
    this.#settle(this.#require(packet, this.delAsync(packet)), cb);
    return this;
  }

  /** `del` as a promise: the removed packet, or undefined when there was none. */
  async delAsync(packet: Pick<MqttPacket, 'messageId'>): Promise<MqttPacket | undefined> {
    const messageId = packet?.messageId;
    if (!Number.isInteger(messageId)) return undefined;
    const removed = await runScriptBuffer(this.#client(), SCRIPTS.del, this.#keyList(), [String(messageId)]);
    return Buffer.isBuffer(removed) ? asPacket(decodeValue(removed)) : undefined;
  }

  /**
   * A readable object stream of the stored packets in insertion order, read from Redis a page at
   * a time. It holds what was stored when it started (later puts are not in it; a packet deleted
   * before its page is read is skipped). `destroy()` ends it and emits `close`; a Redis failure
   * destroys it with the error.
   */
  createStream(): Readable {
    return new PacketStream(this);
  }

  /**
   * Done with the store for now: with `clean: true` deletes every stored packet first; releases
   * the connection the stores opened (a shared one stays open). The store stays usable.
   */
  close(cb?: DoneCallback): void {
    this.#settle(this.closeAsync(), cb ? (error) => cb(error) : undefined);
  }

  /** `close` as a promise. */
  async closeAsync(): Promise<void> {
    try {
      if (this.#clean) await this.clear();
    } finally {
      await this.#connection.release(this);
    }
  }

  /** Deletes every packet of this store (its three keys). */
  async clear(): Promise<void> {
    await this.#client().del(this.keys.entries, this.keys.order, this.keys.counter);
  }

  /** How many packets are stored. */
  async size(): Promise<number> {
    return await this.#client().hlen(this.keys.entries);
  }

  /** One page for `PacketStream`: packets after insertion number `after`, up to `bound`. */
  async page(
    after: string,
    bound: string,
  ): Promise<{ bound: string; last: string; done: boolean; packets: MqttPacket[] }> {
    const reply = (await runScriptBuffer(this.#client(), SCRIPTS.page, this.#keyList(), [
      after,
      bound,
      PAGE_SIZE,
    ])) as [Buffer, Buffer, number, ...Buffer[]];
    const packets: MqttPacket[] = [];
    for (let i = 4; i < reply.length; i += 2) packets.push(asPacket(decodeValue(reply[i] as Buffer)));
    return {
      bound: reply[0].toString(),
      last: reply[1].toString(),
      done: reply[2] < PAGE_SIZE,
      packets,
    };
  }

  #client() {
    return this.#connection.client(this);
  }

  #keyList(): string[] {
    return [this.keys.entries, this.keys.order, this.keys.counter];
  }

  async #require(
    packet: Pick<MqttPacket, 'messageId'>,
    found: Promise<MqttPacket | undefined>,
  ): Promise<MqttPacket> {
    const value = await found;
    if (value === undefined) throw new MissingPacketError(packet?.messageId);
    return value;
  }

  #settle<T>(promise: Promise<T>, cb: ((error?: Error, value?: T) => void) | undefined): void {
    promise.then(
      (value) => {
        // Outside the promise chain, so an exception in MQTT.js's callback is not swallowed.
        if (cb) process.nextTick(cb, undefined, value);
      },
      (error: unknown) => {
        if (cb) process.nextTick(cb, asError(error));
        else this.#logger.warn({ err: error, key: this.keys.entries }, 'mqtt store operation failed');
      },
    );
  }
}

/**
 * `RedisStore.createStream`'s stream: pages through the store in insertion order. A
 * readable-stream `Readable` (what MQTT.js itself uses and types `IStore` with), so the store is
 * assignable to `IStore` without a cast.
 */
class PacketStream extends Readable {
  readonly #store: RedisStore;
  #after = '0';
  #bound = '';
  #reading = false;
  #done = false;

  constructor(store: RedisStore) {
    super({ objectMode: true });
    this.#store = store;
  }

  override _read(): void {
    if (this.#reading || this.#done) return;
    this.#reading = true;
    this.#next().then(
      (packets) => {
        this.#reading = false;
        if (this.destroyed) return;
        for (const packet of packets) this.push(packet);
        if (this.#done) this.push(null);
      },
      (error: unknown) => {
        this.#reading = false;
        this.destroy(asError(error));
      },
    );
  }

  /** The next non-empty page (or the last one). */
  async #next(): Promise<MqttPacket[]> {
    for (;;) {
      const page = await this.#store.page(this.#after, this.#bound);
      this.#bound = page.bound;
      this.#after = page.last;
      this.#done = page.done;
      if (page.packets.length > 0 || page.done || this.destroyed) return page.packets;
    }
  }
}
