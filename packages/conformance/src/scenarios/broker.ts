import { type Delivery, Header, jsonCodec, Reject } from '@relaybus/core';
import { expect } from 'vitest';
import { randomSuffix } from '../bytes.js';
import type { ScenarioContext } from '../context.js';
import { formatRecords } from '../logger.js';
import { defineScenario } from '../scenario.js';
import { awaitDeadLetter, expectBytes, MAX_NACKS_PER_MESSAGE } from './expect.js';

interface Call {
  readonly body: unknown;
  readonly delivery: Delivery;
}

/** Calls of a handler, by message id. */
class Calls {
  readonly all: Call[] = [];

  record(body: unknown, delivery: Delivery): void {
    this.all.push({ body, delivery });
  }

  of(id: string): Call[] {
    return this.all.filter((call) => call.delivery.id === id);
  }

  has(id: string): boolean {
    return this.all.some((call) => call.delivery.id === id);
  }
}

function expectNoBrokerErrors(ctx: ScenarioContext): void {
  const errors = ctx.logs('error');
  expect(errors.length, `errors the Broker logged:\n${formatRecords(errors)}`).toBe(0);
}

/** Bodies survive encode → transport → decode, whatever codec the publisher used. */
export const brokerRoundTrip = defineScenario({
  id: 'broker-round-trip',
  guarantee:
    'a Broker handler receives bodies published by Brokers with msgpack and JSON codecs (and publishMany) decoded by their content type, whatever codec the consuming Broker defaults to',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const jsonSubject = ctx.subject('json');
    const msgpackBroker = ctx.broker();
    const jsonBroker = ctx.broker({ codec: jsonCodec });
    const calls = new Calls();
    const jsonCalls = new Calls();
    await msgpackBroker.subscribe(subject, (body, delivery) => calls.record(body, delivery), {
      group: ctx.group(),
    });
    await jsonBroker.subscribe(jsonSubject, (body, delivery) => jsonCalls.record(body, delivery), {
      group: ctx.group(),
    });

    const msgpackBody = {
      text: 'héllo ✓ 🚀',
      n: 42,
      float: 1.5,
      nested: { list: [1, 'two', null, true] },
      bytes: new Uint8Array([0, 1, 254, 255]),
      when: new Date('2024-01-02T03:04:05.678Z'),
    };
    const jsonBody = { text: 'ключ ✓', n: -7, nested: { list: [1, 'two', null, false] } };
    const sent = new Map<string, { body: unknown; contentType: string }>();
    const viaMsgpack = await msgpackBroker.publish(subject, msgpackBody, { headers: { 'x-app': 'kept' } });
    sent.set(viaMsgpack.id, { body: msgpackBody, contentType: 'application/msgpack' });
    const viaJson = await jsonBroker.publish(subject, jsonBody);
    sent.set(viaJson.id, { body: jsonBody, contentType: 'application/json' });
    const viaOverride = await msgpackBroker.publish(subject, ['per', 'message', 'codec'], {
      codec: jsonCodec,
    });
    sent.set(viaOverride.id, { body: ['per', 'message', 'codec'], contentType: 'application/json' });
    const batch = await msgpackBroker.publishMany<unknown>(subject, [
      { body: 'first' },
      { body: { second: 2 } },
    ]);
    sent.set(batch[0]?.id as string, { body: 'first', contentType: 'application/msgpack' });
    sent.set(batch[1]?.id as string, { body: { second: 2 }, contentType: 'application/msgpack' });
    const toJsonConsumer = await msgpackBroker.publish(jsonSubject, msgpackBody);

    await ctx.until(
      () => [...sent.keys()].every((id) => calls.has(id)) && jsonCalls.has(toJsonConsumer.id),
      () =>
        `every message is handled (${calls.all.length}/${sent.size}, json consumer ${jsonCalls.all.length}/1)`,
    );
    for (const [id, { body, contentType }] of sent) {
      const [call] = calls.of(id);
      expect(call?.body, `body of the ${contentType} message ${id}`).toEqual(body);
      expect(call?.delivery.headers[Header.contentType], `content type of ${id}`).toBe(contentType);
      expect(calls.of(id).length, `handler calls for ${id}`).toBe(1);
    }
    expect(calls.of(viaMsgpack.id)[0]?.delivery.headers['x-app'], 'a header set with broker.publish').toBe(
      'kept',
    );
    expect(
      jsonCalls.of(toJsonConsumer.id)[0]?.body,
      'a msgpack body decoded by a JSON-default Broker',
    ).toEqual(msgpackBody);
    expectNoBrokerErrors(ctx);
  },
});

