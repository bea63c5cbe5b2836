import { setTimeout as sleep } from 'node:timers/promises';
import {
  AlreadySettledError,
  Broker,
  ConfigError,
  Header,
  type RawDelivery,
  silentLogger,
  UnsupportedError,
} from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PubSubSubscription, type RedisPubSubOptions, RedisPubSubTransport } from '../src/index.js';
import { RecordingLogger, text, utf8 } from './helpers.js';

let server: RedisServer | undefined;
let raw: Redis | undefined;
const transports: RedisPubSubTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

function makeTransport(options: RedisPubSubOptions = {}): RedisPubSubTransport {
  if (server === undefined) throw new Error('the Redis server is not started yet');
  const transport = new RedisPubSubTransport({
    connection: { url: server.url },
    logger: silentLogger,
    ...options,
  });
  transports.push(transport);
  return transport;
}

/** Iterates `subscription` in the background, keeping every delivery. */
function collect(subscription: PubSubSubscription): { deliveries: RawDelivery[]; done: Promise<void> } {
  const deliveries: RawDelivery[] = [];
  const done = (async () => {
    for await (const delivery of subscription) deliveries.push(delivery);
  })();
  return { deliveries, done };
}

describe('publish', () => {
  it('resolves with the number of subscribers that received the message', async () => {
    const transport = makeTransport();
    const subject = randomSubject('receivers');
    const publisher = transport.publisher();
    expect((await publisher.publish(subject, { payload: utf8('nobody') })).receivers).toBe(0);
    const a = await transport.subscribe(subject);
    const b = await transport.subscribe(subject, { group: 'other' });
    const result = await publisher.publish(subject, { payload: utf8('two') });
    expect(result.receivers).toBe(2);
    const batch = await publisher.publishMany(subject, [{ payload: utf8('x') }, { payload: utf8('y') }]);
    expect(batch.map((item) => item.receivers)).toEqual([2, 2]);
    await a.close();
    expect((await publisher.publish(subject, { payload: utf8('one') })).receivers).toBe(1);
    await b.close();
  });

  it('refuses a pattern subject, a delay and a malformed message with errors naming the problem', async () => {
    const publisher = makeTransport().publisher();
    const subject = randomSubject('refuse');
    await expect(publisher.publish('orders.*', { payload: utf8('x') })).rejects.toThrow(ConfigError);
    await expect(publisher.publish(subject, { payload: utf8('x'), delayMs: 100 })).rejects.toThrow(
      UnsupportedError,
    );
    await expect(
      publisher.publish(subject, { payload: 'text' as unknown as Uint8Array }),
    ).rejects.toMatchObject({ option: 'message.payload' });
    await expect(
      publisher.publish(subject, { payload: utf8('x'), headers: { n: 1 as unknown as string } }),
    ).rejects.toMatchObject({ option: 'message.headers.n' });
    await expect(
      publisher.publishMany(subject, [{ payload: utf8('ok') }, { payload: utf8('x'), delayMs: 5 }]),
    ).rejects.toThrow(/messages\[1\]\.delayMs/);
  });
});

