import { type RawDelivery, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';

let server: RedisServer;
const transports: RedisStreamsTransport[] = [];

function transport(
  extra: Partial<ConstructorParameters<typeof RedisStreamsTransport>[0]> = {},
): RedisStreamsTransport {
  const made = new RedisStreamsTransport({
    connection: { url: server.url },
    minIdleMs: 500,
    logger: silentLogger,
    ...extra,
  });
  transports.push(made);
  return made;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.all(transports.map((made) => made.close()));
  await server?.stop();
});

/** Collects deliveries of a subscription into an array until closed. */
function collect(
  subscription: AsyncIterable<RawDelivery>,
  onDelivery: (d: RawDelivery) => Promise<void>,
): RawDelivery[] {
  const seen: RawDelivery[] = [];
  void (async () => {
    for await (const delivery of subscription) {
      seen.push(delivery);
      await onDelivery(delivery);
    }
  })();
  return seen;
}

describe('settlement on Redis Streams', () => {
  it('delivers a published message with its payload, headers and id, and acks it', async () => {
    const t = transport();
    const subject = randomSubject('basic');
    const subscription = await t.subscribe(subject);
    const seen = collect(subscription, (d) => d.ack());
    const payload = new Uint8Array([0, 255, 1, 2, 128]);
    const { id } = await t.publisher().publish(subject, {
      payload,
      headers: { a: '1', 'x-relaybus-content-type': 'application/octet-stream' },
      key: 'k',
    });
    await until(() => seen.length === 1);
    const [d] = seen as [RawDelivery];
    expect(d.id).toBe(id);
    expect([...d.payload]).toEqual([...payload]);
    expect(d.headers).toEqual({
      a: '1',
      'x-relaybus-content-type': 'application/octet-stream',
      'x-relaybus-partition-key': 'k',
    });
    expect(d.deliveryCount).toBe(1);
    await until(
      async () => (await t.client().xpending(t.streamKeys(subject)[0]!.stream, 'default'))[0] === 0,
    );
    await subscription.close();
  });

  it('redelivers a nacked message with deliveryCount 2, and dead-letters with a reason', async () => {
    const t = transport();
    const subject = randomSubject('nack');
    const subscription = await t.subscribe(subject);
    const seen = collect(subscription, async (d) => {
      if (d.deliveryCount === 1) await d.nack();
      else await d.nack({ requeue: false, reason: 'bad' });
    });
    await t.publisher().publish(subject, { payload: bytes('x') });
    await until(() => seen.length === 2);
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 2]);
    await until(async () => (await t.deadLetters(subject)).length === 1);
    const [letter] = await t.deadLetters(subject);
    expect(letter?.headers['x-relaybus-dead-letter-reason']).toBe('bad');
    expect(letter?.headers['x-relaybus-delivery-count']).toBe('2');
    expect(letter?.headers['x-relaybus-original-subject']).toBe(subject);
    expect(text(letter!.payload)).toBe('x');
    await subscription.close();
  });

  it('delays a requeue and a publish', async () => {
    const t = transport({ delayedPollMs: 50 });
    const subject = randomSubject('delay');
    const subscription = await t.subscribe(subject);
    const times: number[] = [];
    const seen = collect(subscription, async (d) => {
      times.push(Date.now());
      if (d.deliveryCount === 1 && text(d.payload) === 'a') await d.nack({ delayMs: 300 });
      else await d.ack();
    });
    const start = Date.now();
    await t.publisher().publish(subject, { payload: bytes('a') });
    await t.publisher().publish(subject, { payload: bytes('b'), delayMs: 400 });
    await until(() => seen.length === 3, 5_000);
    expect(seen.map((d) => `${text(d.payload)}${d.deliveryCount}`)).toEqual(['a1', 'a2', 'b1']);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(280);
    expect(times[2]! - start).toBeGreaterThanOrEqual(380);
    await subscription.close();
  });

  it('returns buffered deliveries on close and redelivers unsettled ones after minIdleMs', async () => {
    const t = transport();
    const subject = randomSubject('close');
    await t.publisher().publishMany(subject, []);
    const first = await t.subscribe(subject, { prefetch: 5 });
    await t.publisher().publishMany(
      subject,
      Array.from({ length: 5 }, (_, i) => ({ payload: bytes(String(i)) })),
    );
    const iterator = first[Symbol.asyncIterator]();
    const pulled = (await iterator.next()).value as RawDelivery;
    await until(
      async () => (await t.client().xpending(t.streamKeys(subject)[0]!.stream, 'default'))[0] === 5,
    );
    await first.close();
    const second = await t.subscribe(subject);
    const seen = collect(second, (d) => d.ack());
    await until(() => seen.length === 5, 5_000);
    expect(seen.filter((d) => d.deliveryCount === 1).length).toBe(4);
    const again = seen.find((d) => d.id === pulled.id);
    expect(again?.deliveryCount).toBe(2);
    await second.close();
  });
});
