import { type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStreamsOptions, RedisStreamsTransport, StreamsInspector } from '../src/index.js';

let server: RedisServer;
const transports: RedisStreamsTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.all(transports.map((made) => made.close()));
  await server?.stop();
});

function transport(extra: Partial<RedisStreamsOptions> = {}): RedisStreamsTransport {
  const made = new RedisStreamsTransport({
    connection: { url: server.url },
    minIdleMs: 500,
    logger: silentLogger,
    ...extra,
  });
  transports.push(made);
  return made;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function consume(subscription: Subscription, handle: (delivery: RawDelivery) => unknown = (d) => d.ack()) {
  const received: RawDelivery[] = [];
  void (async () => {
    for await (const delivery of subscription) {
      received.push(delivery);
      await handle(delivery);
    }
  })();
  return received;
}

describe('inspection', () => {
  it('reports groups, consumers, pending, lag and dead-letter counts', async () => {
    const t = transport();
    const inspector = new StreamsInspector(t);
    const subject = randomSubject('inspect');
    const holder = await t.subscribe(subject, { group: 'busy', consumer: 'holder', prefetch: 3 });
    const held = consume(holder, () => undefined);
    await t.subscribe(subject, { group: 'idle', startFrom: 'new' }).then((s) => s.close());
    await t.publisher().publishMany(
      subject,
      Array.from({ length: 5 }, (_, i) => ({ payload: utf8(`m${i}`) })),
    );
    await until(() => held.length === 3);
    await held[0]!.nack({ requeue: false, reason: 'inspected' });
    await until(async () => (await inspector.deadLetterCount(subject)) === 1);
    const info = await inspector.subject(subject);
    expect(info.length).toBe(5);
    expect(info.deadLetters).toBe(1);
    expect(info.partitions).toBe(1);
    const byName = new Map(info.groups.map((group) => [group.name, group]));
    expect(byName.get('busy')?.pending).toBeGreaterThanOrEqual(2);
    expect(byName.get('idle')).toEqual({ name: 'idle', consumers: 0, pending: 0, lag: 5 });
    const consumers = await inspector.consumers(subject, 'busy');
    expect(consumers.find((consumer) => consumer.name === 'holder')?.pending).toBeGreaterThanOrEqual(2);
    expect(await inspector.pending(subject, 'busy')).toBe(byName.get('busy')?.pending);
    await holder.close();
  });

  it('replays dead letters onto the subject as new messages', async () => {
    const t = transport();
    const inspector = new StreamsInspector(t);
    const subject = randomSubject('replay');
    let reject = true;
    const received = consume(await t.subscribe(subject), (d) =>
      reject ? d.nack({ requeue: false, reason: 'not yet' }) : d.ack(),
    );
    const published = await t
      .publisher()
      .publishMany(subject, [{ payload: utf8('a') }, { payload: utf8('b') }]);
    await until(async () => (await inspector.deadLetterCount(subject)) === 2);
    reject = false;
    expect(await inspector.replayDeadLetters(subject, { limit: 1 })).toBe(1);
    expect(await inspector.replayDeadLetters(subject)).toBe(1);
    await until(() => received.length === 4);
    const replayed = received.slice(2);
    expect(replayed.map((d) => d.id)).toEqual(published.map((p) => p.id));
    expect(replayed.every((d) => d.deliveryCount === 1)).toBe(true);
    expect(replayed[0]?.headers['x-relaybus-dead-letter-reason']).toBeUndefined();
    expect(await inspector.deadLetterCount(subject)).toBe(0);
  });

  it('removes idle consumers with nothing pending, and its own consumer on close', async () => {
    const t = transport({ idleConsumerMs: 1, janitorIntervalMs: 50 });
    const inspector = new StreamsInspector(t);
    const subject = randomSubject('prune');
    const busy = await t.subscribe(subject, { group: 'g', consumer: 'busy' });
    consume(busy, () => undefined);
    await t.publisher().publish(subject, { payload: utf8('held') });
    const idle = await t.subscribe(subject, { group: 'g', consumer: 'idle', prefetch: 1 });
    consume(idle, () => undefined);
    await until(async () => (await inspector.consumers(subject, 'g')).some((c) => c.pending === 1));
    await idle.close();
    await until(async () => (await inspector.consumers(subject, 'g')).every((c) => c.pending > 0));
    const left = await inspector.consumers(subject, 'g');
    expect(left.map((c) => c.pending)).toEqual([1]);
    await busy.close();
  });
});

describe('retention', () => {
  it('trims approximately to maxLen on publish', async () => {
    const t = transport({ defaults: { maxLen: 100 } });
    const subject = randomSubject('maxlen');
    for (let batch = 0; batch < 10; batch++) {
      await t.publisher().publishMany(
        subject,
        Array.from({ length: 100 }, () => ({ payload: utf8('x') })),
      );
    }
    const length = (await new StreamsInspector(t).subject(subject)).length;
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1_000);
  });

  it('in safe mode never trims what a group has not acknowledged', async () => {
    const t = transport({ subjects: {}, defaults: { maxLen: 10, safe: true } });
    const inspector = new StreamsInspector(t);
    const subject = randomSubject('safe');
    const slow = await t.subscribe(subject, { group: 'slow', prefetch: 5 });
    const held = consume(slow, () => undefined);
    await t.subscribe(subject, { group: 'fast' }).then((s) => consume(s));
    for (let batch = 0; batch < 5; batch++) {
      await t.publisher().publishMany(
        subject,
        Array.from({ length: 200 }, (_, i) => ({ payload: utf8(`${batch}:${i}`) })),
      );
    }
    await until(() => held.length === 5);
    // Safe mode does not trim on publish; the janitor may trim only below the slow group's oldest pending entry.
    expect((await inspector.subject(subject)).length).toBe(1_000);
    expect(await inspector.trim(subject)).toBe(0);
    for (const delivery of held.splice(0)) await delivery.ack();
    await slow.close();
    const reader = consume(await t.subscribe(subject, { group: 'slow', prefetch: 100 }));
    await until(() => reader.length >= 995, 10_000);
    await until(async () => (await inspector.groups(subject)).every((g) => g.pending === 0 && g.lag === 0));
    expect(await inspector.trim(subject)).toBeGreaterThan(0);
    const length = (await inspector.subject(subject)).length;
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(1_000);
  });
});

