import { silentLogger } from '@relaybus/core';
import { hashSlot, RedisConnector, resolveRedisOptions } from '@relaybus/redis';
import { randomSubject, until } from '@relaybus/testing';
import type { Packet } from 'mqtt-packet';
import type { Readable } from 'readable-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisStores,
  MissingPacketError,
  RedisClientPersistence,
  type RedisStore,
  type RedisStores,
} from '../src/index.js';
import { type RunningTarget, storeTargets } from './targets.js';

const targets = await storeTargets();

function publish(messageId: number, payload: string | Buffer = `m${messageId}`, qos: 1 | 2 = 1): Packet {
  return { cmd: 'publish', topic: 'hello', payload, qos, dup: false, retain: false, messageId };
}

function pubrel(messageId: number): Packet {
  return { cmd: 'pubrel', messageId };
}

/** Everything the stream yields, once it ends. */
function drain(stream: Readable): Promise<Packet[]> {
  return new Promise((resolve, reject) => {
    const packets: Packet[] = [];
    stream.on('data', (packet: Packet) => packets.push(packet));
    stream.on('end', () => resolve(packets));
    stream.on('error', reject);
  });
}

function call<T>(
  fn: (cb: (error?: Error, value?: T) => void) => unknown,
): Promise<{ error?: Error; value?: T }> {
  return new Promise((resolve) => {
    fn((error, value) => resolve({ error: error ?? undefined, value }));
  });
}

const put = (store: RedisStore, packet: Packet) => call<void>((cb) => store.put(packet, cb));
const get = (store: RedisStore, messageId: number) => call<Packet>((cb) => store.get({ messageId }, cb));
const del = (store: RedisStore, messageId: number) => call<Packet>((cb) => store.del({ messageId }, cb));
const close = (store: RedisStore) => call<void>((cb) => store.close(cb));

