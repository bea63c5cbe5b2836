import { Queue, Worker } from 'bullmq';
import { ORDER_EVENT } from '../payload.js';
import { type BenchContext, fresh, RUN_DEADLINE_MS, type Scenario, within } from '../scenario.js';
import { perSecond } from '../stats.js';
import { brokerDrain, CONCURRENCY, fillSubject, streamsBroker } from './streams.js';

function jobCount(context: BenchContext): number {
  return context.quick ? 10_000 : 100_000;
}

function bullConnection(context: BenchContext): { host: string; port: number; maxRetriesPerRequest: null } {
  const url = new URL(context.url);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/** 3. The Broker drain of streams-consume vs a BullMQ Worker (concurrency 64) draining as many jobs. */
export const streamsConsumeVsBullmq: Scenario = {
  name: 'streams-consume-vs-bullmq',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'BullMQ Worker, concurrency 64',
  async ours(context) {
    const count = jobCount(context);
    const subject = fresh('sb');
    const filler = streamsBroker(context);
    await fillSubject(filler, subject, count);
    await filler.stop();
    return brokerDrain(context, subject, count, streamsBroker(context));
  },
  async baseline(context) {
    const count = jobCount(context);
    const name = fresh('bull');
    const connection = bullConnection(context);
    const queue = new Queue(name, { connection });
    // Completed jobs are removed, as relaybus keeps no record of acknowledged entries either.
    const jobs = Array.from({ length: 1_000 }, () => ({
      name: 'order',
      data: ORDER_EVENT,
      opts: { removeOnComplete: true, removeOnFail: true },
    }));
    for (let added = 0; added < count; added += jobs.length) {
      await queue.addBulk(jobs.slice(0, Math.min(jobs.length, count - added)));
    }
    let completed = 0;
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    // Connected before the clock, as relaybus's broker is; the clock starts with its run loop.
    const worker = new Worker(name, async () => {}, { connection, concurrency: CONCURRENCY, autorun: false });
    worker.on('completed', () => {
      if (++completed === count) resolve();
    });
    await worker.waitUntilReady();
    const started = performance.now();
    const running = worker.run();
    await within(done, RUN_DEADLINE_MS, 'BullMQ to complete every job');
    const elapsed = performance.now() - started;
    await worker.close();
    await running;
    await queue.close();
    return perSecond(count, elapsed);
  },
};
