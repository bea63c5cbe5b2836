import { randomUUID } from 'node:crypto';
import { decode } from '@msgpack/msgpack';
import { Broker } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { until } from '@relaybus/testing';
import type { Redis } from 'iovalkey';
import { encodeOrderEvent, ORDER_EVENT } from '../payload.js';
import { type BenchContext, connect, fresh, RUN_DEADLINE_MS, type Scenario, within } from '../scenario.js';
import { perSecond } from '../stats.js';

/** Messages of one publishMany / pipeline batch. */
const BATCH = 500;
/** Publishes in flight in the concurrent scenario. */
export const IN_FLIGHT = 1_000;
/** Handler concurrency and prefetch of the consume scenarios. */
export const CONCURRENCY = 64;
export const PREFETCH = 500;

/** A Broker on a fresh Streams transport. */
export function streamsBroker(context: BenchContext): Broker {
  return new Broker({ transport: new RedisStreamsTransport({ connection: { url: context.url } }) });
}

/** The stream key relaybus uses for `subject` with the default key prefix. */
export function streamKeyOf(subject: string): string {
  return `relaybus:{${subject}}`;
}

/** XADD fields as a hand-written producer would write them (payload encoded per message): the same fields relaybus writes. */
function rawFields(payload: Buffer = encodeOrderEvent()): Array<string | Buffer> {
  return ['i', randomUUID(), 'p', payload, 't', String(Date.now()), 'c', 'application/msgpack'];
}

/** Fills `key` with `count` entries by raw pipelined XADD (outside any timed part). */
export async function fillRawStream(client: Redis, key: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += BATCH) {
    const pipeline = client.pipeline();
    for (let i = 0; i < Math.min(BATCH, count - sent); i++) pipeline.xadd(key, '*', ...rawFields());
    await pipeline.exec();
  }
}

/** Fills `subject` with `count` messages through the Broker (outside any timed part). */
export async function fillSubject(broker: Broker, subject: string, count: number): Promise<void> {
  const batch = Array.from({ length: BATCH }, () => ({ body: ORDER_EVENT }));
  for (let sent = 0; sent < count; sent += BATCH) {
    await broker.publishMany(subject, batch.slice(0, Math.min(BATCH, count - sent)));
  }
}

/** Resolves once the group has no pending (delivered, unacknowledged) entries. */
export async function allAcked(admin: Redis, key: string, group: string): Promise<void> {
  await until(
    async () => {
      const summary = (await admin.xpending(key, group)) as [number, ...unknown[]];
      return Number(summary[0]) === 0;
    },
    30_000,
    `all entries of ${key} acknowledged`,
  );
}

/** Drains `count` messages of `subject` with a no-op Broker handler; returns msg/s (handled and acked). */
export async function brokerDrain(
  context: BenchContext,
  subject: string,
  count: number,
  broker: Broker,
): Promise<number> {
  let handled = 0;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const group = 'bench';
  // Connected before the clock, as the raw loop's client is (the subscription's own reader
  // connection and its group are made inside it).
  await broker.start();
  const started = performance.now();
  await broker.subscribe(
    subject,
    () => {
      if (++handled === count) resolve();
    },
    { group, concurrency: CONCURRENCY, prefetch: PREFETCH, startFrom: 'beginning' },
  );
  await within(done, RUN_DEADLINE_MS, 'the handler to see every message');
  await allAcked(context.admin, streamKeyOf(subject), group);
  const elapsed = performance.now() - started;
  await broker.stop();
  return perSecond(count, elapsed);
}

function publishCount(context: BenchContext): number {
  return context.quick ? 20_000 : 200_000;
}

