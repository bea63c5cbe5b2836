import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { utf8 } from '../bytes.js';
import { ackAll, type Consumer } from '../consumer.js';
import type { ScenarioContext } from '../context.js';
import { defineScenario } from '../scenario.js';
import { observeFor } from '../wait.js';

async function publishNumbered(ctx: ScenarioContext, subject: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 50) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 50); i++)
      messages.push({ payload: utf8(`message ${i}`) });
    for (const result of await ctx.publisher().publishMany(subject, messages)) ids.push(result.id);
  }
  return ids;
}

function unionOf(consumers: readonly Consumer[]): Set<string> {
  const ids = new Set<string>();
  for (const consumer of consumers) for (const id of consumer.ids()) ids.add(id);
  return ids;
}

/** Consumers of one group share the work. */
export const competingConsumers = defineScenario({
  id: 'competing-consumers',
  guarantee:
    'two consumers of one group split the messages: both get some, together all, and no message goes to both',
  needs: ['competingConsumers'],
  async run(ctx) {
    const subject = ctx.subject();
    const group = ctx.group();
    // A little work per message, so one consumer cannot drain the subject alone.
    const work = async (delivery: { ack(): Promise<void> }) => {
      await delay(1);
      await delivery.ack();
    };
    const a = await ctx.consumer(subject, { group, prefetch: 4 }, work);
    const b = await ctx.consumer(subject, { group, prefetch: 4 }, work);
    const count = ctx.scaled(200);
    const ids = await publishNumbered(ctx, subject, count);
    await ctx.until(
      () => unionOf([a, b]).size >= count,
      () => `the two consumers received all ${count} messages (a: ${a.count}, b: ${b.count})`,
    );
    expect(a.count, 'deliveries to consumer a').toBeGreaterThan(0);
    expect(b.count, 'deliveries to consumer b').toBeGreaterThan(0);
    expect([...unionOf([a, b])].sort(), 'union of both consumers').toEqual([...ids].sort());
    const both = [...a.ids()].filter((id) => b.has(id));
    expect(both, 'messages delivered to both consumers').toEqual([]);
    expect([...a.duplicates(), ...b.duplicates()], 'messages delivered twice to one consumer').toEqual([]);
  },
});

/** Every group gets every message. */
export const fanOutGroups = defineScenario({
  id: 'fan-out-groups',
  guarantee: 'every consumer group receives every message of the subject (and, acknowledged, each once)',
  needs: ['fanOutGroups'],
  async run(ctx) {
    const subject = ctx.subject();
    const groups: Consumer[][] = [];
    for (let g = 0; g < 3; g++) {
      const group = ctx.group(`fan${g}`);
      const members = g === 0 && ctx.capabilities.competingConsumers ? 2 : 1;
      const consumers: Consumer[] = [];
      for (let i = 0; i < members; i++) consumers.push(await ctx.consumer(subject, { group }));
      groups.push(consumers);
    }
    const count = ctx.scaled(100);
    const ids = await publishNumbered(ctx, subject, count);
    await ctx.until(
      () => groups.every((consumers) => unionOf(consumers).size >= count),
      () => `each of 3 groups received ${count} messages (${groups.map((c) => unionOf(c).size).join(', ')})`,
    );
    groups.forEach((consumers, g) => {
      expect([...unionOf(consumers)].sort(), `messages of group ${g}`).toEqual([...ids].sort());
      if (ctx.capabilities.acknowledgements) {
        const deliveries = consumers.reduce((sum, consumer) => sum + consumer.count, 0);
        expect(deliveries - count, `duplicate deliveries in group ${g}`).toBe(0);
      }
    });
  },
});

/** A redelivery is for the group that asked for it. */
export const requeueStaysInGroup = defineScenario({
  id: 'requeue-stays-in-group',
  guarantee:
    "a message one group requeues (at once or delayed) is delivered again to that group only: another group's consumer gets each message once",
  needs: ['fanOutGroups', 'acknowledgements', 'requeue'],
  async run(ctx) {
    const subject = ctx.subject();
    const delayed = ctx.capabilities.delayedRequeue;
    // Group A asks for every message again once (half of them delayed where the transport can).
    const retrying = await ctx.consumer(subject, { group: ctx.group('retrying') }, async (delivery) => {
      if (delivery.deliveryCount > 1) return delivery.ack();
      const later = delayed && Number(new TextDecoder().decode(delivery.payload).split(' ')[1]) % 2 === 1;
      return delivery.nack({ requeue: true, delayMs: later ? 50 : 0 });
    });
    const other = await ctx.consumer(subject, { group: ctx.group('other') }, ackAll);
    const count = ctx.scaled(40);
    const ids = await publishNumbered(ctx, subject, count);
    await ctx.until(
      () => retrying.count >= 2 * count && other.count >= count,
      () =>
        `group "retrying" got each of ${count} messages twice (${retrying.count} deliveries) and group "other" each once (${other.count})`,
    );
    // The requeued copies are in place now; give them time to reach the other group, if they would.
    await observeFor(300);
    expect([...other.ids()].sort(), 'messages of the other group').toEqual([...ids].sort());
    expect(other.duplicates(), "the other group's deliveries of a message another group requeued").toEqual(
      [],
    );
    expect(other.count, 'deliveries to the other group').toBe(count);
  },
});