describe.each(targets)('mqtt-store on $name', (target) => {
  let running: RunningTarget | undefined;
  let connector: RedisConnector;

  beforeAll(async () => {
    if (target.skip !== undefined) return;
    running = await target.start();
    connector = new RedisConnector(resolveRedisOptions(running.connection), silentLogger);
  });

  afterAll(async () => {
    await connector?.close();
    await running?.stop();
  });

  function stores(options: { clean?: boolean } = {}): RedisStores {
    return createRedisStores({
      redis: connector,
      clientId: randomSubject('client'),
      brokerUrl: 'mqtt://broker.test:1883',
      logger: silentLogger,
      ...options,
    });
  }

  async function keysOf(store: RedisStore): Promise<number> {
    const client = connector.client('test');
    const { entries, order, counter } = store.keys;
    return (await client.exists(entries)) + (await client.exists(order)) + (await client.exists(counter));
  }

  describe.skipIf(target.skip !== undefined)('the abstract store cases', () => {
    it('streams a packet that was put', async () => {
      const { outgoingStore } = stores();
      const packet = publish(42, Buffer.from('payload'));
      expect((await put(outgoingStore, packet)).error).toBeUndefined();
      expect(await drain(outgoingStore.createStream())).toEqual([packet]);
    });

    it('emits close when the stream is destroyed', async () => {
      const { outgoingStore } = stores();
      await put(outgoingStore, publish(1));
      const stream = outgoingStore.createStream();
      let closed = false;
      stream.on('close', () => {
        closed = true;
      });
      stream.destroy();
      await until(() => closed, 5_000, 'close after destroy');
      expect(stream.destroyed).toBe(true);
    });

    it('leaves nothing behind after put then del', async () => {
      const { outgoingStore } = stores();
      await put(outgoingStore, publish(3));
      expect((await del(outgoingStore, 3)).error).toBeUndefined();
      expect(await drain(outgoingStore.createStream())).toEqual([]);
      expect(await keysOf(outgoingStore)).toBe(0);
    });

    it('replaces a PUBLISH with its PUBREL in place', async () => {
      const { outgoingStore } = stores();
      await put(outgoingStore, publish(10, 'first', 2));
      await put(outgoingStore, publish(11, 'second', 2));
      await put(outgoingStore, pubrel(10));
      expect(await drain(outgoingStore.createStream())).toEqual([pubrel(10), publish(11, 'second', 2)]);
    });

    it('calls del back with the packet it removed', async () => {
      const { outgoingStore } = stores();
      const packet = publish(5, Buffer.from([1, 2, 3]));
      await put(outgoingStore, packet);
      const { error, value } = await del(outgoingStore, 5);
      expect(error).toBeUndefined();
      expect(value).toEqual(packet);
    });

    it('calls get back with the stored packet', async () => {
      const { incomingStore } = stores();
      const packet = publish(6, 'text', 2);
      await put(incomingStore, packet);
      const { error, value } = await get(incomingStore, 6);
      expect(error).toBeUndefined();
      expect(value).toEqual(packet);
      expect(typeof (value as { payload: unknown }).payload).toBe('string');
    });

    it('calls get and del back with an Error on a miss', async () => {
      const { incomingStore } = stores();
      const missedGet = await get(incomingStore, 99);
      expect(missedGet.error).toBeInstanceOf(MissingPacketError);
      expect(missedGet.error?.message).toBe('missing packet');
      expect(missedGet.value).toBeUndefined();
      const missedDel = await del(incomingStore, 99);
      expect(missedDel.error).toBeInstanceOf(MissingPacketError);
    });
  });

  describe.skipIf(target.skip !== undefined)('order, durability and connections', () => {
    it('streams in insertion order across a messageId wrap, not in messageId order', async () => {
      const { outgoingStore } = stores();
      for (const id of [65_534, 65_535, 1, 2]) await put(outgoingStore, publish(id));
      const ids = (await drain(outgoingStore.createStream())).map((packet) => packet.messageId);
      expect(ids).toEqual([65_534, 65_535, 1, 2]);
    });

    it('streams more than one page in order, as a snapshot of when it started', async () => {
      const { outgoingStore } = stores();
      const ids = Array.from({ length: 250 }, (_, i) => ((60_000 + i * 37) % 65_535) + 1);
      await Promise.all(ids.map((id) => outgoingStore.putAsync(publish(id))));
      const stream = outgoingStore.createStream();
      // Paused mode: read one packet, so the stream has started, without letting it flow.
      await new Promise((resolve) => stream.once('readable', resolve));
      const first = stream.read() as Packet;
      const rest: Packet[] = [];
      // Put after the stream started: not in it.
      await outgoingStore.putAsync(publish(64_999));
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (packet: Packet) => rest.push(packet));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      expect([first, ...rest].map((packet) => packet.messageId)).toEqual(ids);
    });

    it('keeps packets across close unless clean, and stays usable after close', async () => {
      const kept = stores();
      await put(kept.outgoingStore, publish(7));
      expect((await close(kept.outgoingStore)).error).toBeUndefined();
      expect(await kept.outgoingStore.size()).toBe(1);
      await put(kept.outgoingStore, publish(8));
      expect((await drain(kept.outgoingStore.createStream())).map((p) => p.messageId)).toEqual([7, 8]);

      const clean = stores({ clean: true });
      await put(clean.outgoingStore, publish(7));
      await close(clean.outgoingStore);
      expect(await keysOf(clean.outgoingStore)).toBe(0);
      await put(clean.outgoingStore, publish(9));
      expect((await get(clean.outgoingStore, 9)).value).toEqual(publish(9));
    });

    it('never closes a shared connection; closes and reopens one it made', async () => {
      const shared = stores();
      await put(shared.outgoingStore, publish(1));
      await close(shared.outgoingStore);
      await close(shared.incomingStore);
      expect(await connector.client('mqtt-store').ping()).toBe('PONG');

      const clientId = randomSubject('own');
      const own = createRedisStores({
        redis: running!.connection,
        clientId,
        brokerUrl: 'b',
        logger: silentLogger,
      });
      await put(own.outgoingStore, publish(2));
      await put(own.incomingStore, publish(3, 'x', 2));
      await close(own.outgoingStore);
      await close(own.incomingStore);
      // Reused after close (as MQTT.js does on reconnect): a new connection, same data.
      expect((await get(own.outgoingStore, 2)).value).toEqual(publish(2));
      await close(own.outgoingStore);
    });

    it('makes a new process see what the old one stored (same namespace, new stores)', async () => {
      const clientId = randomSubject('restart');
      const before = createRedisStores({ redis: connector, clientId, brokerUrl: 'b', logger: silentLogger });
      await put(before.outgoingStore, publish(300, Buffer.from('x')));
      await put(before.outgoingStore, publish(299));
      const after = createRedisStores({ redis: connector, clientId, brokerUrl: 'b', logger: silentLogger });
      const packets = await drain(after.outgoingStore.createStream());
      expect(packets.map((p) => p.messageId)).toEqual([300, 299]);
      expect(Buffer.isBuffer((packets[0] as { payload: unknown }).payload)).toBe(true);
    });

    it('keeps incoming and outgoing apart, and every key of a client on one slot', async () => {
      const both = stores();
      await put(both.outgoingStore, publish(1, 'out'));
      await put(both.incomingStore, publish(1, 'in', 2));
      expect(((await get(both.outgoingStore, 1)).value as { payload: unknown }).payload).toBe('out');
      expect(((await get(both.incomingStore, 1)).value as { payload: unknown }).payload).toBe('in');
      const keys = [both.outgoingStore.keys, both.incomingStore.keys].flatMap((k) => [
        k.entries,
        k.order,
        k.counter,
      ]);
      expect(new Set(keys.map((key) => hashSlot(key))).size).toBe(1);
    });
  });

  describe.skipIf(target.skip !== undefined)('RedisClientPersistence', () => {
    it('puts, gets, lists, removes and clears byte sequences per client and server', async () => {
      const persistence = new RedisClientPersistence({ redis: connector, logger: silentLogger });
      const clientId = randomSubject('paho');
      await persistence.open(clientId, 'tcp://user:pw@broker:1883');
      expect(persistence.storeKeys?.entries).toBe(`relaybus:mqtt:{${clientId}@tcp://broker:1883}:paho`);
      await persistence.put('s-2', [Buffer.from([0x32, 2]), Buffer.from('payload')]);
      await persistence.put('s-1', [new Uint8Array([0x62, 2])]);
      await persistence.put('s-2', [Buffer.from([0x62, 2])]);
      expect(await persistence.keys()).toEqual(['s-2', 's-1']);
      expect(await persistence.get('s-2')).toEqual([Buffer.from([0x62, 2])]);
      expect(Buffer.isBuffer((await persistence.get('s-1'))?.[0])).toBe(true);
      expect(await persistence.get('nope')).toBeUndefined();
      expect(await persistence.containsKey('s-1')).toBe(true);
      expect(await persistence.remove('s-1')).toBe(true);
      expect(await persistence.remove('s-1')).toBe(false);
      expect(await persistence.containsKey('s-1')).toBe(false);
      await persistence.close();
      await expect(persistence.keys()).rejects.toThrow(/open/);

      const reopened = new RedisClientPersistence({ redis: running!.connection, logger: silentLogger });
      await reopened.open(clientId, 'tcp://broker:1883');
      expect(await reopened.keys()).toEqual(['s-2']);
      await reopened.clear();
      expect(await reopened.keys()).toEqual([]);
      await reopened.close();
    });
  });
});
