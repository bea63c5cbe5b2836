import { ErrorCode, type RawDelivery } from '@relaybus/core';
import { expect } from 'vitest';
import { randomSuffix, utf8 } from '../bytes.js';
import { holdAll } from '../consumer.js';
import { defineScenario } from '../scenario.js';
import { withDeadline } from '../wait.js';
import { expectRelaybusError, rejectionOf } from './expect.js';

/** `for await` over a subscription ends once it is closed. */
export const closeEndsIteration = defineScenario({
  id: 'close-ends-iteration',
  guarantee:
    'close() ends a running for-await loop (and one started after close) without an error, and closed turns true',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('one') });
    await ctx.until(() => consumer.has(id), 'the loop is running (a message was delivered)');
    expect(consumer.subscription.closed, 'closed before close()').toBe(false);
    await withDeadline(consumer.subscription.close(), ctx.timeoutMs, 'subscription.close()');
    expect(consumer.subscription.closed, 'closed after close()').toBe(true);
    await ctx.until(() => consumer.ended, 'the for-await loop ends after close()');
    expect(consumer.failure, 'the loop ended without an error').toBeUndefined();

    const idle = await ctx.subscribe(subject, { group: ctx.group() });
    await idle.close();
    const later = ctx.consume(idle);
    await ctx.until(() => later.ended, 'a for-await loop started after close() ends at once');
    expect(later.failure, 'that loop ended without an error').toBeUndefined();
  },
});

/** Concurrent and repeated close calls all resolve. */
export const closeConcurrent = defineScenario({
  id: 'close-concurrent',
  guarantee: 'concurrent and repeated close() calls on a subscription all resolve',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('one') });
    await ctx.until(() => consumer.has(id), 'a message is delivered');
    const subscription = consumer.subscription;
    await withDeadline(
      Promise.all([subscription.close(), subscription.close(), subscription.close()]),
      ctx.timeoutMs,
      'three concurrent close() calls',
    );
    await withDeadline(subscription.close(), ctx.timeoutMs, 'a close() after close()');
    expect(subscription.closed, 'closed').toBe(true);
    await ctx.until(() => consumer.ended, 'the for-await loop ends');
  },
});

/** An AbortSignal closes the subscription. */
export const abortSignal = defineScenario({
  id: 'abort-signal',
  guarantee:
    'aborting the signal given to subscribe closes the subscription and ends its for-await loop; an already aborted signal yields a closed subscription (or a rejected subscribe)',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const controller = new AbortController();
    const consumer = await ctx.consumer(subject, { signal: controller.signal });
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('one') });
    await ctx.until(() => consumer.has(id), 'the loop is running (a message was delivered)');
    controller.abort();
    await ctx.until(
      () => consumer.ended && consumer.subscription.closed,
      () =>
        `the loop ends (${consumer.ended}) and closed is true (${consumer.subscription.closed}) after abort()`,
    );
    expect(consumer.failure, 'the loop ended without an error').toBeUndefined();

    let early: Awaited<ReturnType<typeof ctx.subscribe>> | undefined;
    try {
      early = await ctx.subscribe(subject, { group: ctx.group(), signal: AbortSignal.abort() });
    } catch (error) {
      // Rejecting is fine too, as long as it is an error and not a hang.
      expect(error, 'subscribe with an aborted signal rejects with an Error').toBeInstanceOf(Error);
      return;
    }
    expect(early.closed, 'a subscription made with an aborted signal is closed').toBe(true);
    const loop = ctx.consume(early);
    await ctx.until(() => loop.ended, 'iterating a subscription made with an aborted signal ends at once');
  },
});

