/**
 * The soak run (`pnpm soak`, not in CI): a steady publish rate to a Redis Streams subject drained by
 * consumer child processes through the Broker, with one consumer SIGKILLed (and restarted) every
 * `--kill-every-s` seconds and one Redis crash-restart (SIGKILL, AOF `appendfsync always`) half way.
 * Prints throughput, publish → handle latency, memory over time, and the final tally; exits 1 when
 * anything acknowledged was lost.
 *
 * Options: --minutes 10 --rate 300 --consumers 3 --kill-every-s 15 --report-every-s 30
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as wait } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Broker, silentLogger } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { ConsumerPool } from './consumer-pool.js';
import { latencyKey, ledgerKey, readLedger, summaryLine, tally } from './ledger.js';
import { SteadyPublisher } from './load.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    consumers: { type: 'string', default: '3' },
    'kill-every-s': { type: 'string', default: '15' },
    'report-every-s': { type: 'string', default: '30' },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

const minutes = positive('minutes', values.minutes);
const rate = positive('rate', values.rate);
const consumers = Math.round(positive('consumers', values.consumers));
const killEveryMs = positive('kill-every-s', values['kill-every-s']) * 1_000;
const reportEveryMs = positive('report-every-s', values['report-every-s']) * 1_000;
const runMs = minutes * 60_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** Resident set size of a process (Linux /proc), 0 when unknown. */
function rssOf(pid: number): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return pages * 4_096;
  } catch {
    return 0;
  }
}

async function redisMemory(client: Redis): Promise<number> {
  try {
    const info = await client.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const server = await startRedis({ persistence: true });
const subject = randomSubject('soak');
const key = ledgerKey(subject);
const latencies = latencyKey(subject);
const pool = new ConsumerPool({
  url: server.url,
  subject,
  group: 'soak',
  minIdleMs: 2_000,
  concurrency: 8,
  ledgerKey: key,
  latencyKey: latencies,
});
const client = new Redis(server.url);
client.on('error', () => undefined);
const broker = new Broker({
  transport: new RedisStreamsTransport({ connection: { url: server.url }, logger: silentLogger }),
  logger: silentLogger,
});

console.log(
  `soak: ${minutes} min at ${rate} msg/s, ${consumers} consumer processes, a SIGKILL every ${killEveryMs / 1_000} s, one Redis SIGKILL + restart at ${minutes / 2} min; redis-server ${server.url}`,
);
console.log(
  'soak: t(s)  published  handled  handled/s  p50ms  p99ms  maxms  publisherRSS  consumersRSS  redisUsed (MB)  load1',
);

const started = Date.now();
let restarts = 0;
let restartDownMs = 0;
let latencyCursor = 0;
let lastHandled = 0;
let lastReportAt = started;
const allLatencies: number[] = [];
const memory: Array<{ t: number; publisher: number; consumers: number; redis: number }> = [];

async function report(): Promise<void> {
  const now = Date.now();
  let handled = lastHandled;
  let window: number[] = [];
  try {
    handled = await client.hlen(key);
    const fresh = (await client.lrange(latencies, latencyCursor, -1)).map(Number);
    latencyCursor += fresh.length;
    window = fresh.sort((a, b) => a - b);
    allLatencies.push(...fresh);
  } catch {
    // Redis is restarting: report what is known, catch up next time.
  }
  const perSecond = ((handled - lastHandled) * 1_000) / Math.max(1, now - lastReportAt);
  const sample = {
    t: Math.round((now - started) / 1_000),
    publisher: process.memoryUsage().rss,
    consumers: pool.pids().reduce((sum, pid) => sum + rssOf(pid), 0),
    redis: await redisMemory(client),
  };
  memory.push(sample);
  console.log(
    `soak: ${String(sample.t).padStart(5)}  ${String(load.acknowledged.length).padStart(9)}  ${String(handled).padStart(7)}  ${perSecond.toFixed(0).padStart(9)}  ${String(percentile(window, 50)).padStart(5)}  ${String(percentile(window, 99)).padStart(5)}  ${String(window.at(-1) ?? 0).padStart(5)}  ${mb(sample.publisher).padStart(12)}  ${mb(sample.consumers).padStart(12)}  ${mb(sample.redis).padStart(9)}  ${(loadavg()[0] ?? 0).toFixed(1)}`,
  );
  lastHandled = handled;
  lastReportAt = now;
}

await pool.start(consumers);
const load = new SteadyPublisher(broker, subject, rate);
load.start();
let nextKill = started + killEveryMs;
let nextReport = started + reportEveryMs;
const restartAt = started + runMs / 2;
while (Date.now() < started + runMs) {
  await wait(100);
  const now = Date.now();
  if (restarts === 0 && now >= restartAt) {
    const down = Date.now();
    await server.restart({ kill: true });
    restartDownMs = Date.now() - down;
    restarts++;
    console.log(`soak: redis SIGKILLed and restarted in ${restartDownMs} ms`);
  }
  if (now >= nextKill) {
    nextKill = now + killEveryMs;
    await pool.killOne();
  }
  if (now >= nextReport) {
    nextReport = now + reportEveryMs;
    await report();
  }
}
await load.stop();
const refused = load.failures.length;
await load.retryFailures();
await pool
  .ready()
  .catch((error: unknown) => console.log(`soak: a replacement consumer failed to start: ${String(error)}`));
const drainStarted = Date.now();
await until(
  async () => tally(load.acknowledged, await readLedger(client, key)).lost === 0,
  120_000,
  'the consumers to drain the backlog',
).catch(() => undefined);
const drainMs = Date.now() - drainStarted;
await report();
const result = tally(load.acknowledged, await readLedger(client, key));
const sorted = allLatencies.sort((a, b) => a - b);
const publishSorted = [...load.publishLatenciesMs].sort((a, b) => a - b);
const elapsedS = (drainStarted - started) / 1_000;
const peak = (pick: (m: (typeof memory)[number]) => number): string => mb(Math.max(...memory.map(pick)));
console.log(
  summaryLine('soak', result, {
    minutes,
    kills: pool.kills,
    restarts,
    refusedPublishes: refused,
    stillRefused: load.failures.length,
  }),
);
console.log(
  `soak: throughput ${(result.published / elapsedS).toFixed(0)} msg/s published over ${elapsedS.toFixed(0)} s; drain after stop ${drainMs} ms; redis down ${restartDownMs} ms`,
);
console.log(
  `soak: publish->handle latency ms p50=${percentile(sorted, 50)} p99=${percentile(sorted, 99)} p99.9=${percentile(sorted, 99.9)} max=${sorted.at(-1) ?? 0} (n=${sorted.length}); publish ack p99=${percentile(publishSorted, 99)} ms`,
);
console.log(
  `soak: memory MB first/last/peak publisher ${mb(memory[0]?.publisher ?? 0)}/${mb(memory.at(-1)?.publisher ?? 0)}/${peak((m) => m.publisher)}, consumers ${mb(memory[0]?.consumers ?? 0)}/${mb(memory.at(-1)?.consumers ?? 0)}/${peak((m) => m.consumers)}, redis ${mb(memory[0]?.redis ?? 0)}/${mb(memory.at(-1)?.redis ?? 0)}/${peak((m) => m.redis)}`,
);
await pool.stop();
await broker.stop();
client.disconnect();
await server.stop();
process.exit(result.lost === 0 && load.failures.length === 0 ? 0 : 1);