describe('history', () => {
  it('lists each message once (not its requeued copies), newest first, and honours before', async () => {
    const t = transport();
    const subject = randomSubject('history');
    let first = true;
    const received = consume(await t.subscribe(subject), (d) => {
      if (first) {
        first = false;
        return d.nack();
      }
      return d.ack();
    });
    const [a, b] = await t.publisher().publishMany(subject, [{ payload: utf8('a') }, { payload: utf8('b') }]);
    await until(() => received.length === 3);
    const history = await t.history(subject);
    expect(history.map((m) => m.id)).toEqual([b?.id, a?.id]);
    expect(await t.history(subject, { before: 1 })).toEqual([]);
  });
});

describe('publishing', () => {
  it('sends single publishes of one tick as a pipeline: each resolves with its id, stored in call order', async () => {
    const t = transport();
    const subject = randomSubject('coalesce');
    const publisher = t.publisher();
    const ids = Array.from({ length: 300 }, (_, i) => `m${i}`);
    const results = await Promise.all(ids.map((id) => publisher.publish(subject, { id, payload: utf8(id) })));
    expect(results.map((r) => r.id)).toEqual(ids);
    const entries = await t.client().xrange(`relaybus:{${subject}}`, '-', '+');
    expect(entries.map(([, fields]) => fields[fields.indexOf('i') + 1])).toEqual(ids);
  });

  it('rejects each single publish of a tick that failed, with a TransportError naming the subject', async () => {
    const t = transport();
    const subject = randomSubject('coalesce-fail');
    // A string key where the stream should be: every XADD of the pipeline fails with WRONGTYPE.
    await t.client().set(`relaybus:{${subject}}`, 'not a stream');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => t.publisher().publish(subject, { payload: utf8(`x${i}`) })),
    );
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'RELAYBUS_TRANSPORT' });
      expect(String((outcome as PromiseRejectedResult).reason.message)).toContain(subject);
    }
  });
});
