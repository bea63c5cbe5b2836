import type { OutgoingMessage } from '@relaybus/core';
import { expect } from 'vitest';
import { text, utf8 } from '../bytes.js';
import type { Consumer } from '../consumer.js';
import { defineScenario } from '../scenario.js';

const PUBLISHERS = 4;
const MESSAGES_PER_PUBLISHER = 500;
const BATCH = 50;

/** Many publishers and subscribers at once: nothing lost, nothing doubled. */
export const manyPublishersSubscribers = defineScenario({
  id: 'many-publishers-subscribers',
  guarantee:
    'with several publishers and subscribers at once, every group receives every message (thousands × scale) with intact payloads, and no message twice when acknowledged',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const perPublisher = ctx.scaled(MESSAGES_PER_PUBLISHER);
    const total = perPublisher * PUBLISHERS;
    const groups: { name: string; consumers: Consumer[] }[] = [];
    const mainGroup = ctx.group('main');
    const competing = ctx.capabilities.competingConsumers ? 3 : 1;
    const main: Consumer[] = [];
    for (let i = 0; i < competing; i++) main.push(await ctx.consumer(subject, { group: mainGroup }));
    groups.push({ name: mainGroup, consumers: main });
    if (ctx.capabilities.fanOutGroups) {
      for (const tag of ['fan1', 'fan2']) {
        const name = ctx.group(tag);
        groups.push({ name, consumers: [await ctx.consumer(subject, { group: name })] });
      }
    }

    const expected = new Map<string, string>();
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async (_, p) => {
        // Every publisher has its own Publisher object; half publish one by one, half in batches.
        const publisher = ctx.transport.publisher();
        const body = (i: number): string => `publisher ${p} message ${i}`;
        if (p % 2 === 0) {
          for (let i = 0; i < perPublisher; i++) {
            const { id } = await publisher.publish(subject, { payload: utf8(body(i)) });
            expected.set(id, body(i));
          }
        } else {
          for (let start = 0; start < perPublisher; start += BATCH) {
            const messages: OutgoingMessage[] = [];
            for (let i = start; i < Math.min(perPublisher, start + BATCH); i++) {
              messages.push({ payload: utf8(body(i)) });
            }
            const results = await publisher.publishMany(subject, messages);
            for (const [k, result] of results.entries()) expected.set(result.id, body(start + k));
          }
        }
      }),
    );
    expect(expected.size, 'distinct ids returned by the publishers').toBe(total);

    const union = (consumers: Consumer[]): Set<string> => {
      const ids = new Set<string>();
      for (const consumer of consumers) for (const id of consumer.ids()) ids.add(id);
      return ids;
    };
    await ctx.until(
      () => groups.every((group) => union(group.consumers).size >= total),
      () =>
        `every group received all ${total} messages (${groups
          .map((group) => `${group.name}: ${union(group.consumers).size}`)
          .join(', ')})`,
    );
    for (const group of groups) {
      const ids = union(group.consumers);
      const foreign = [...ids].filter((id) => !expected.has(id));
      expect(foreign, `ids in group ${group.name} that nobody published`).toEqual([]);
      for (const consumer of group.consumers) {
        for (const { delivery } of consumer.received) {
          expect(text(delivery.payload), `payload of ${delivery.id}`).toBe(expected.get(delivery.id));
        }
      }
      if (ctx.capabilities.acknowledgements) {
        const deliveries = group.consumers.reduce((sum, consumer) => sum + consumer.count, 0);
        expect(deliveries - total, `duplicate deliveries in group ${group.name}`).toBe(0);
      }
    }
  },
});
