import { Header } from '@relaybus/core';
import { expect } from 'vitest';
import { binaryPayload, randomPayload, randomSuffix, utf8 } from '../bytes.js';
import { defineScenario } from '../scenario.js';
import { expectBytes, unexpectedHeaders } from './expect.js';

/** Body bytes survive the trip exactly, and a first delivery looks like one. */
export const roundTripBody = defineScenario({
  id: 'round-trip-body',
  guarantee:
    'delivers the payload bytes exactly as published (every byte value, zero bytes, an empty payload, UTF-8), on its subject, as a first delivery',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const mutable = utf8('the caller reuses this buffer');
    const payloads = [
      binaryPayload(),
      new Uint8Array([0, 0, 0, 0]),
      new Uint8Array(0),
      utf8('héllo ✓ 🚀 ∑'),
      mutable,
    ];
    const expected = payloads.map((payload) => payload.slice());
    const ids: string[] = [];
    for (const payload of payloads) ids.push((await ctx.publisher().publish(subject, { payload })).id);
    // The publish promise resolved: the message is the transport's now, not the caller's buffer.
    mutable.fill(0x21);
    await ctx.until(
      () => ids.every((id) => consumer.has(id)),
      () => `all ${ids.length} payloads are delivered (got ${consumer.count})`,
    );
    ids.forEach((id, i) => {
      const [delivery] = consumer.deliveriesOf(id);
      expectBytes(delivery?.payload, expected[i] as Uint8Array, `payload #${i}`);
      expect(delivery?.subject, 'delivery.subject').toBe(subject);
      expect(delivery?.deliveryCount, 'deliveryCount of a first delivery').toBe(1);
      expect(delivery?.redelivered, 'redelivered of a first delivery').toBe(false);
    });
  },
});

/** Application headers survive, with unicode keys and values. */
export const roundTripHeaders = defineScenario({
  id: 'round-trip-headers',
  guarantee:
    'delivers every published header unchanged (unicode keys and values, empty values) and adds none but reserved x-relaybus- ones',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const headers: Record<string, string> = {
      'x-app-trace': `trace-${randomSuffix()}`,
      ключ: 'значение',
      'emoji-🔑': '値 ✓ 🚀',
      'mixed-Case-Key': 'Value With  Spaces',
      'empty-value': '',
      json: '{"a":[1,2,{"b":"c"}]}',
    };
    const { id } = await ctx.publisher().publish(subject, { payload: utf8('with headers'), headers });
    await ctx.until(() => consumer.has(id), `message ${id} is delivered`);
    const delivered = consumer.deliveriesOf(id)[0]?.headers ?? {};
    for (const [key, value] of Object.entries(headers)) {
      expect(delivered[key], `header ${JSON.stringify(key)}`).toBe(value);
    }
    expect(unexpectedHeaders(delivered, headers), 'headers the transport added').toEqual([]);
  },
});

/** The content type the codec wrote travels with the message. */
export const contentTypeHeader = defineScenario({
  id: 'content-type-header',
  guarantee: `delivers the ${Header.contentType} header as published, so the consumer picks the right codec`,
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const contentTypes = [
      'application/msgpack',
      'application/json',
      'application/vnd.conformance+json; charset=utf-8',
    ];
    const ids: string[] = [];
    for (const contentType of contentTypes) {
      const published = await ctx
        .publisher()
        .publish(subject, { payload: utf8('{}'), headers: { [Header.contentType]: contentType } });
      ids.push(published.id);
    }
    await ctx.until(() => ids.every((id) => consumer.has(id)), 'every message is delivered');
    ids.forEach((id, i) => {
      expect(consumer.deliveriesOf(id)[0]?.headers[Header.contentType], 'content type').toBe(contentTypes[i]);
    });
  },
});