const GARBAGE = new Uint8Array([0xc1, 0x00, 0xff, 0xfe, 0x00, 0xc1]);

async function publishGarbageThenGood(ctx: ScenarioContext, subject: string, calls: Calls) {
  const broker = ctx.broker();
  await broker.subscribe(subject, (body, delivery) => calls.record(body, delivery), { group: ctx.group() });
  const bad = await ctx.publisher().publish(subject, {
    payload: GARBAGE,
    headers: { [Header.contentType]: 'application/msgpack' },
  });
  const good = await broker.publish(subject, { ok: true });
  await ctx.until(() => calls.has(good.id), 'the good message after the undecodable one is handled');
  expect(calls.has(bad.id), 'the handler was called with the undecodable message').toBe(false);
  expect(calls.of(good.id)[0]?.body, 'body of the good message').toEqual({ ok: true });
  return { badId: bad.id, goodId: good.id };
}

/** Bad bytes do not stop a Broker subscription. */
export const brokerDecodeFailedContinues = defineScenario({
  id: 'broker-decode-failed-continues',
  guarantee:
    'a payload that cannot be decoded never reaches the handler, and the next good message is still handled',
  needs: [],
  async run(ctx) {
    await publishGarbageThenGood(ctx, ctx.subject(), new Calls());
    expectNoBrokerErrors(ctx);
  },
});

/** Bad bytes are dead-lettered with a decode-failed reason. */
export const brokerDecodeFailed = defineScenario({
  id: 'broker-decode-failed',
  guarantee:
    'a payload that cannot be decoded is dead-lettered by the Broker with a reason starting decode-failed, and the next good message is still handled',
  needs: ['deadLetter'],
  async run(ctx) {
    const subject = ctx.subject();
    const { badId } = await publishGarbageThenGood(ctx, subject, new Calls());
    const stored = await awaitDeadLetter(ctx, subject, badId);
    expect(stored.headers[Header.deadLetterReason], 'dead-letter reason').toMatch(/^decode-failed/);
    expectBytes(stored.payload, GARBAGE, 'payload of the dead letter');
    expectNoBrokerErrors(ctx);
  },
});

/** A handler that returns acks its message. */
export const brokerAutoAck = defineScenario({
  id: 'broker-auto-ack',
  guarantee: 'a Broker acks a delivery once its handler returns, and the handler runs once per message',
  needs: ['acknowledgements'],
  async run(ctx) {
    const subject = ctx.subject();
    const broker = ctx.broker();
    const calls = new Calls();
    await broker.subscribe(subject, async (body, delivery) => calls.record(body, delivery), {
      group: ctx.group(),
    });
    const first = await broker.publish(subject, { n: 1 });
    await ctx.until(
      () => calls.of(first.id)[0]?.delivery.settled === true,
      'the handled delivery is settled',
    );
    const second = await broker.publish(subject, { n: 2 });
    await ctx.until(() => calls.has(second.id), 'a second message is handled');
    expect(calls.of(first.id).length, 'handler calls for the first message').toBe(1);
    expectNoBrokerErrors(ctx);
  },
});

