import { type BenchContext, fresh, type Scenario } from '../scenario.js';
import { brokerDrain, fillRawStream, fillSubject, rawDrain, streamsBroker } from './streams.js';

const MIB = 1024 * 1024;

function backlog(context: BenchContext): number {
  return context.quick ? 20_000 : 1_000_000;
}

/** Collects garbage when node runs with --expose-gc (the bench script passes it). */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Peak retained heap growth in MiB over `work`: every 250 ms a full collection, then a sample, so
 * the figure is what the drain holds on to (buffered deliveries, pending acks), not garbage that
 * has not been collected yet. Without --expose-gc it falls back to plain samples (an upper bound).
 */
async function heapGrowth(work: () => Promise<unknown>): Promise<number> {
  collect();
  const start = process.memoryUsage().heapUsed;
  let peak = start;
  const sampler = setInterval(() => {
    collect();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 250);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return (peak - start) / MIB;
}

/** 7. Heap growth while the Broker drains a backlog vs the raw XREADGROUP loop draining the same. */
export const memoryBacklog: Scenario = {
  name: 'memory-backlog',
  unit: 'MiB retained heap growth',
  better: 'lower',
  baselineName: 'iovalkey XREADGROUP COUNT 500 + XACK loop',
  maxRounds: { quick: 3, full: 1 },
  async ours(context) {
    const count = backlog(context);
    const subject = fresh('mem');
    const filler = streamsBroker(context);
    await fillSubject(filler, subject, count);
    await filler.stop();
    const broker = streamsBroker(context);
    return heapGrowth(() => brokerDrain(context, subject, count, broker));
  },
  async baseline(context) {
    const count = backlog(context);
    const key = fresh('raw-mem');
    await fillRawStream(context.admin, key, count);
    return heapGrowth(() => rawDrain(context, key, count));
  },
};