/** 1. publishMany batches of 500 vs raw pipelined XADD batches of 500. */
export const streamsPublishMany: Scenario = {
  name: 'streams-publish-many',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'iovalkey pipelined XADD x500',
  async ours(context) {
    const broker = streamsBroker(context);
    const subject = fresh('pm');
    await fillSubject(broker, subject, BATCH); // warm-up: connect, load scripts
    const count = publishCount(context);
    const started = performance.now();
    await fillSubject(broker, subject, count);
    const elapsed = performance.now() - started;
    await broker.stop();
    return perSecond(count, elapsed);
  },
  async baseline(context) {
    const client = connect(context);
    const key = fresh('raw-pm');
    await fillRawStream(client, key, BATCH);
    const count = publishCount(context);
    const started = performance.now();
    await fillRawStream(client, key, count);
    const elapsed = performance.now() - started;
    client.disconnect();
    return perSecond(count, elapsed);
  },
};

/** 4. publish with 1000 in flight vs raw XADD with 1000 in flight (autopipelining). */
export const streamsPublishConcurrent: Scenario = {
  name: 'streams-publish-concurrent',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'iovalkey XADD, 1000 in flight, autopipelining',
  async ours(context) {
    const broker = streamsBroker(context);
    const subject = fresh('pc');
    await broker.publish(subject, ORDER_EVENT);
    const count = publishCount(context);
    const started = performance.now();
    await windowed(count, () => broker.publish(subject, ORDER_EVENT));
    const elapsed = performance.now() - started;
    await broker.stop();
    return perSecond(count, elapsed);
  },
  async baseline(context) {
    const { Redis } = await import('iovalkey');
    const client = new Redis(context.url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    const key = fresh('raw-pc');
    await client.xadd(key, '*', ...rawFields());
    const count = publishCount(context);
    const started = performance.now();
    await windowed(count, () => client.xadd(key, '*', ...rawFields()));
    const elapsed = performance.now() - started;
    client.disconnect();
    return perSecond(count, elapsed);
  },
};

/** Runs `count` calls of `send`, keeping `IN_FLIGHT` of them outstanding. */
export async function windowed(count: number, send: () => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, lane));
}

function backlogCount(context: BenchContext): number {
  return context.quick ? 20_000 : 200_000;
}

/** Raw XREADGROUP COUNT 500 + XACK loop over `key`, decoding every payload; returns msg/s. */
export async function rawDrain(context: BenchContext, key: string, count: number): Promise<number> {
  const client = connect(context);
  const group = 'bench';
  await client.xgroup('CREATE', key, group, '0', 'MKSTREAM');
  let handled = 0;
  let lastAck: Promise<unknown> = Promise.resolve();
  const started = performance.now();
  while (handled < count) {
    const reply = (await client.callBuffer(
      'XREADGROUP',
      'GROUP',
      group,
      'c1',
      'COUNT',
      PREFETCH,
      'BLOCK',
      1_000,
      'STREAMS',
      key,
      '>',
    )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    const ids: Buffer[] = [];
    for (const [id, fields] of entries) {
      for (let i = 0; i < fields.length; i += 2) {
        if ((fields[i] as Buffer).toString() === 'p') decode(fields[i + 1] as Buffer);
      }
      ids.push(id);
      handled++;
    }
    // Acknowledge without waiting: the next read is pipelined behind it on the same connection.
    if (ids.length > 0) lastAck = client.xack(key, group, ...ids);
  }
  await lastAck;
  const elapsed = performance.now() - started;
  client.disconnect();
  return perSecond(count, elapsed);
}

/** 2. Broker drain of a backlog vs raw XREADGROUP + XACK loop. */
export const streamsConsume: Scenario = {
  name: 'streams-consume',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'iovalkey XREADGROUP COUNT 500 + XACK + msgpack decode',
  async ours(context) {
    const count = backlogCount(context);
    const subject = fresh('sc');
    const filler = streamsBroker(context);
    await fillSubject(filler, subject, count);
    await filler.stop();
    return brokerDrain(context, subject, count, streamsBroker(context));
  },
  async baseline(context) {
    const count = backlogCount(context);
    const key = fresh('raw-sc');
    await fillRawStream(context.admin, key, count);
    return rawDrain(context, key, count);
  },
};