/** Ids: a given id is kept, a generated one is returned by publish and carried by the delivery. */
export const messageId = defineScenario({
  id: 'message-id',
  guarantee:
    'keeps a given message id; a generated id is unique, returned by publish and equal to the delivery id',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const givenId = `conf-id-${randomSuffix()}`;
    const given = await ctx.publisher().publish(subject, { payload: utf8('given'), id: givenId });
    expect(given.id, 'publish returns the given id').toBe(givenId);
    const first = await ctx.publisher().publish(subject, { payload: utf8('generated 1') });
    const second = await ctx.publisher().publish(subject, { payload: utf8('generated 2') });
    for (const result of [first, second]) {
      expect(typeof result.id, 'a generated id is a string').toBe('string');
      expect(result.id.length, 'a generated id is not empty').toBeGreaterThan(0);
    }
    expect(first.id, 'two generated ids differ').not.toBe(second.id);
    const ids = [givenId, first.id, second.id];
    await ctx.until(
      () => ids.every((id) => consumer.has(id)),
      () => `deliveries carry the ids ${ids.join(', ')} (got ${[...consumer.ids()].join(', ')})`,
    );
    expect(consumer.deliveriesOf(first.id)[0]?.payload, 'the delivery with the generated id').toEqual(
      utf8('generated 1'),
    );
    expect(consumer.count, 'one delivery per message').toBe(3);
  },
});

/** A 1 MiB payload arrives whole. */
export const largePayload = defineScenario({
  id: 'large-payload',
  guarantee: 'delivers a 1 MiB payload byte for byte',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    const payload = randomPayload(1024 * 1024);
    const { id } = await ctx.publisher().publish(subject, { payload });
    await ctx.until(() => consumer.has(id), 'the 1 MiB message is delivered');
    expectBytes(consumer.deliveriesOf(id)[0]?.payload, payload, '1 MiB payload');
  },
});

/** publishMany keeps the order of its results and delivers every message. */
export const publishMany = defineScenario({
  id: 'publish-many',
  guarantee:
    'publishMany returns one id per message in order (given ids kept, generated ids distinct) and every message arrives (once, with acknowledgements)',
  needs: [],
  async run(ctx) {
    const subject = ctx.subject();
    const consumer = await ctx.consumer(subject);
    expect(await ctx.publisher().publishMany(subject, []), 'publishMany of nothing').toEqual([]);
    const count = 50;
    const batchId = randomSuffix();
    const messages = Array.from({ length: count }, (_, i) => ({
      payload: utf8(`batch message ${i}`),
      ...(i % 2 === 0 ? { id: `conf-batch-${batchId}-${i}` } : {}),
    }));
    const results = await ctx.publisher().publishMany(subject, messages);
    expect(results.length, 'one result per message').toBe(count);
    results.forEach((result, i) => {
      if (i % 2 === 0) expect(result.id, `result #${i} is the given id`).toBe(`conf-batch-${batchId}-${i}`);
    });
    expect(new Set(results.map((result) => result.id)).size, 'distinct ids').toBe(count);
    await ctx.until(
      () => results.every((result) => consumer.has(result.id)),
      () => `all ${count} messages of the batch are delivered (got ${consumer.ids().size})`,
    );
    results.forEach((result, i) => {
      const delivered = consumer.deliveriesOf(result.id);
      expectBytes(delivered[0]?.payload, utf8(`batch message ${i}`), `payload of result #${i}`);
      if (ctx.capabilities.acknowledgements) {
        expect(delivered.length, `deliveries of message #${i} (acked at once)`).toBe(1);
      }
    });
  },
});

/** Subjects do not leak into each other, not even into a subject that shares a prefix. */
export const subjectIsolation = defineScenario({
  id: 'subject-isolation',
  guarantee:
    'delivers a message only to subscribers of its own subject, not to one whose name is a prefix of it or shares one',
  needs: [],
  async run(ctx) {
    const base = ctx.subject();
    const subjects = [base, `${base}-2`, `${base}.x`, ctx.subject('other')];
    const consumers = await Promise.all(subjects.map((subject) => ctx.consumer(subject)));
    const publishedTo = new Map<string, string>();
    for (let round = 0; round < 5; round++) {
      for (const subject of subjects) {
        const { id } = await ctx.publisher().publish(subject, { payload: utf8(`${subject} #${round}`) });
        publishedTo.set(id, subject);
      }
    }
    const expectedCount = 5;
    await ctx.until(
      () =>
        consumers.every(
          (consumer, i) =>
            [...consumer.ids()].filter((id) => publishedTo.get(id) === subjects[i]).length === expectedCount,
        ),
      'every subscriber got the messages of its subject',
    );
    consumers.forEach((consumer, i) => {
      const foreign = [...consumer.ids()].filter((id) => publishedTo.get(id) !== subjects[i]);
      expect(
        foreign.map((id) => `${id} (published to ${publishedTo.get(id)})`),
        `messages of other subjects delivered to ${subjects[i]}`,
      ).toEqual([]);
      for (const { delivery } of consumer.received) expect(delivery.subject).toBe(subjects[i]);
    });
  },
});
