import { expect } from 'vitest';
import { randomSuffix, utf8 } from '../bytes.js';
import { defineScenario } from '../scenario.js';

/** The delay used by the delay scenarios. */
const DELAY_MS = 400;
/** Timer and clock granularity allowed when checking "not before the delay". */
const EARLY_TOLERANCE_MS = 20;

/** A delayed requeue waits, and does not hold up other messages meanwhile. */
export const nackRequeueDelay = defineScenario({
  id: 'nack-requeue-delay',
  guarantee: `nack({ requeue: true, delayMs: ${DELAY_MS} }) redelivers no sooner than the delay, then soon after, and meanwhile other messages flow`,
  needs: ['acknowledgements', 'requeue', 'delayedRequeue'],
  async run(ctx) {
    const subject = ctx.subject();
    const delayedId = `delayed-${randomSuffix()}`;
    let nackedAt: number | undefined;
    const consumer = await ctx.consumer(subject, {}, async (delivery) => {
      if (delivery.id === delayedId && consumer.deliveriesOf(delayedId).length === 1) {
        nackedAt = performance.now();
        await delivery.nack({ requeue: true, delayMs: DELAY_MS });
      } else {
        await delivery.ack();
      }
    });
    await ctx.publisher().publish(subject, { payload: utf8('retry me later'), id: delayedId });
    await ctx.until(() => nackedAt !== undefined, 'the message is delivered and nacked with a delay');
    const { id: laterId } = await ctx
      .publisher()
      .publish(subject, { payload: utf8('published after the nack') });
    await ctx.until(
      () => consumer.deliveriesOf(delayedId).length >= 2 && consumer.has(laterId),
      'the delayed message comes back and the later message is delivered',
      DELAY_MS + ctx.timeoutMs,
    );
    const redeliveredAt = consumer.arrivalOf(delayedId, 1) as number;
    const waitedMs = redeliveredAt - (nackedAt as number);
    expect(waitedMs, `milliseconds between nack and redelivery (delay ${DELAY_MS})`).toBeGreaterThanOrEqual(
      DELAY_MS - EARLY_TOLERANCE_MS,
    );
    expect(
      (consumer.arrivalOf(laterId) as number) < redeliveredAt,
      'a message published after the delayed nack is delivered before the delayed redelivery',
    ).toBe(true);
    const again = consumer.deliveriesOf(delayedId)[1];
    expect(again?.deliveryCount, 'deliveryCount of the delayed redelivery').toBe(2);
    expect(again?.redelivered, 'redelivered of the delayed redelivery').toBe(true);
  },
});

/** A delayed publish is held back for its delay, and does not hold up other messages. */
export const delayedPublish = defineScenario({
  id: 'delayed-publish',
  guarantee: `publish(…, { delayMs: ${DELAY_MS} }) delivers no sooner than the delay, then soon after, and a message published next without delay arrives first`,
  needs: ['delayedPublish'],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const publishedAt = performance.now();
    const { id: delayedId } = await ctx
      .publisher()
      .publish(subject, { payload: utf8('later'), delayMs: DELAY_MS });
    const { id: nowId } = await ctx.publisher().publish(subject, { payload: utf8('now') });
    await ctx.until(
      () => consumer.has(delayedId) && consumer.has(nowId),
      'both the delayed and the immediate message are delivered',
      DELAY_MS + ctx.timeoutMs,
    );
    const delayedAt = consumer.arrivalOf(delayedId) as number;
    expect(
      delayedAt - publishedAt,
      `milliseconds between publish and delivery (delay ${DELAY_MS})`,
    ).toBeGreaterThanOrEqual(DELAY_MS - EARLY_TOLERANCE_MS);
    expect(
      (consumer.arrivalOf(nowId) as number) < delayedAt,
      'the immediate message arrives before the delayed one',
    ).toBe(true);
    expect(consumer.deliveriesOf(delayedId)[0]?.deliveryCount, 'a delayed message is a first delivery').toBe(
      1,
    );
  },
});
