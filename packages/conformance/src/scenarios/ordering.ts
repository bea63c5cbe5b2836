import { setTimeout as delay } from 'node:timers/promises';
import type { RawDelivery } from '@relaybus/core';
import { assert, expect } from 'vitest';
import { text, utf8 } from '../bytes.js';
import type { Consumer } from '../consumer.js';
import type { ScenarioContext } from '../context.js';
import { defineScenario } from '../scenario.js';

const KEYS = ['alpha', 'beta', 'gamma', 'delta'];

interface Processed {
  readonly key: string;
  readonly seq: number;
}

/**
 * Consumers of one group, each handling one delivery at a time and recording the order in which
 * handling *finished* across the group. With `randomWorkMs`, each handling takes 0 to that many
 * ms: were two messages of one key in flight at two consumers at once, the later one could
 * finish first.
 */
async function orderedConsumers(
  ctx: ScenarioContext,
  subject: string,
  count: number,
  processed: Processed[],
  randomWorkMs: number,
): Promise<Consumer[]> {
  const group = ctx.group();
  const handle = async (delivery: RawDelivery): Promise<void> => {
    if (randomWorkMs > 0) await delay(Math.floor(Math.random() * (randomWorkMs + 1)));
    const [key, seq] = text(delivery.payload).split(':');
    processed.push({ key: key as string, seq: Number(seq) });
    await delivery.ack();
  };
  const consumers: Consumer[] = [];
  for (let i = 0; i < count; i++) consumers.push(await ctx.consumer(subject, { group, prefetch: 8 }, handle));
  return consumers;
}

function sequencesByKey(processed: readonly Processed[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const { key, seq } of processed) {
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [seq]);
    else list.push(seq);
  }
  return byKey;
}

/** Asserts `seqs` is 0, 1, …, count - 1, naming the first message out of place. */
function expectInOrder(seqs: readonly number[], what: string, count: number): void {
  const wrong = seqs.findIndex((seq, i) => seq !== i);
  if (wrong >= 0) {
    const context = seqs.slice(Math.max(0, wrong - 3), wrong + 4).join(', ');
    assert.fail(
      `${what}: position ${wrong} was message ${seqs[wrong]}, expected ${wrong} (… ${context} …; publish order is 0, 1, 2, …)`,
    );
  }
  expect(seqs.length, `messages of ${what} processed`).toBe(count);
}

/** Messages of one key reach a group in publish order, even with competing consumers. */
export const orderingPerKey = defineScenario({
  id: 'ordering-per-key',
  guarantee:
    'messages of one key are processed by a group in publish order, with several keys interleaved and competing consumers doing random amounts of work',
  needs: [{ ordering: ['per-key', 'total'] }],
  async run(ctx) {
    const subject = ctx.subject();
    const perKey = ctx.scaled(40);
    const processed: Processed[] = [];
    await orderedConsumers(ctx, subject, ctx.capabilities.competingConsumers ? 3 : 1, processed, 3);
    for (let seq = 0; seq < perKey; seq++) {
      for (const key of KEYS) {
        await ctx.publisher().publish(subject, { payload: utf8(`${key}:${seq}`), key });
      }
    }
    const total = perKey * KEYS.length;
    await ctx.until(
      () => processed.length >= total,
      () => `all ${total} keyed messages are processed (${processed.length})`,
    );
    for (const [key, seqs] of sequencesByKey(processed)) expectInOrder(seqs, `key ${key}`, perKey);
  },
});

/** With total ordering, a consumer sees every message of the subject in publish order. */
export const orderingTotal = defineScenario({
  id: 'ordering-total',
  guarantee: 'a consumer receives all messages of a subject (keyed or not) in publish order',
  needs: [{ ordering: ['total'] }],
  async run(ctx) {
    const subject = ctx.subject();
    const count = ctx.scaled(200);
    const processed: Processed[] = [];
    // One consumer handles serially: the order it receives in is the order it finishes in.
    await orderedConsumers(ctx, subject, 1, processed, 0);
    for (let seq = 0; seq < count; seq++) {
      const key = seq % 3 === 0 ? undefined : (KEYS[seq % KEYS.length] as string);
      await ctx.publisher().publish(subject, { payload: utf8(`all:${seq}`), ...(key ? { key } : {}) });
    }
    await ctx.until(
      () => processed.length >= count,
      () => `all ${count} messages are processed (${processed.length})`,
    );
    expectInOrder(
      processed.map((item) => item.seq),
      'the subject',
      count,
    );
  },
});