/** Deliveries in flight when the subscription closes are not lost. */
export const closeInFlight = defineScenario({
  id: 'close-in-flight',
  guarantee:
    'after close(), acking an in-flight delivery either works (and it is not redelivered) or the delivery comes back to the group: nothing is lost',
  needs: ['acknowledgements'],
  async run(ctx) {
    const subject = ctx.subject();
    const group = ctx.group();
    // Unsettled controls before and after the in-flight messages: by the time a transport has
    // returned both, it has returned whatever it kept pending in between (see ack-removes).
    const suffix = randomSuffix();
    const brackets = [`control-first-${suffix}`, `control-last-${suffix}`];
    const first = await ctx.consumer(subject, { group }, holdAll);
    await ctx.publisher().publish(subject, { payload: utf8('control first'), id: brackets[0] });
    const results = await ctx.publisher().publishMany(
      subject,
      Array.from({ length: 3 }, (_, i) => ({ payload: utf8(`in flight ${i}`) })),
    );
    await ctx.publisher().publish(subject, { payload: utf8('control last'), id: brackets[1] });
    const ids = results.map((result) => result.id);
    await ctx.until(
      () => [...ids, ...brackets].every((id) => first.has(id)),
      'the consumer holds all five messages',
    );
    await withDeadline(first.subscription.close(), ctx.timeoutMs, 'subscription.close()');

    const ackedAfterClose: string[] = [];
    const ackFailed: string[] = [];
    for (const id of ids) {
      const delivery = first.deliveriesOf(id)[0] as RawDelivery;
      try {
        await withDeadline(delivery.ack(), ctx.timeoutMs, 'ack() after close()');
        ackedAfterClose.push(id);
      } catch {
        ackFailed.push(id);
      }
    }
    if (!ctx.capabilities.redeliveryAfterCrash) {
      expect(
        ackFailed,
        'acks after close() that failed, on a transport that does not redeliver (the messages are lost)',
      ).toEqual([]);
      return;
    }
    const second = await ctx.consumer(subject, { group });
    await ctx.until(
      () => [...brackets, ...ackFailed].every((id) => second.has(id)),
      () =>
        `the unsettled control messages${ackFailed.length > 0 ? ` and the ${ackFailed.length} messages whose ack failed` : ''} come back`,
      ctx.redeliveryTimeoutMs,
    );
    const redelivered = ackedAfterClose.filter((id) => second.has(id));
    expect(redelivered, 'messages acked after close() that were delivered again').toEqual([]);
  },
});

/** A closed transport refuses new work with ClosedError and ends its subscriptions. */
export const publishAfterClose = defineScenario({
  id: 'publish-after-close',
  guarantee:
    'transport.close() ends open subscriptions; afterwards publish, publishMany and subscribe reject with ClosedError (code RELAYBUS_CLOSED) and close() again resolves',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const publisher = ctx.transport.publisher();
    const { id } = await publisher.publish(subject, { payload: utf8('before close') });
    await ctx.until(() => consumer.has(id), 'a message is delivered before close');
    await withDeadline(ctx.transport.close(), ctx.timeoutMs, 'transport.close()');
    await ctx.until(
      () => consumer.ended && consumer.subscription.closed,
      'transport.close() ends the for-await loop of an open subscription and closes it',
    );
    for (const [what, call] of [
      ['publish after close', () => publisher.publish(subject, { payload: utf8('after close') })],
      ['publishMany after close', () => publisher.publishMany(subject, [{ payload: utf8('after close') }])],
      ['subscribe after close', () => ctx.transport.subscribe(subject, { group: `late-${randomSuffix()}` })],
    ] as const) {
      const error = await rejectionOf(call, what);
      expectRelaybusError(error, ErrorCode.Closed, 'ClosedError', what);
    }
    await withDeadline(ctx.transport.close(), ctx.timeoutMs, 'a second transport.close()');
  },
});

/** `poll()`, where a subscription offers it, draws from the iterator's queue. */
export const pollSharesQueue = defineScenario({
  id: 'poll-shares-queue',
  guarantee:
    'where a subscription offers poll(), it takes buffered deliveries from the queue the iterator reads: mixing poll() and the iterator, every message arrives exactly once (in publish order where ordering is total), and poll() returns undefined when nothing is buffered and after close()',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const subscription = await ctx.subscribe(subject, { prefetch: 64 });
    const poll = subscription.poll?.bind(subscription);
    // Optional in the contract: a subscription without poll() has nothing to check here.
    if (poll === undefined) return;
    const count = 40;
    const published = await ctx.publisher().publishMany(
      subject,
      Array.from({ length: count }, (_, i) => ({ payload: utf8(`poll-${i}-${randomSuffix()}`) })),
    );
    const ids = published.map((result) => result.id);
    const iterator = subscription[Symbol.asyncIterator]();
    const seen: string[] = [];
    let polled = 0;
    const deadline = Date.now() + ctx.timeoutMs;
    while (seen.length < count && Date.now() < deadline) {
      // Two polls, then one step of the iterator, and so on: both paths take turns.
      let delivery: RawDelivery | undefined = seen.length % 3 === 2 ? undefined : poll();
      if (delivery !== undefined) polled++;
      else {
        const next = await withDeadline(
          iterator.next(),
          Math.max(1, deadline - Date.now()),
          `delivery ${seen.length + 1} of ${count} from the iterator`,
        ).catch(() => undefined);
        if (next === undefined || next.done === true) break;
        delivery = next.value;
      }
      seen.push(delivery.id);
      await delivery.ack();
    }
    expect(
      [...seen].sort(),
      `every published message, once, through poll() (${polled}) and the iterator together`,
    ).toEqual([...ids].sort());
    if (ctx.capabilities.ordering === 'total') {
      expect(seen, 'publish order across poll() and the iterator').toEqual(ids);
    }
    expect(poll(), 'poll() with nothing buffered').toBeUndefined();
    await subscription.close();
    expect(poll(), 'poll() after close()').toBeUndefined();
  },
});
