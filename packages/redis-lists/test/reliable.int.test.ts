import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, type RedisListsOptions, RedisListsTransport } from '../src/index.js';

let server: RedisServer;
let redis: Redis;
const transports: RedisListsTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  await Promise.allSettled(transports.map((transport) => transport.close()));
  redis?.disconnect();
  await server?.stop();
});

function lists(options: RedisListsOptions = {}): RedisListsTransport {
  const transport = new RedisListsTransport({
    connection: { url: server.url },
    heartbeatTtlMs: 600,
    blockMs: 1_000,
    logger: silentLogger,
    ...options,
  });
  transports.push(transport);
  return transport;
}

/** Iterates `subscription` in the background, recording deliveries and calling `handle`. */
function consume(subscription: Subscription, handle: (delivery: RawDelivery) => unknown = (d) => d.ack()) {
  const seen: RawDelivery[] = [];
  const done = (async () => {
    for await (const delivery of subscription) {
      seen.push(delivery);
      await handle(delivery);
    }
  })();
  return { seen, done };
}

describe('reliable mode', () => {
  it("keeps a long handler's delivery while it heartbeats: not reaped, not given to another consumer, ack works", async () => {
    const subject = randomSubject('long');
    const holder = lists({ heartbeatTtlMs: 300 });
    const other = lists({ heartbeatTtlMs: 300 });
    const { id } = await holder.publisher().publish(subject, { payload: Buffer.from('long job') });
    const held = consume(await holder.subscribe(subject, { consumer: 'holder' }), () => undefined);
    await until(() => held.seen.length === 1, 5_000, 'the holder receives the job');
    const rival = consume(await other.subscribe(subject, { consumer: 'rival' }));
    const keys = holder.keys(subject);
    // Nothing may happen here: 5 heartbeat TTLs of reaper passes by the rival.
    for (let i = 0; i < 10; i++) {
      await delay(150);
      expect(await redis.pttl(keys.heartbeat('holder')), 'the holder heartbeat TTL').toBeGreaterThan(0);
    }
    expect(
      rival.seen.map((d) => d.id),
      'deliveries to the rival',
    ).toEqual([]);
    expect(await redis.llen(keys.processing('holder'))).toBe(1);
    await held.seen[0]!.ack();
    expect(held.seen[0]!.id).toBe(id);
    expect(await redis.llen(keys.processing('holder'))).toBe(0);
  });

  it('on close returns unpulled deliveries at once (count unchanged), keeps pulled ones ackable, then leaves', async () => {
    const subject = randomSubject('close');
    const transport = lists();
    const results = await transport.publisher().publishMany(
      subject,
      Array.from({ length: 5 }, (_, i) => ({ payload: Buffer.from(`m${i}`) })),
    );
    const subscription = await transport.subscribe(subject, { consumer: 'closer', prefetch: 5 });
    const keys = transport.keys(subject);
    await until(async () => (await redis.llen(keys.processing('closer'))) === 5, 5_000, 'all 5 fetched');
    const iterator = subscription[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as RawDelivery;
    expect(first.id).toBe(results[0]!.id);
    await subscription.close();
    // The 4 unpulled are back, oldest next in line, never counted as delivered.
    const queued = await redis.lrangeBuffer(keys.queue, 0, -1);
    expect(
      queued.map((value) => decodeEntry(value)).map((d) => (d.kind === 'entry' ? d.entry.id : d.kind)),
    ).toEqual(
      results
        .slice(1)
        .map((r) => r.id)
        .reverse(),
    );
    expect(
      queued.every(
        (value) =>
          decodeEntry(value).kind === 'entry' &&
          (decodeEntry(value) as { entry: { deliveriesBefore: number } }).entry.deliveriesBefore === 0,
      ),
    ).toBe(true);
    expect(await redis.llen(keys.processing('closer'))).toBe(1);
    expect(
      await redis.zscore(keys.consumers, 'closer'),
      'still registered while it holds one',
    ).not.toBeNull();
    await first.ack();
    await until(
      async () => (await redis.zscore(keys.consumers, 'closer')) === null,
      5_000,
      'the consumer leaves the registry',
    );
    expect(await redis.exists(keys.heartbeat('closer'), keys.processing('closer'))).toBe(0);
  });

  it('rejects an ack after the reaper returned the delivery (heartbeat expired), which is then delivered again', async () => {
    const subject = randomSubject('late');
    const first = lists({ heartbeatTtlMs: 300 });
    const second = lists({ heartbeatTtlMs: 300 });
    const { id } = await first.publisher().publish(subject, { payload: Buffer.from('late') });
    const subscription = await first.subscribe(subject, { consumer: 'gone' });
    const held = consume(subscription, () => undefined);
    await until(() => held.seen.length === 1, 5_000, 'the first consumer holds the message');
    await subscription.close();
    const next = consume(await second.subscribe(subject));
    await until(() => next.seen.length === 1, 5_000, 'the message comes back to the second consumer');
    expect(next.seen[0]).toMatchObject({ id, deliveryCount: 2, redelivered: true });
    const error = await held.seen[0]!.ack().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: ErrorCode.Transport, name: 'TransportError' });
    expect(held.seen[0]!.settled, 'a failed ack leaves the delivery unsettled').toBe(false);
  });

  it('delivers a value pushed by another client as a raw payload and tracks it as an entry from then on', async () => {
    const subject = randomSubject('raw');
    const transport = lists();
    const keys = transport.keys(subject);
    const raw = Buffer.from([0x68, 0x69, 0x00, 0xff]);
    await redis.lpush(keys.queue, raw);
    const { seen } = consume(await transport.subscribe(subject), (d) =>
      d.deliveryCount === 1 ? d.nack({ requeue: true }) : d.ack(),
    );
    await until(() => seen.length === 2, 5_000, 'the raw value is delivered, nacked and delivered again');
    expect(Buffer.from(seen[0]!.payload).equals(raw)).toBe(true);
    expect(seen[0]!.headers).toEqual({});
    expect(seen[1]!.id, 'the id given on first delivery is kept').toBe(seen[0]!.id);
    expect(seen[1]!.deliveryCount).toBe(2);
    expect(Buffer.from(seen[1]!.payload).equals(raw)).toBe(true);
  });

  it('dead-letters a malformed entry (the magic, then garbage) with a reason', async () => {
    const subject = randomSubject('malformed');
    const transport = lists();
    const keys = transport.keys(subject);
    const good = encodeEntry({ id: 'good', headers: {}, payload: new Uint8Array([1]), deliveriesBefore: 0 });
    await redis.lpush(keys.queue, good.subarray(0, 14), good);
    const { seen } = consume(await transport.subscribe(subject));
    await until(() => seen.length === 1, 5_000, 'the good entry is delivered');
    await until(
      async () => (await transport.deadLetters(subject)).length === 1,
      5_000,
      'the malformed one is dead-lettered',
    );
    const [letter] = await transport.deadLetters(subject);
    expect(letter?.headers['x-relaybus-dead-letter-reason']).toMatch(/^malformed-entry/);
    expect(seen[0]!.id).toBe('good');
  });

  it('returns an entry moved by a command whose reply was lost once its fetch connection reconnects', async () => {
    const subject = randomSubject('lost');
    const transport = lists({ connection: { url: server.url, connectionName: 'lost-reply' } });
    const { seen } = consume(await transport.subscribe(subject, { consumer: 'victim' }));
    const keys = transport.keys(subject);
    // As if a BLMOVE had moved it and the reply never arrived.
    const orphan = encodeEntry({
      id: 'orphan',
      headers: {},
      payload: new Uint8Array([7]),
      deliveriesBefore: 0,
    });
    await redis.lpush(keys.processing('victim'), orphan);
    let fetcher: RegExpExecArray | null = null;
    await until(
      async () => {
        fetcher = /id=(\d+) .*name=lost-reply:lists-fetch/.exec(String(await redis.call('CLIENT', 'LIST')));
        return fetcher !== null;
      },
      5_000,
      'the fetch connection is listed',
    );
    await redis.call('CLIENT', 'KILL', 'ID', (fetcher as unknown as RegExpExecArray)[1]!);
    await until(() => seen.some((d) => d.id === 'orphan'), 10_000, 'the orphaned entry is delivered');
    expect(seen.find((d) => d.id === 'orphan')?.deliveryCount).toBe(1);
  });

  it('never holds more than prefetch deliveries', async () => {
    const subject = randomSubject('prefetch');
    const transport = lists();
    await transport.publisher().publishMany(
      subject,
      Array.from({ length: 20 }, (_, i) => ({ payload: Buffer.from(`p${i}`) })),
    );
    const { seen } = consume(
      await transport.subscribe(subject, { consumer: 'bounded', prefetch: 3 }),
      () => undefined,
    );
    await until(() => seen.length === 3, 5_000, 'three deliveries arrive');
    await delay(300); // proving that nothing more arrives
    expect(seen.length).toBe(3);
    expect(await redis.llen(transport.keys(subject).processing('bounded'))).toBe(3);
    await seen[0]!.ack();
    await until(() => seen.length === 4, 5_000, 'one more arrives after one ack');
    await delay(200);
    expect(seen.length).toBe(4);
  });

  it('loses nothing when close() races a message arriving at a blocked BLMOVE (30 rounds)', async () => {
    const subject = randomSubject('reliable-race');
    const transport = lists();
    const keys = transport.keys(subject);
    const publisher = transport.publisher();
    for (let round = 0; round < 30; round++) {
      const subscription = await transport.subscribe(subject, { consumer: `racer-${round}`, prefetch: 1 });
      await Promise.all([
        publisher.publish(subject, { payload: Buffer.from(`round ${round}`) }),
        delay(round % 6).then(() => subscription.close()),
      ]);
      expect(await redis.llen(keys.queue), `messages on the queue after round ${round}`).toBe(1);
      expect(await redis.exists(keys.processing(`racer-${round}`))).toBe(0);
      await redis.del(keys.queue);
    }
    expect(await redis.zcard(keys.consumers), 'consumers left in the registry').toBe(0);
  });
});