describe('subscribe', () => {
  it('gives every subscription every message, whatever its group (no competing consumers)', async () => {
    const transport = makeTransport();
    const subject = randomSubject('fanout');
    const a = collect(await transport.subscribe(subject, { group: 'same' }));
    const b = collect(await transport.subscribe(subject, { group: 'same' }));
    const { id } = await transport.publisher().publish(subject, { payload: utf8('both') });
    await until(() => a.deliveries.length === 1 && b.deliveries.length === 1, 5_000, 'both got it');
    expect(a.deliveries[0]?.id).toBe(id);
    expect(b.deliveries[0]?.id).toBe(id);
  });

  it('poll() takes buffered deliveries synchronously, in order, sharing the buffer with the iterator', async () => {
    const transport = makeTransport();
    const subject = randomSubject('poll');
    const subscription = await transport.subscribe(subject);
    expect(subscription.poll()).toBeUndefined();
    const published = await transport.publisher().publishMany(
      subject,
      ['a', 'b', 'c', 'd'].map((body) => ({ payload: utf8(body) })),
    );
    await until(() => subscription.stats().buffered === 4, 5_000, 'four buffered');
    const first = subscription.poll();
    const iterator = subscription[Symbol.asyncIterator]();
    const second = (await iterator.next()).value as RawDelivery;
    const rest = [subscription.poll(), subscription.poll(), subscription.poll()];
    expect([first?.id, second.id, rest[0]?.id, rest[1]?.id]).toEqual(published.map((p) => p.id));
    expect(rest[2]).toBeUndefined();
    expect(first && text(first.payload)).toBe('a');
    expect(first?.headers).toEqual({});
    expect(subscription.stats()).toMatchObject({ delivered: 4, buffered: 0 });
    await subscription.close();
    expect(subscription.poll()).toBeUndefined();
  });

  it("refuses startFrom 'beginning' (no history) and unknown options", async () => {
    const transport = makeTransport();
    const subject = randomSubject('refuse');
    await expect(transport.subscribe(subject, { startFrom: 'beginning' })).rejects.toThrow(UnsupportedError);
    await expect(
      transport.subscribe(subject, { buferSize: 1 } as unknown as { bufferSize: number }),
    ).rejects.toMatchObject({ option: 'subscribe.buferSize' });
    await expect(transport.subscribe(subject, { overflow: 'block' as 'drop-oldest' })).rejects.toMatchObject({
      option: 'overflow',
    });
  });

  it('close() unsubscribes, closes its connection and ends the for-await loop', async () => {
    const transport = makeTransport();
    const subject = randomSubject('close');
    const subscription = await transport.subscribe(subject);
    const loop = collect(subscription);
    const channel = transport.connector.keys.stream(subject);
    expect(await raw?.call('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 1]);
    await subscription.close();
    await loop.done;
    expect(await raw?.call('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 0]);
    expect(subscription.closed).toBe(true);
  });
});

describe('plain messages', () => {
  it('delivers a plain PUBLISH from another client as raw bytes with the raw content type', async () => {
    const transport = makeTransport();
    const subject = randomSubject('plain');
    const subscription = await transport.subscribe(subject);
    const { deliveries } = collect(subscription);
    const bytes = Buffer.from([0, 1, 2, 0xc1, 0xff]);
    expect(await raw?.publish(transport.connector.keys.stream(subject), bytes)).toBe(1);
    await raw?.publish(transport.connector.keys.stream(subject), 'hello from redis-cli');
    await until(() => deliveries.length === 2, 5_000, 'two plain messages');
    const [first, second] = deliveries as [RawDelivery, RawDelivery];
    expect(first.payload).toEqual(new Uint8Array(bytes));
    expect(first.headers).toEqual({ [Header.contentType]: 'application/octet-stream' });
    expect(first.subject).toBe(subject);
    expect(first.id).not.toBe(second.id);
    expect(text(second.payload)).toBe('hello from redis-cli');
    expect(subscription.stats().raw).toBe(2);
  });

  it('leaves the content type out with rawContentType: null, so a Broker decodes with its fallback', async () => {
    const transport = makeTransport({ rawContentType: null });
    const subject = randomSubject('plain-null');
    const { deliveries } = collect(await transport.subscribe(subject));
    await raw?.publish(transport.connector.keys.stream(subject), Buffer.from([0x93, 1, 2, 3]));
    await until(() => deliveries.length === 1, 5_000, 'the plain message');
    expect(deliveries[0]?.headers).toEqual({});
  });

  it('hands a Broker handler plain JSON published by another client, with rawContentType application/json', async () => {
    const transport = makeTransport({ rawContentType: 'application/json' });
    const broker = new Broker({ transport, logger: silentLogger });
    const subject = randomSubject('plain-json');
    const bodies: unknown[] = [];
    await broker.subscribe(subject, (body) => {
      bodies.push(body);
    });
    await raw?.publish(transport.connector.keys.stream(subject), JSON.stringify({ from: 'elsewhere' }));
    await until(() => bodies.length === 1, 5_000, 'the handler ran');
    expect(bodies[0]).toEqual({ from: 'elsewhere' });
    await broker.stop();
  });
});

describe('settlement', () => {
  it('ack and nack resolve without I/O, settle once, and nothing comes back', async () => {
    const logger = new RecordingLogger();
    const transport = makeTransport({ logger, warnIntervalMs: 0 });
    const subject = randomSubject('settle');
    const { deliveries } = collect(await transport.subscribe(subject));
    await transport
      .publisher()
      .publishMany(subject, [
        { payload: utf8('ack') },
        { payload: utf8('requeue') },
        { payload: utf8('reject') },
      ]);
    await until(() => deliveries.length === 3, 5_000, 'three deliveries');
    const [ack, requeue, reject] = deliveries as [RawDelivery, RawDelivery, RawDelivery];
    await ack.ack();
    await requeue.nack({ requeue: true });
    await reject.nack({ requeue: false, reason: 'bad' });
    for (const delivery of deliveries) {
      expect(delivery.settled).toBe(true);
      expect(delivery.deliveryCount).toBe(1);
      await expect(delivery.ack()).rejects.toThrow(AlreadySettledError);
      await expect(delivery.nack()).rejects.toThrow(AlreadySettledError);
    }
    expect(logger.find('warn', 'cannot be delivered again')).toHaveLength(1);
    expect(logger.find('debug', 'no dead-letter store')).toHaveLength(1);
    // Only proves that nothing more arrives: a requeue on Pub/Sub delivers nothing again.
    await sleep(200);
    expect(deliveries).toHaveLength(3);
  });

  it("runs a Broker handler with the Broker's auto-ack unchanged", async () => {
    const logger = new RecordingLogger();
    const transport = makeTransport();
    const broker = new Broker({ transport, logger });
    const subject = randomSubject('broker');
    const seen: Array<{ body: unknown; settled: boolean }> = [];
    const deliveries: RawDelivery[] = [];
    await broker.subscribe<{ n: number }>(subject, (body, delivery) => {
      seen.push({ body, settled: delivery.settled });
      deliveries.push(delivery);
    });
    const published = await broker.publishMany(subject, [{ body: { n: 1 } }, { body: { n: 2 } }]);
    expect(published.map((result) => result.receivers)).toEqual([1, 1]);
    await until(() => deliveries.length === 2 && deliveries.every((d) => d.settled), 5_000, 'auto-acked');
    expect(seen).toEqual([
      { body: { n: 1 }, settled: false },
      { body: { n: 2 }, settled: false },
    ]);
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    await broker.stop();
  });
});

describe('overflow', () => {
  async function overflowWith(policy: 'drop-oldest' | 'drop-newest') {
    const logger = new RecordingLogger();
    const transport = makeTransport({ logger, bufferSize: 5, overflow: policy });
    const subject = randomSubject(policy);
    const subscription = await transport.subscribe(subject);
    const results = await transport.publisher().publishMany(
      subject,
      Array.from({ length: 12 }, (_, i) => ({ payload: utf8(`m${i}`) })),
    );
    await until(() => subscription.stats().received === 12, 5_000, 'all 12 messages arrived');
    const stats = subscription.stats();
    expect(stats.dropped).toBe(7);
    expect(subscription.dropped).toBe(7);
    expect(stats.buffered).toBe(5);
    const kept: string[] = [];
    for await (const delivery of subscription) {
      kept.push(text(delivery.payload));
      if (kept.length === 5) break;
    }
    expect(subscription.stats().delivered).toBe(5);
    const warnings = logger.find('warn', 'buffer full');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]?.fields.subject).toBe(subject);
    await subscription.close();
    const counted = logger
      .find('warn', 'buffer full')
      .reduce((sum, line) => sum + Number(line.fields.count), 0);
    expect(counted).toBe(7);
    return { kept, ids: results.map((result) => result.id) };
  }

  it('drop-oldest keeps the newest messages and counts and logs the dropped ones', async () => {
    const { kept } = await overflowWith('drop-oldest');
    expect(kept).toEqual(['m7', 'm8', 'm9', 'm10', 'm11']);
  });

  it('drop-newest keeps the oldest messages and counts and logs the refused ones', async () => {
    const { kept } = await overflowWith('drop-newest');
    expect(kept).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('takes bufferSize and overflow per subscription too', async () => {
    const transport = makeTransport();
    const subject = randomSubject('per-sub');
    const subscription = await transport.subscribe(subject, { bufferSize: 2, overflow: 'drop-newest' });
    await transport.publisher().publishMany(
      subject,
      [1, 2, 3].map((n) => ({ payload: utf8(`${n}`) })),
    );
    await until(() => subscription.stats().received === 3, 5_000, 'three arrived');
    expect(subscription.stats()).toMatchObject({ dropped: 1, buffered: 2 });
    await subscription.close();
    expect(subscription.stats()).toMatchObject({ buffered: 0, discardedOnClose: 2 });
  });
});

describe('patterns', () => {
  it('subscribes to orders.* with PSUBSCRIBE in classic mode, with the concrete subject on each delivery', async () => {
    const transport = makeTransport({ mode: 'classic' });
    const base = randomSubject('orders');
    const subscription = await transport.subscribe(`${base}.*`);
    expect(subscription.subject).toBe(`${base}.*`);
    const { deliveries } = collect(subscription);
    const publisher = transport.publisher();
    const eu = await publisher.publish(`${base}.eu`, { payload: utf8('eu') });
    const us = await publisher.publish(`${base}.us.east`, { payload: utf8('us') });
    await publisher.publish(`${base}-other`, { payload: utf8('not matched') });
    await publisher.publish(base, { payload: utf8('not matched either') });
    expect(eu.receivers).toBe(1);
    await until(() => deliveries.length >= 2, 5_000, 'two matching messages');
    expect(deliveries.map((delivery) => [delivery.id, delivery.subject])).toEqual([
      [eu.id, `${base}.eu`],
      [us.id, `${base}.us.east`],
    ]);
    // Only proves the non-matching ones stay away.
    await sleep(100);
    expect(deliveries).toHaveLength(2);
  });

  it('matches glob characters other than * literally', async () => {
    const transport = makeTransport();
    const base = randomSubject('glob');
    const { deliveries } = collect(await transport.subscribe(`${base}?[x].*`));
    const publisher = transport.publisher();
    await publisher.publish(`${base}a[x].1`, { payload: utf8('? is literal') });
    const literal = await publisher.publish(`${base}?[x].2`, { payload: utf8('literal match') });
    await until(() => deliveries.length >= 1, 5_000, 'the literal match');
    await sleep(100);
    expect(deliveries.map((delivery) => delivery.id)).toEqual([literal.id]);
  });

  it('refuses a pattern in sharded mode', async () => {
    const transport = makeTransport({ mode: 'sharded' });
    await expect(transport.subscribe('orders.*')).rejects.toThrow(/sharded pattern|mode: 'classic'/);
  });
});

describe('sharded mode on one server', () => {
  it('publishes with SPUBLISH and subscribes with SSUBSCRIBE', async () => {
    const transport = makeTransport({ mode: 'sharded' });
    const subject = randomSubject('sharded');
    const { deliveries } = collect(await transport.subscribe(subject));
    const channel = transport.connector.keys.stream(subject);
    expect(await raw?.call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 1]);
    expect(await raw?.call('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 0]);
    const { id, receivers } = await transport.publisher().publish(subject, { payload: utf8('s') });
    expect(receivers).toBe(1);
    await until(() => deliveries.length === 1, 5_000, 'the sharded message');
    expect(deliveries[0]?.id).toBe(id);
  });
});