/** A handler that throws gets the message again, and success then acks it. */
export const brokerRetry = defineScenario({
  id: 'broker-retry',
  guarantee:
    'a Broker retries a message whose handler threw (deliveryCount 2) and acks it when the handler then succeeds',
  needs: ['acknowledgements', 'requeue'],
  async run(ctx) {
    const subject = ctx.subject();
    const broker = ctx.broker();
    const calls = new Calls();
    await broker.subscribe(
      subject,
      (body, delivery) => {
        calls.record(body, delivery);
        if (delivery.deliveryCount === 1 && calls.of(delivery.id).length < MAX_NACKS_PER_MESSAGE) {
          throw new Error('transient failure');
        }
      },
      { group: ctx.group(), retry: { maxDeliveries: 5, backoff: { kind: 'fixed', delayMs: 20 } } },
    );
    const { id } = await broker.publish(subject, { job: 'flaky' });
    await ctx.until(
      () => calls.of(id).length >= 2 && calls.of(id)[1]?.delivery.settled === true,
      () => `the message is retried and the second attempt settled (calls: ${calls.of(id).length})`,
    );
    const marker = await broker.publish(subject, { job: 'marker' });
    await ctx.until(() => calls.has(marker.id), 'a later message is handled');
    expect(
      calls.of(id).map((call) => call.delivery.deliveryCount),
      'deliveryCount of each handler call',
    ).toEqual([1, 2]);
    if (ctx.capabilities.deadLetter) {
      const deadLetters = (await ctx.transport.deadLetters?.(subject)) ?? [];
      expect(deadLetters.length, 'dead letters after a successful retry').toBe(0);
    }
    expectNoBrokerErrors(ctx);
  },
});

/** A handler that always throws is given up on after the policy's max deliveries. */
export const brokerRetryMaxDeliveries = defineScenario({
  id: 'broker-retry-max-deliveries',
  guarantee:
    'with retry { maxDeliveries: 3, backoff: none }, a handler that always throws runs 3 times, then the message is dead-lettered with reason max-deliveries',
  needs: ['acknowledgements', 'requeue', 'deadLetter'],
  async run(ctx) {
    const subject = ctx.subject();
    const broker = ctx.broker();
    const calls = new Calls();
    await broker.subscribe(
      subject,
      (body, delivery) => {
        calls.record(body, delivery);
        // Reject ends a retry loop the transport and the policy failed to end (reason tells).
        if (calls.of(delivery.id).length >= MAX_NACKS_PER_MESSAGE) throw new Reject('retried without end');
        throw new Error(`permanent failure ${randomSuffix()}`);
      },
      { group: ctx.group(), retry: { maxDeliveries: 3, backoff: { kind: 'none' } } },
    );
    const { id } = await broker.publish(subject, { job: 'doomed' });
    const stored = await awaitDeadLetter(ctx, subject, id);
    expect(stored.headers[Header.deadLetterReason], 'dead-letter reason').toMatch(/^max-deliveries/);
    expect(
      calls.of(id).map((call) => call.delivery.deliveryCount),
      'deliveryCount of each handler call',
    ).toEqual([1, 2, 3]);
    expectNoBrokerErrors(ctx);
  },
});

/** Throwing Reject gives up at once. */
export const brokerReject = defineScenario({
  id: 'broker-reject',
  guarantee:
    'a handler throwing Reject dead-letters the message at once (one call, reason rejected: <message>)',
  needs: ['acknowledgements', 'deadLetter'],
  async run(ctx) {
    const subject = ctx.subject();
    const broker = ctx.broker();
    const calls = new Calls();
    await broker.subscribe(
      subject,
      (body, delivery) => {
        calls.record(body, delivery);
        throw new Reject('bad input');
      },
      { group: ctx.group() },
    );
    const { id } = await broker.publish(subject, { job: 'invalid' });
    const stored = await awaitDeadLetter(ctx, subject, id);
    expect(stored.headers[Header.deadLetterReason], 'dead-letter reason').toMatch(/^rejected.*bad input/);
    expect(stored.headers[Header.deliveryCount], 'delivery count header').toBe('1');
    expect(calls.of(id).length, 'handler calls').toBe(1);
    expectNoBrokerErrors(ctx);
  },
});
