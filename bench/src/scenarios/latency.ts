import { setTimeout as sleep } from 'node:timers/promises';
import { decode, encode } from '@msgpack/msgpack';
import { ORDER_EVENT, type OrderEvent } from '../payload.js';
import { type BenchContext, connect, fresh, type Scenario } from '../scenario.js';
import { percentile } from '../stats.js';
import { CONCURRENCY, PREFETCH, streamsBroker } from './streams.js';

interface Load {
  readonly ratePerSecond: number;
  readonly durationMs: number;
}

function load(context: BenchContext): Load {
  return context.quick
    ? { ratePerSecond: 1_000, durationMs: 3_000 }
    : { ratePerSecond: 2_000, durationMs: 10_000 };
}

/** Samples taken in the first 10 % of the run (connection warm-up, JIT) are dropped. */
const WARM_UP_FRACTION = 0.1;

/**
 * Calls `send(sentAt)` at a steady rate for the load's duration (a 1 ms ticker catching up on the
 * schedule, so a slow tick does not lower the rate), then waits for every message to be seen.
 */
async function steady(
  { ratePerSecond, durationMs }: Load,
  send: (sentAt: number) => Promise<unknown>,
  received: () => number,
): Promise<number> {
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  let sent = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) break;
    const due = Math.floor((elapsed * ratePerSecond) / 1_000);
    while (sent < due) {
      sent++;
      pending.push(send(performance.now()));
    }
    await sleep(1);
  }
  await Promise.all(pending);
  const deadline = performance.now() + 30_000;
  while (received() < sent && performance.now() < deadline) await sleep(5);
  if (received() < sent) throw new Error(`only ${received()} of ${sent} messages arrived`);
  return sent;
}

function p99(latencies: number[], total: number): number {
  return percentile(latencies.slice(Math.floor(total * WARM_UP_FRACTION)), 99);
}

/** 5. publish→handler p99 at a steady rate vs raw XADD + XREADGROUP BLOCK. */
export const streamsLatencyP99: Scenario = {
  name: 'streams-latency-p99',
  unit: 'ms',
  better: 'lower',
  baselineName: 'iovalkey XADD + XREADGROUP BLOCK',
  async ours(context) {
    const broker = streamsBroker(context);
    const subject = fresh('lat');
    const latencies: number[] = [];
    await broker.subscribe<OrderEvent>(
      subject,
      (body) => {
        latencies.push(performance.now() - (body.sentAt as number));
      },
      { group: 'bench', concurrency: CONCURRENCY, prefetch: PREFETCH },
    );
    const sent = await steady(
      load(context),
      (sentAt) => broker.publish(subject, { ...ORDER_EVENT, sentAt }),
      () => latencies.length,
    );
    await broker.stop();
    return p99(latencies, sent);
  },
  async baseline(context) {
    const producer = connect(context);
    const consumer = connect(context);
    const key = fresh('raw-lat');
    const group = 'bench';
    await producer.xgroup('CREATE', key, group, '$', 'MKSTREAM');
    const latencies: number[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const reply = (await consumer.callBuffer(
          'XREADGROUP',
          'GROUP',
          group,
          'c1',
          'COUNT',
          PREFETCH,
          'BLOCK',
          100,
          'STREAMS',
          key,
          '>',
        )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        const ids: Buffer[] = [];
        for (const [id, fields] of entries) {
          for (let i = 0; i < fields.length; i += 2) {
            if ((fields[i] as Buffer).toString() === 'p') {
              const body = decode(fields[i + 1] as Buffer) as OrderEvent;
              latencies.push(performance.now() - (body.sentAt as number));
            }
          }
          ids.push(id);
        }
        if (ids.length > 0) void consumer.xack(key, group, ...ids);
      }
    })();
    const sent = await steady(
      load(context),
      (sentAt) => producer.xadd(key, '*', 'p', Buffer.from(encode({ ...ORDER_EVENT, sentAt }))),
      () => latencies.length,
    );
    running = false;
    await loop;
    producer.disconnect();
    consumer.disconnect();
    return p99(latencies, sent);
  },
};
