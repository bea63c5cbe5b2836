import type { RawDelivery } from '@relaybus/core';
import { expect } from 'vitest';
import { randomSuffix, utf8 } from '../bytes.js';
import { holdAll } from '../consumer.js';
import { defineScenario } from '../scenario.js';
import { observeFor, withDeadline } from '../wait.js';
import { expectBytes, flushWithMarker } from './expect.js';

/** A consumer that goes away without settling loses nothing: the group gets the messages again. */
export const crashRedelivery = defineScenario({
  id: 'crash-redelivery',
  guarantee:
    'deliveries left unsettled by a closed subscription reach another consumer of the group, intact and marked redelivered',
  needs: ['acknowledgements', 'redeliveryAfterCrash'],
  async run(ctx) {
    const subject = ctx.subject();
    const group = ctx.group();
    const first = await ctx.consumer(subject, { group }, holdAll);
    const messages = Array.from({ length: 5 }, (_, i) => ({
      payload: utf8(`unsettled ${i} ${randomSuffix()}`),
      headers: { 'x-n': String(i) },
    }));
    const ids = (await ctx.publisher().publishMany(subject, messages)).map((result) => result.id);
    await ctx.until(
      () => ids.every((id) => first.has(id)),
      () => `the first consumer holds all ${ids.length} messages (${first.count})`,
    );
    await withDeadline(first.subscription.close(), ctx.timeoutMs, 'subscription.close()');

    const second = await ctx.consumer(subject, { group });
    await ctx.until(
      () => ids.every((id) => second.has(id)),
      () =>
        `all ${ids.length} unsettled messages reach the next consumer (${ids.filter((id) => second.has(id)).length})`,
      ctx.redeliveryTimeoutMs,
    );
    ids.forEach((id, i) => {
      const delivery = second.deliveriesOf(id)[0] as RawDelivery;
      expectBytes(delivery.payload, messages[i]?.payload as Uint8Array, `payload of message ${i}`);
      expect(delivery.headers['x-n'], `header of message ${i}`).toBe(String(i));
      expect(delivery.deliveryCount, `deliveryCount of message ${i}`).toBeGreaterThanOrEqual(2);
      expect(delivery.redelivered, `redelivered of message ${i}`).toBe(true);
    });
    expect(second.duplicates(), 'messages the second consumer got twice').toEqual([]);
  },
});

/** A live consumer keeps what it holds, however long it works on it. */
export const heldNotStolen = defineScenario({
  id: 'held-not-stolen',
  guarantee:
    'a delivery held unsettled by an open subscription for more than 2 × redeliveryIdleMs is not given to another consumer of the group, and acking it afterwards works',
  needs: ['acknowledgements', 'competingConsumers'],
  async run(ctx) {
    const subject = ctx.subject();
    const group = ctx.group();
    const heldId = `held-${randomSuffix()}`;
    const holder = await ctx.consumer(subject, { group }, (delivery) =>
      delivery.id === heldId ? undefined : delivery.ack(),
    );
    await ctx.publisher().publish(subject, { payload: utf8('long job'), id: heldId });
    await ctx.until(() => holder.has(heldId), 'the first consumer holds the message');
    const other = await ctx.consumer(subject, { group });
    // The assertion is that nothing happens in this window: the other consumer must not get it.
    await observeFor(ctx.redeliveryIdleMs * 2 + Math.max(100, ctx.redeliveryIdleMs / 2));
    expect(other.has(heldId), 'the held message was given to the other consumer').toBe(false);
    expect(holder.deliveriesOf(heldId).length, 'deliveries of the held message to its holder').toBe(1);
    await withDeadline(
      (holder.deliveriesOf(heldId)[0] as RawDelivery).ack(),
      ctx.timeoutMs,
      'the late ack of the held message',
    );
    await flushWithMarker(ctx, subject, (id) => holder.has(id) || other.has(id));
    expect(other.has(heldId), 'the acked message was given to the other consumer').toBe(false);
    expect(holder.deliveriesOf(heldId).length, 'deliveries of the acked message').toBe(1);
  },
});
