import { ErrorCode, Header, type RawDelivery } from '@relaybus/core';
import { expect } from 'vitest';
import { randomSuffix, utf8 } from '../bytes.js';
import { holdAll } from '../consumer.js';
import { defineScenario } from '../scenario.js';
import {
  awaitDeadLetter,
  expectBytes,
  expectRelaybusError,
  flushWithMarker,
  MAX_NACKS_PER_MESSAGE,
  rejectionOf,
} from './expect.js';

/** An acked message is gone for good: a new consumer of the group never gets it. */
export const ackRemoves = defineScenario({
  id: 'ack-removes',
  guarantee:
    'an acked message is not delivered again, not even to a new consumer of the group after the first one closed (while an unsettled one from the same consumer does come back)',
  needs: ['acknowledgements', 'redeliveryAfterCrash'],
  async run(ctx) {
    const subject = ctx.subject();
    const group = ctx.group();
    // Two messages left unsettled on purpose bracket the acked ones: one published before them and
    // one after. A transport that redelivers a closed consumer's pending messages by id (a claim
    // scan) or by idle time (oldest first) reaches every acked message that wrongly stayed pending
    // before it has returned both brackets, even when it does so in several passes.
    const suffix = randomSuffix();
    const brackets = [`control-first-${suffix}`, `control-last-${suffix}`];
    const isBracket = (id: string) => brackets.includes(id);
    const acked = new Set<string>();
    const first = await ctx.consumer(subject, { group }, async (delivery) => {
      if (isBracket(delivery.id)) return; // left unsettled on purpose
      await delivery.ack();
      acked.add(delivery.id);
    });
    await ctx.publisher().publish(subject, { payload: utf8('control first'), id: brackets[0] });
    const results = await ctx.publisher().publishMany(
      subject,
      Array.from({ length: 10 }, (_, i) => ({ payload: utf8(`acked ${i}`) })),
    );
    await ctx.publisher().publish(subject, { payload: utf8('control last'), id: brackets[1] });
    await ctx.until(
      () => acked.size === results.length && brackets.every((id) => first.has(id)),
      () =>
        `the first consumer acked ${results.length} messages (${acked.size}) and holds both control messages`,
    );
    await first.subscription.close();

    const second = await ctx.consumer(subject, { group });
    // The unsettled control messages come back once the transport gives up on the closed consumer;
    // acked messages that wrongly stayed pending would come back by then too.
    await ctx.until(
      () => brackets.every((id) => second.has(id)),
      'both unsettled control messages are redelivered to the new consumer',
      ctx.redeliveryTimeoutMs,
    );
    await flushWithMarker(ctx, subject, (id) => second.has(id));
    const again = results.map((result) => result.id).filter((id) => second.has(id));
    expect(again, 'acked messages delivered again to the new consumer').toEqual([]);
  },
});

/** nack with requeue brings the message back, counted. */
export const nackRequeue = defineScenario({
  id: 'nack-requeue',
  guarantee:
    'nack({ requeue: true }) delivers the message again with the same id, payload and headers, deliveryCount + 1 and redelivered = true',
  needs: ['acknowledgements', 'requeue'],
  async run(ctx) {
    const subject = ctx.subject();
    const payload = utf8(`requeue me ${randomSuffix()}`);
    const headers = { 'x-app': 'kept ✓' };
    const consumer = await ctx.consumer(subject, {}, async (delivery) => {
      if (consumer.deliveriesOf(delivery.id).length < 3) await delivery.nack({ requeue: true });
      else await delivery.ack();
    });
    const { id } = await ctx.publisher().publish(subject, { payload, headers });
    await ctx.until(
      () => consumer.deliveriesOf(id).length >= 3,
      () => `the message is delivered 3 times (nacked twice); seen ${consumer.deliveriesOf(id).length}`,
    );
    const deliveries = consumer.deliveriesOf(id);
    expect(
      deliveries.map((d) => d.deliveryCount),
      'deliveryCount of the first three deliveries',
    ).toEqual([1, 2, 3]);
    expect(
      deliveries.map((d) => d.redelivered),
      'redelivered of the first three deliveries',
    ).toEqual([false, true, true]);
    for (const delivery of deliveries) {
      expect(delivery.id).toBe(id);
      expectBytes(delivery.payload, payload, `payload of delivery ${delivery.deliveryCount}`);
      expect(delivery.headers['x-app'], `header of delivery ${delivery.deliveryCount}`).toBe('kept ✓');
    }
    await ctx.until(() => deliveries[2]?.settled === true, 'the third delivery is acked');
    await flushWithMarker(ctx, subject, (marker) => consumer.has(marker));
    expect(consumer.deliveriesOf(id).length, 'deliveries after the ack of the third').toBe(3);
  },
});

