import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStreamsOptions, RedisStreamsTransport, StreamsInspector } from '../src/index.js';

const MIN_IDLE_MS = 500;
let server: RedisServer;
const transports: RedisStreamsTransport[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(transports.map((made) => made.close()));
  await server?.stop();
});

function transport(extra: Partial<RedisStreamsOptions> = {}): RedisStreamsTransport {
  const made = new RedisStreamsTransport({
    connection: { url: server.url },
    minIdleMs: MIN_IDLE_MS,
    logger: silentLogger,
    ...extra,
  });
  transports.push(made);
  return made;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Iterates a subscription in the background, handing each delivery to `handle`. */
function consume(subscription: Subscription, handle: (delivery: RawDelivery) => unknown = (d) => d.ack()) {
  const received: RawDelivery[] = [];
  const done = (async () => {
    for await (const delivery of subscription) {
      received.push(delivery);
      await handle(delivery);
    }
  })();
  return { received, done, ids: () => new Set(received.map((d) => d.id)) };
}

describe('crash recovery', () => {
  it('gives every message a SIGKILLed consumer left unsettled to another consumer, and none it acked', async () => {
    const t = transport();
    const subject = randomSubject('sigkill');
    const group = 'workers';
    const script = fileURLToPath(new URL('./fixtures/consumer.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, server.url, subject, group, '8'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const acked = new Set<string>();
    const held = new Set<string>();
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { ready?: true; acked?: string; held?: string };
      if (event.ready) ready = true;
      if (event.acked) acked.add(event.acked);
      if (event.held) held.add(event.held);
    });
    await until(() => ready, 10_000, 'the child consumer subscribed');
    const published = await t.publisher().publishMany(
      subject,
      Array.from({ length: 60 }, (_, i) => ({ payload: utf8(`job ${i}`) })),
    );
    const ids = published.map((result) => result.id);
    // The child acks even-numbered jobs and holds odd ones: those it can never have acked.
    const neverAcked = ids.filter((_, i) => i % 2 === 1);
    // Mid-batch: it has handled some, holds some, and has more fetched but not yet handled.
    await until(() => acked.size + held.size >= 10, 10_000, 'the child handled some messages');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const ackedBeforeKill = new Set(acked);

    const inspector = new StreamsInspector(t);
    const survivor = consume(await t.subscribe(subject, { group }));
    await until(
      async () => {
        if (!neverAcked.every((id) => survivor.ids().has(id))) return false;
        const [info] = await inspector.groups(subject);
        return info?.pending === 0 && info.lag === 0;
      },
      10_000,
      'every message the child held reaches the survivor, and the group has nothing pending or unread',
    );
    // Nothing is lost: every entry was delivered and acked, and the odd ones only the survivor acks.
    expect(held.size).toBeGreaterThan(0);
    expect([...held].every((id) => survivor.ids().has(id))).toBe(true);
    // An ack the child saw answered is never undone.
    expect([...ackedBeforeKill].filter((id) => survivor.ids().has(id))).toEqual([]);
    const redelivered = survivor.received.filter((d) => held.has(d.id));
    expect(redelivered.every((d) => d.deliveryCount >= 2 && d.redelivered)).toBe(true);
    // Even-numbered jobs: acked by the child (its report may have died with it) or by the survivor.
    const unaccounted = ids.filter((id) => !ackedBeforeKill.has(id) && !survivor.ids().has(id));
    expect(unaccounted.length).toBeLessThanOrEqual(8);
  });

  it('never hands a delivery held by a live handler (longer than 3 × minIdleMs) to another consumer', async () => {
    const t = transport();
    const subject = randomSubject('long');
    const holder = consume(await t.subscribe(subject, { group: 'g' }), () => undefined);
    const { id } = await t.publisher().publish(subject, { payload: utf8('slow job') });
    await until(() => holder.ids().has(id), 5_000, 'the holder has the message');
    const other = consume(await t.subscribe(subject, { group: 'g' }));
    const deadline = Date.now() + 3 * MIN_IDLE_MS + 300;
    // Polling is the assertion: for the whole window, the other consumer never receives it.
    await until(() => Date.now() >= deadline || other.ids().has(id), 5_000);
    expect(other.ids().has(id)).toBe(false);
    await (holder.received[0] as RawDelivery).ack();
    await until(async () => (await new StreamsInspector(t).pending(subject, 'g')) === 0);
    expect(other.ids().has(id)).toBe(false);
    expect(holder.received).toHaveLength(1);
  });

  it('dead-letters a message whose consumers keep dying once it passes maxDeliveries', async () => {
    const t = transport();
    const subject = randomSubject('poison');
    const { id } = await t.publisher().publish(subject, { payload: utf8('poison') });
    const counts: number[] = [];
    // Each consumer takes the message and "dies" (closes without settling) with it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const subscription = await t.subscribe(subject, {
        group: 'g',
        startFrom: 'beginning',
        maxDeliveries: 3,
      });
      const run = consume(subscription, () => undefined);
      await until(() => run.ids().has(id), 5_000, `delivery ${attempt + 1}`);
      counts.push((run.received[0] as RawDelivery).deliveryCount);
      await subscription.close();
    }
    expect(counts).toEqual([1, 2, 3]);
    const last = consume(await t.subscribe(subject, { group: 'g', maxDeliveries: 3 }));
    await until(
      async () => (await t.deadLetters(subject)).length === 1,
      5_000,
      'the poison message is dead-lettered',
    );
    const [letter] = await t.deadLetters(subject);
    expect(letter?.id).toBe(id);
    expect(letter?.headers['x-relaybus-dead-letter-reason']).toBe('max-deliveries');
    expect(letter?.headers['x-relaybus-delivery-count']).toBe('3');
    expect(last.received).toEqual([]);
    expect(await new StreamsInspector(t).pending(subject, 'g')).toBe(0);
  });

  it('acks pending entries whose data was trimmed away instead of leaving them in the PEL', async () => {
    const t = transport();
    const subject = randomSubject('trimmed');
    const first = await t.subscribe(subject, { group: 'g' });
    const run = consume(first, () => undefined);
    await t.publisher().publishMany(
      subject,
      Array.from({ length: 5 }, (_, i) => ({ payload: utf8(`x ${i}`) })),
    );
    await until(() => run.received.length === 5);
    await first.close();
    const stream = t.streamKeys(subject)[0]!.stream;
    await t.client().xtrim(stream, 'MAXLEN', 0);
    expect(await new StreamsInspector(t).pending(subject, 'g')).toBe(5);
    const second = consume(await t.subscribe(subject, { group: 'g' }));
    await until(async () => (await new StreamsInspector(t).pending(subject, 'g')) === 0, 5_000);
    expect(second.received).toEqual([]);
  });
});
