import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Header, type RawDelivery, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisListsTransport } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hold-consumer.mjs', import.meta.url));
const TTL_MS = 600;

let server: RedisServer;
let redis: Redis;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  redis?.disconnect();
  await server?.stop();
});

/** A consumer in a child process that holds every delivery; `got` lists what it received. */
function holdingConsumer(subject: string, transport: object, subscribe: object, behaviour: object = {}) {
  const child = spawn(
    process.execPath,
    [
      FIXTURE,
      server.url,
      subject,
      JSON.stringify(transport),
      JSON.stringify(subscribe),
      JSON.stringify(behaviour),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const got: Array<{ id: string; deliveryCount: number }> = [];
  const lines: string[] = [];
  let ready = false;
  let exited = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    if (line === 'ready') ready = true;
    const match = /^got (\S+) (\d+)$/.exec(line);
    if (match) got.push({ id: match[1]!, deliveryCount: Number(match[2]) });
  });
  child.on('exit', () => {
    exited = true;
    children.delete(child);
  });
  return {
    got,
    lines,
    isReady: () => ready,
    async kill(): Promise<void> {
      child.kill('SIGKILL');
      await until(() => exited, 5_000, 'the child process exits after SIGKILL');
    },
  };
}

function lists(options: { maxDeliveries?: number } = {}): RedisListsTransport {
  return new RedisListsTransport({
    connection: { url: server.url },
    heartbeatTtlMs: TTL_MS,
    blockMs: 1_000,
    logger: silentLogger,
    ...options,
  });
}

describe('crash recovery (SIGKILL)', () => {
  it('returns what a killed consumer held to the queue through the reaper, in order, counted, none lost', async () => {
    const subject = randomSubject('crash');
    const transport = lists();
    try {
      const published = await transport.publisher().publishMany(
        subject,
        Array.from({ length: 10 }, (_, i) => ({ payload: Buffer.from(`job ${i}`) })),
      );
      const ids = published.map((result) => result.id);
      const child = holdingConsumer(subject, { heartbeatTtlMs: TTL_MS }, { consumer: 'doomed', prefetch: 4 });
      await until(() => child.got.length === 4, 10_000, 'the child holds 4 messages (its prefetch)');
      expect(child.got.map((got) => got.id)).toEqual(ids.slice(0, 4));
      await child.kill();
      const keys = transport.keys(subject);
      expect(await redis.llen(keys.processing('doomed')), 'the dead consumer processing list').toBe(4);

      const seen: RawDelivery[] = [];
      const subscription = await transport.subscribe(subject, { consumer: 'survivor', prefetch: 1 });
      const loop = (async () => {
        for await (const delivery of subscription) {
          seen.push(delivery);
          await delivery.ack();
        }
      })();
      await until(() => seen.length === 10, 10_000, 'the survivor receives all 10 messages');
      // The 6 never fetched come first only if the reaper ran after them; either way, none is lost
      // or doubled, and the 4 returned ones keep their relative order and count the crash.
      expect(seen.map((d) => d.id).sort()).toEqual([...ids].sort());
      const returned = seen.filter((d) => ids.slice(0, 4).includes(d.id));
      expect(returned.map((d) => d.id)).toEqual(ids.slice(0, 4));
      expect(returned.map((d) => d.deliveryCount)).toEqual([2, 2, 2, 2]);
      expect(seen.filter((d) => !ids.slice(0, 4).includes(d.id)).every((d) => d.deliveryCount === 1)).toBe(
        true,
      );
      expect(await redis.exists(keys.processing('doomed')), 'the dead consumer processing list').toBe(0);
      await subscription.close();
      await loop;
    } finally {
      await transport.close();
    }
  });

  it('dead-letters a message that kills its consumer every time once it reached maxDeliveries', async () => {
    const subject = randomSubject('poison');
    const transport = lists();
    try {
      const { id } = await transport.publisher().publish(subject, { payload: Buffer.from('poison') });
      const keys = transport.keys(subject);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const child = holdingConsumer(
          subject,
          { heartbeatTtlMs: TTL_MS },
          { consumer: `victim-${attempt}`, maxDeliveries: 3 },
        );
        await until(
          () => child.got.length === 1,
          10_000,
          `crash ${attempt}: the child receives the poison message`,
        );
        expect(child.got[0]).toEqual({ id, deliveryCount: attempt });
        await child.kill();
        // Wait for the heartbeat to expire, so the next consumer's first reaper pass returns it.
        await until(
          async () => (await redis.exists(keys.heartbeat(`victim-${attempt}`))) === 0,
          5_000,
          'the heartbeat expires',
        );
      }
      const last = holdingConsumer(
        subject,
        { heartbeatTtlMs: TTL_MS },
        { consumer: 'victim-4', maxDeliveries: 3 },
      );
      let deadLetters: Awaited<ReturnType<RedisListsTransport['deadLetters']>> = [];
      await until(
        async () => {
          deadLetters = await transport.deadLetters(subject);
          return deadLetters.length === 1;
        },
        10_000,
        'the poison message is dead-lettered',
      );
      expect(last.got, 'deliveries to the fourth consumer').toEqual([]);
      expect(deadLetters[0]?.id).toBe(id);
      expect(deadLetters[0]?.headers[Header.deadLetterReason]).toBe('max-deliveries');
      expect(deadLetters[0]?.headers[Header.deliveryCount]).toBe('3');
      expect(await redis.llen(keys.queue)).toBe(0);
      await last.kill();
    } finally {
      await transport.close();
    }
  });

  it('presumes a consumer with a blocked event loop dead: its message goes to another, its ack rejects, it re-registers', async () => {
    const subject = randomSubject('stall');
    const transport = lists();
    try {
      const { id } = await transport.publisher().publish(subject, { payload: Buffer.from('slow') });
      const keys = transport.keys(subject);
      const staller = holdingConsumer(
        subject,
        { heartbeatTtlMs: TTL_MS },
        { consumer: 'staller' },
        { stallMs: TTL_MS * 4 },
      );
      await until(() => staller.got.length === 1, 10_000, 'the staller receives the message and blocks');
      const seen: RawDelivery[] = [];
      const subscription = await transport.subscribe(subject, { consumer: 'healthy' });
      void (async () => {
        for await (const delivery of subscription) seen.push(delivery);
      })();
      await until(() => seen.length === 1, 10_000, 'the message reaches the healthy consumer');
      expect(seen[0]).toMatchObject({ id, deliveryCount: 2 });
      await until(
        () => staller.lines.some((line) => line.startsWith('ack')),
        10_000,
        'the staller wakes and acks',
      );
      expect(staller.lines).toContain('ack-failed RELAYBUS_TRANSPORT');
      await until(
        async () => (await redis.exists(keys.heartbeat('staller'))) === 1,
        5_000,
        'the staller heartbeats again',
      );
      expect(await redis.zscore(keys.consumers, 'staller'), 'the staller is registered again').not.toBeNull();
      await seen[0]!.ack();
      await subscription.close();
      await staller.kill();
    } finally {
      await transport.close();
    }
  });
});