async function expectAlreadySettled(call: () => Promise<unknown>, what: string): Promise<void> {
  const error = await rejectionOf(call, what);
  expectRelaybusError(error, ErrorCode.AlreadySettled, 'AlreadySettledError', what);
}

/** Settling twice is an error, never a silent second settlement. */
export const doubleSettlement = defineScenario({
  id: 'double-settlement',
  guarantee:
    'a second settlement (ack/ack, ack/nack, nack/ack, nack/nack) rejects with AlreadySettledError (code RELAYBUS_ALREADY_SETTLED) and settled turns true at the first',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject, {}, holdAll);
    const results = await ctx.publisher().publishMany(
      subject,
      Array.from({ length: 4 }, (_, i) => ({ payload: utf8(`settle ${i}`) })),
    );
    await ctx.until(
      () => results.every((result) => consumer.has(result.id)),
      'the four messages are delivered',
    );
    const [a, b, c, d] = results.map((result) => consumer.deliveriesOf(result.id)[0]) as RawDelivery[];
    if (a === undefined || b === undefined || c === undefined || d === undefined)
      throw new Error('unreachable');
    for (const delivery of [a, b, c, d])
      expect(delivery.settled, 'settled before any settlement').toBe(false);

    await a.ack();
    expect(a.settled, 'settled after ack').toBe(true);
    await expectAlreadySettled(() => a.ack(), 'ack after ack');

    await b.ack();
    await expectAlreadySettled(() => b.nack({ requeue: false, reason: 'conformance' }), 'nack after ack');
    await expectAlreadySettled(() => b.nack(), 'nack() after ack');

    await c.nack({ requeue: false, reason: 'conformance' });
    expect(c.settled, 'settled after nack').toBe(true);
    await expectAlreadySettled(() => c.ack(), 'ack after nack');

    const requeue = ctx.capabilities.requeue;
    await d.nack(requeue ? { requeue: true } : { requeue: false, reason: 'conformance' });
    await expectAlreadySettled(() => d.nack({ requeue: false, reason: 'conformance' }), 'nack after nack');
    await expectAlreadySettled(() => d.ack(), 'ack after nack');
  },
});

/** Without a dead-letter store, nack without requeue drops the message. */
export const rejectDrops = defineScenario({
  id: 'reject-drops',
  guarantee: 'without dead letters, nack({ requeue: false }) drops the message: it is not delivered again',
  needs: ['acknowledgements', { not: 'deadLetter' }],
  async run(ctx) {
    const subject = ctx.subject();
    const rejectId = `reject-${randomSuffix()}`;
    const consumer = await ctx.consumer(subject, {}, (delivery) =>
      delivery.id === rejectId && consumer.deliveriesOf(rejectId).length === 1
        ? delivery.nack({ requeue: false, reason: 'conformance' })
        : delivery.ack(),
    );
    await ctx.publisher().publish(subject, { payload: utf8('rejected'), id: rejectId });
    await ctx.until(() => consumer.deliveriesOf(rejectId)[0]?.settled === true, 'the message is nacked');
    await flushWithMarker(ctx, subject, (id) => consumer.has(id));
    expect(consumer.deliveriesOf(rejectId).length, 'deliveries of the dropped message').toBe(1);
  },
});

