import { randomBytes } from 'node:crypto';
import {
  Broker,
  ErrorCode,
  isRelaybusError,
  MessageTooLargeError,
  type StoredMessage,
  type Transport,
} from '@relaybus/core';
import { ENTRY_MAGIC, encodeEntry as encodeListEntry, RedisListsTransport } from '@relaybus/redis-lists';
import { ENVELOPE_MAGIC, ENVELOPE_VERSION, RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { decodeEntry, Field, RedisStreamsTransport, StreamsInspector } from '@relaybus/redis-streams';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import fc from 'fast-check';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLogger } from './recording-logger.js';

const SAMPLES = 60;
const OVERSIZED_BYTES = 4 * 1024 * 1024;
const RETRY = { maxDeliveries: 3, backoff: { kind: 'none' } } as const;

let server: RedisServer;
let raw: Redis;
const brokers: Broker[] = [];

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.url);
});

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

/** Field lists in arbitrary shapes: relaybus's field names and others, values of any bytes. */
const streamFields = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...Object.values(Field)), fc.string({ minLength: 1, maxLength: 8 })),
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
        fc
          .constantFrom(
            '',
            '-1',
            'NaN',
            'Infinity',
            '1e308',
            '{"a":1}',
            '[1]',
            '{"x":{"y":2}}',
            'null',
            '{',
            'text/x-nope',
          )
          .map((text) => Buffer.from(text)),
      ),
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((pairs) => pairs.flat());

/** Values of any shape for a list: random bytes, entry magic + random, truncated and forged entries. */
const listValues = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.concat([ENTRY_MAGIC, bytes])),
  fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat()).map(([payload, cut]) => {
    const entry = encodeListEntry({ id: 'forged', headers: { a: 'b' }, payload, deliveriesBefore: 0 });
    return entry.subarray(0, ENTRY_MAGIC.length + (cut % (entry.length - ENTRY_MAGIC.length)));
  }),
);

/** Bytes of any shape for a channel: random, envelope magic + random. */
const channelPayloads = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc
    .uint8Array({ maxLength: 200 })
    .map((bytes) => Buffer.concat([Buffer.from([...ENVELOPE_MAGIC, ENVELOPE_VERSION]), bytes])),
);

interface Run {
  readonly broker: Broker;
  readonly logger: RecordingLogger;
  handled: number;
  readonly ids: Set<string>;
}

async function handle(transport: Transport, subject: string): Promise<Run> {
  const logger = new RecordingLogger();
  const broker = new Broker({ transport, logger, stopDeadlineMs: 2_000 });
  brokers.push(broker);
  const run: Run = { broker, logger, handled: 0, ids: new Set() };
  await broker.subscribe(
    subject,
    (_body, delivery) => {
      run.handled++;
      run.ids.add(delivery.id);
    },
    { retry: RETRY },
  );
  return run;
}

function reasons(letters: StoredMessage[]): string[] {
  return letters.map((letter) => letter.headers['x-relaybus-dead-letter-reason'] ?? '');
}

/** `reason-kind×count, …` of dead letters, for the printed summary. */
function reasonKinds(texts: string[]): string {
  const counts = new Map<string, number>();
  for (const text of texts) {
    const kind = text.split(':')[0] ?? '';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => `${kind}×${count}`).join(',');
}

