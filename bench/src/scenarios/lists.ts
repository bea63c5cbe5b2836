import { decode } from '@msgpack/msgpack';
import { Broker } from '@relaybus/core';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { until } from '@relaybus/testing';
import type { Redis } from 'iovalkey';
import { ORDER_EVENT, ORDER_EVENT_BYTES } from '../payload.js';
import { type BenchContext, connect, fresh, RUN_DEADLINE_MS, type Scenario, within } from '../scenario.js';
import { perSecond } from '../stats.js';
import { CONCURRENCY, PREFETCH } from './streams.js';

const BATCH = 500;

function count(context: BenchContext): number {
  return context.quick ? 20_000 : 200_000;
}

function listsBroker(context: BenchContext): Broker {
  return new Broker({ transport: new RedisListsTransport({ connection: { url: context.url } }) });
}

/** Resolves once the queue and every processing list of `subject` are empty (all acked). */
async function drained(admin: Redis, subject: string): Promise<void> {
  const queue = `relaybus:{${subject}}`;
  await until(
    async () => {
      if ((await admin.llen(queue)) > 0) return false;
      for (const key of await admin.keys(`${queue}:processing:*`))
        if ((await admin.llen(key)) > 0) return false;
      return true;
    },
    30_000,
    `queue ${queue} drained`,
  );
}

/** 6a. Reliable lists drain through the Broker vs a raw BLMOVE + LREM loop. */
export const listsReliableConsume: Scenario = {
  name: 'lists-reliable-consume',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'iovalkey BLMOVE + LREM, 64 lanes',
  async ours(context) {
    const n = count(context);
    const subject = fresh('lq');
    const filler = listsBroker(context);
    const batch = Array.from({ length: BATCH }, () => ({ body: ORDER_EVENT }));
    for (let sent = 0; sent < n; sent += BATCH)
      await filler.publishMany(subject, batch.slice(0, Math.min(BATCH, n - sent)));
    await filler.stop();
    const broker = listsBroker(context);
    let handled = 0;
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const started = performance.now();
    await broker.subscribe(
      subject,
      () => {
        if (++handled === n) resolve();
      },
      { group: 'bench', concurrency: CONCURRENCY, prefetch: PREFETCH },
    );
    await within(done, RUN_DEADLINE_MS, 'the handler to see every message');
    await drained(context.admin, subject);
    const elapsed = performance.now() - started;
    await broker.stop();
    return perSecond(n, elapsed);
  },
  async baseline(context) {
    const n = count(context);
    const queue = fresh('raw-lq');
    const processing = `${queue}:processing`;
    for (let sent = 0; sent < n; sent += BATCH) {
      const pipeline = context.admin.pipeline();
      for (let i = 0; i < Math.min(BATCH, n - sent); i++) pipeline.lpush(queue, ORDER_EVENT_BYTES);
      await pipeline.exec();
    }
    const client = connect(context);
    const started = performance.now();
    // 64 lanes share one connection, so their commands pipeline like relaybus's concurrency 64. A
    // lane claims a message before it asks for one: a BLMOVE left waiting on the empty queue at
    // the end would hold up every command behind it on the connection for its whole timeout.
    let claimed = 0;
    const lane = async (): Promise<void> => {
      while (claimed < n) {
        claimed++;
        let value: Buffer | null = null;
        while (value === null) {
          value = (await client.callBuffer('BLMOVE', [
            queue,
            processing,
            'RIGHT',
            'LEFT',
            '1',
          ])) as Buffer | null;
        }
        decode(value);
        await client.lrem(processing, 1, value);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const elapsed = performance.now() - started;
    client.disconnect();
    return perSecond(n, elapsed);
  },
};