/** nack without requeue dead-letters, with the reason, subject and count in headers. */
export const deadLetter = defineScenario({
  id: 'dead-letter',
  guarantee: `nack({ requeue: false, reason }) moves the message to deadLetters(subject), newest first, with ${Header.deadLetterReason}, ${Header.originalSubject} and ${Header.deliveryCount} headers, and does not deliver it again`,
  needs: ['acknowledgements', 'deadLetter'],
  async run(ctx) {
    const subject = ctx.subject();
    const nackOrder: string[] = [];
    const consumer = await ctx.consumer(subject, {}, async (delivery) => {
      if (consumer.deliveriesOf(delivery.id).length > 1) return delivery.ack(); // must not happen
      await delivery.nack({ requeue: false, reason: `conformance ✓ ${delivery.headers['x-n']}` });
      nackOrder.push(delivery.id);
    });
    const payloads = [utf8('dead one'), utf8('dead two')];
    const ids: string[] = [];
    for (const [n, payload] of payloads.entries()) {
      ids.push((await ctx.publisher().publish(subject, { payload, headers: { 'x-n': String(n) } })).id);
    }
    await ctx.until(() => nackOrder.length === 2, 'both messages are nacked');
    for (const [n, id] of ids.entries()) {
      const stored = await awaitDeadLetter(ctx, subject, id);
      expectBytes(stored.payload, payloads[n] as Uint8Array, `payload of dead letter ${n}`);
      expect(stored.headers[Header.deadLetterReason], 'dead-letter reason').toBe(`conformance ✓ ${n}`);
      expect(stored.headers[Header.originalSubject], 'original subject').toBe(subject);
      expect(stored.headers[Header.deliveryCount], 'delivery count').toBe('1');
      expect(stored.headers['x-n'], 'the application header is kept').toBe(String(n));
    }
    const newest = await ctx.transport.deadLetters?.(subject, { limit: 1 });
    const lastNacked = nackOrder[1] as string;
    expect(newest?.length, 'deadLetters(subject, { limit: 1 }) length').toBe(1);
    expect(
      newest?.[0]?.id === lastNacked || newest?.[0]?.headers[Header.originalId] === lastNacked,
      'deadLetters() is newest first: limit 1 returns the last nacked message',
    ).toBe(true);
    await flushWithMarker(ctx, subject, (id) => consumer.has(id));
    for (const id of ids) expect(consumer.deliveriesOf(id).length, 'deliveries of a dead letter').toBe(1);
  },
});

/** maxDeliveries caps redeliveries and dead-letters the message. */
export const maxDeliveries = defineScenario({
  id: 'max-deliveries',
  guarantee:
    'with SubscribeOptions.maxDeliveries 3, a message nacked every time is delivered 3 times, then dead-lettered with reason max-deliveries',
  needs: ['acknowledgements', 'requeue', 'deadLetter'],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject, { maxDeliveries: 3 }, (delivery) =>
      consumer.deliveriesOf(delivery.id).length < MAX_NACKS_PER_MESSAGE
        ? delivery.nack({ requeue: true })
        : delivery.ack(),
    );
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('always fails') });
    const stored = await awaitDeadLetter(ctx, subject, id);
    expect(
      consumer.deliveriesOf(id).map((d) => d.deliveryCount),
      'deliveryCount of each delivery',
    ).toEqual([1, 2, 3]);
    expect(stored.headers[Header.deadLetterReason], 'dead-letter reason').toMatch(/^max-deliveries/);
    expect(stored.headers[Header.deliveryCount], 'delivery count header').toBe('3');
    await flushWithMarker(ctx, subject, (marker) => consumer.has(marker));
    expect(consumer.deliveriesOf(id).length, 'deliveries after dead-lettering').toBe(3);
  },
});

/** Redeliveries this many deep without the event loop turning count as starving it. */
const STARVATION_LIMIT = 1_000;

/** A requeue loop must leave the process room to breathe. */
export const requeueYields = defineScenario({
  id: 'requeue-yields',
  guarantee: `a message nacked with requeue (no delay) over and over does not starve the event loop: a timer set at the first delivery fires within ${STARVATION_LIMIT} redeliveries`,
  needs: ['acknowledgements', 'requeue'],
  async run(ctx) {
    const subject = ctx.subject();
    let timerFired = false;
    let gaveUp = false;
    const consumer = await ctx.consumer(subject, {}, (delivery) => {
      const seen = consumer.deliveriesOf(delivery.id).length;
      if (seen === 1) {
        setTimeout(() => {
          timerFired = true;
        }, 0);
      }
      if (timerFired) return delivery.ack();
      if (seen > STARVATION_LIMIT) {
        // Ends the loop on a transport that never yields, so the suite itself is not frozen.
        gaveUp = true;
        return delivery.ack();
      }
      return delivery.nack({ requeue: true });
    });
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('poison') });
    await ctx.until(() => timerFired || gaveUp, 'the requeue loop ends');
    await ctx.until(() => consumer.deliveriesOf(id).at(-1)?.settled === true, 'the last delivery is acked');
    expect(
      gaveUp,
      `a setTimeout(0) set at the first delivery had not run after ${STARVATION_LIMIT} redeliveries: requeueing runs without yielding to the event loop, so a poisoned message freezes the process (timers, I/O, shutdown deadlines)`,
    ).toBe(false);
  },
});