describe('entries written straight into Redis by other clients, in arbitrary shapes', () => {
  it('Streams: each is handled or dead-lettered with a reason; a good message after them is still handled', async () => {
    const subject = randomSubject('bad-streams');
    const transport = new RedisStreamsTransport({
      connection: { url: server.url },
      logger: new RecordingLogger(),
    });
    const run = await handle(transport, subject);
    const stream = transport.streamKeys(subject)[0]?.stream as string;
    const entries = fc.sample(streamFields, { numRuns: SAMPLES });
    entries.push(
      [
        Buffer.from(Field.payload),
        randomBytes(OVERSIZED_BYTES),
        Buffer.from(Field.contentType),
        Buffer.from('application/msgpack'),
      ],
      [
        Buffer.from(Field.headers),
        Buffer.from(
          JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`h${i}`, 'v']))),
        ),
      ],
      [
        Buffer.from(Field.deliveries),
        Buffer.from('Infinity'),
        Buffer.from(Field.payload),
        Buffer.from([0xc0]),
      ],
      [Buffer.from('unrelated'), Buffer.from('field')],
    );
    for (const fields of entries) await raw.xadd(stream, '*', ...fields);
    const good = await run.broker.publish(subject, { good: true });

    const inspector = new StreamsInspector(transport);
    await until(
      async () => {
        const [group] = await inspector.groups(subject);
        return run.ids.has(good.id) && group?.pending === 0 && group.lag === 0;
      },
      30_000,
      'every entry settled and the good message handled',
    );
    // Read the dead-letter stream raw: deadLetters() lists each message id once, and entries
    // forged by other clients may share an id.
    const dlq = transport.streamKeys(subject)[0]?.deadLetters as string;
    const letters = (await raw.xrange(dlq, '-', '+')).map(([, fields]) => {
      let reason = '';
      for (let i = 0; i + 1 < fields.length; i += 2)
        if (fields[i] === Field.reason) reason = fields[i + 1] ?? '';
      return reason;
    });
    const listed = (await transport.deadLetters(subject, { limit: 1_000 })).length;
    // An entry naming another consumer group as the one its requeued copy is for (field `g`, where
    // the transport has it) is that group's business: this group acks it without delivering.
    const otherGroups = entries.filter((fields) => {
      const forGroup = (decodeEntry(fields, '0-0') as { forGroup?: string }).forGroup;
      return forGroup !== undefined && forGroup !== 'default';
    }).length;
    console.info(
      `bad-input: redis-streams: written=${entries.length} handled=${run.handled - 1} deadLettered=${letters.length} (distinct ids ${listed}) reasons=${reasonKinds(letters)} otherGroupCopies=${otherGroups}`,
    );
    expect(run.handled - 1 + letters.length + otherGroups).toBeGreaterThanOrEqual(entries.length);
    expect(letters.every((reason) => reason.length > 0)).toBe(true);
    expect(run.broker.health().subscriptions.every((subscription) => subscription.running)).toBe(true);
  }, 60_000);

  it('Lists: each is handled or dead-lettered with a reason; a good message after them is still handled', async () => {
    const subject = randomSubject('bad-lists');
    const transport = new RedisListsTransport({
      connection: { url: server.url },
      logger: new RecordingLogger(),
    });
    const run = await handle(transport, subject);
    const queue = transport.connector.keys.stream(subject);
    const values = fc.sample(listValues, { numRuns: SAMPLES });
    values.push(randomBytes(OVERSIZED_BYTES));
    for (const value of values) await raw.lpush(queue, value);
    const good = await run.broker.publish(subject, { good: true });

    let letters: StoredMessage[] = [];
    await until(
      async () => {
        letters = await transport.deadLetters(subject, { limit: 1_000 });
        return run.ids.has(good.id) && run.handled - 1 + letters.length >= values.length;
      },
      30_000,
      'every value handled or dead-lettered and the good message handled',
    );
    console.info(
      `bad-input: redis-lists: written=${values.length} handled=${run.handled - 1} deadLettered=${letters.length} reasons=${reasonKinds(reasons(letters))}`,
    );
    expect(await raw.llen(queue)).toBe(0);
    expect(reasons(letters).every((reason) => reason.length > 0)).toBe(true);
    expect(run.broker.health().subscriptions.every((subscription) => subscription.running)).toBe(true);
  }, 60_000);

  it('Pub/Sub: each is handled or dropped with a logged reason (no dead letters); a good message after them is still handled', async () => {
    const subject = randomSubject('bad-pubsub');
    // No content type for foreign bytes: the Broker decodes them as msgpack, so many fail.
    const transport = new RedisPubSubTransport({
      connection: { url: server.url },
      rawContentType: null,
      logger: new RecordingLogger(),
    });
    const run = await handle(transport, subject);
    const channel = transport.connector.keys.stream(subject);
    const payloads = fc.sample(channelPayloads, { numRuns: SAMPLES });
    payloads.push(randomBytes(OVERSIZED_BYTES));
    let received = 0;
    for (const payload of payloads) received += (await raw.publish(channel, payload)) as number;
    expect(received).toBe(payloads.length);
    const good = await run.broker.publish(subject, { good: true });

    const dropped = (): number => run.logger.problems(/cannot be decoded/).length;
    await until(
      () => run.ids.has(good.id) && run.handled - 1 + dropped() >= payloads.length,
      30_000,
      'every payload handled or dropped with a reason, and the good message handled',
    );
    console.info(
      `bad-input: redis-pubsub: written=${payloads.length} handled=${run.handled - 1} dropped=${dropped()}`,
    );
    const lines = run.logger.problems(/cannot be decoded/);
    expect(lines.every((line) => String(line.fields.reason ?? '').startsWith('decode-failed'))).toBe(true);
    expect(run.broker.health().subscriptions.every((subscription) => subscription.running)).toBe(true);
  }, 60_000);
});

describe('a maximum message size, enforced at publish', () => {
  const LIMIT = 64 * 1024;
  const kinds: Array<[string, () => Transport]> = [
    [
      'redis-streams',
      () => new RedisStreamsTransport({ connection: { url: server.url }, logger: new RecordingLogger() }),
    ],
    [
      'redis-lists',
      () => new RedisListsTransport({ connection: { url: server.url }, logger: new RecordingLogger() }),
    ],
    [
      'redis-pubsub',
      () => new RedisPubSubTransport({ connection: { url: server.url }, logger: new RecordingLogger() }),
    ],
  ];

  it.each(kinds)(
    '%s: refuses a body over maxMessageBytes with MessageTooLargeError and sends nothing',
    async (_name, make) => {
      const transport = make();
      const broker = new Broker({ transport, logger: new RecordingLogger(), maxMessageBytes: LIMIT });
      brokers.push(broker);
      const subject = randomSubject('too-large');
      const handled: number[] = [];
      await broker.subscribe(subject, (body: Uint8Array) => {
        handled.push(body.byteLength);
      });
      // msgpack encodes a Uint8Array body as bin16 (3-byte header) below 64 KiB, else bin32 (5).
      const encoded = (size: number): number => size + (size < 0x10000 ? 3 : 5);
      const sizes = fc.sample(fc.integer({ min: LIMIT - 5, max: 4 * LIMIT }), { numRuns: 20 });
      let refused = 0;
      for (const size of sizes) {
        const outcome = await broker.publish(subject, new Uint8Array(size)).then(
          () => 'sent' as const,
          (error: unknown) => error,
        );
        if (encoded(size) > LIMIT) {
          expect(outcome).toBeInstanceOf(MessageTooLargeError);
          expect(isRelaybusError(outcome, ErrorCode.MessageTooLarge)).toBe(true);
          expect(String((outcome as Error).message)).toContain('maxMessageBytes');
          refused++;
        } else {
          expect(outcome).toBe('sent');
        }
      }
      await broker.publish(subject, new Uint8Array(16));
      await until(() => handled.includes(16), 10_000, 'a small message after the refused ones');
      expect(handled.filter((size) => encoded(size) > LIMIT)).toEqual([]);
      expect(refused).toBeGreaterThan(0);
    },
  );
});
