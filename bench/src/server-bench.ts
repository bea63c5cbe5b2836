import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedRedis } from '@relaybus/embedded-redis';
import { startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { median } from './stats.js';

/**
 * `pnpm bench:server`: redis-benchmark (Debian's redis-tools) against the embedded server and
 * against redis-server in the same run, interleaved, plus the memory small string keys take on
 * each (100k keys in a quick run; 100k and 1M in a full run). Writes
 * bench/results/embedded-redis.json in the shape of latest.json.
 *
 * Before the measured rounds every test runs once, unrecorded, against both servers: the embedded
 * server is JIT-compiled JavaScript, and a first run would measure the compiler, not the server.
 */

interface Test {
  readonly name: string;
  /** redis-benchmark arguments that pick the test. */
  readonly args: readonly string[];
  readonly pipeline: number;
  /** The target ratio. */
  readonly target: number;
}

const SIMPLE = ['set', 'get', 'incr', 'lpush', 'lpop', 'hset'];
const TESTS: readonly Test[] = [
  ...SIMPLE.map((t) => ({ name: `${t.toUpperCase()} -c 50`, args: ['-t', t], pipeline: 1, target: 0.8 })),
  {
    name: 'XADD -c 50',
    args: ['XADD', 'bench:stream', 'MAXLEN', '~', '10000', '*', 'f', 'v'],
    pipeline: 1,
    target: 0.8,
  },
  ...SIMPLE.map((t) => ({ name: `${t.toUpperCase()} -P 16`, args: ['-t', t], pipeline: 16, target: 0.3 })),
  {
    name: 'XADD -P 16',
    args: ['XADD', 'bench:stream', 'MAXLEN', '~', '10000', '*', 'f', 'v'],
    pipeline: 16,
    target: 0.3,
  },
];

function parseArgs(argv: readonly string[]): { quick: boolean; rounds: number } {
  let quick = false;
  let rounds = 3;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--rounds') rounds = Number(argv[++i]);
    else {
      process.stderr.write(
        `unknown argument ${arg}\nusage: node dist/server-bench.js [--quick] [--rounds n]\n`,
      );
      process.exit(2);
    }
  }
  return { quick, rounds: quick ? Math.min(rounds, 2) : rounds };
}

/** Runs redis-benchmark once; resolves with requests per second. */
function redisBenchmark(port: number, test: Test, requests: number): Promise<number> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-c',
    '50',
    '-n',
    String(requests),
    '-P',
    String(test.pipeline),
    '-q',
    '--csv',
    ...test.args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', (error) =>
      reject(new Error(`redis-benchmark could not start (apt-get install -y redis-tools): ${error.message}`)),
    );
    child.on('close', (code) => {
      const row = out
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('"test"'))
        .at(-1);
      const rps = Number(row?.split(',')[1]?.replaceAll('"', ''));
      if (code !== 0 || !Number.isFinite(rps)) {
        reject(new Error(`redis-benchmark ${args.join(' ')} failed (${code}): ${err || out}`));
      } else resolve(rps);
    });
  });
}

/** Requests of each test's unrecorded warm-up run (per server). */
const WARMUP_REQUESTS = 10_000;

/**
 * Bytes `count` small string keys take, as `measure()` reports memory before and after. The
 * loading client is disconnected before each measurement: it lives in the bench process, whose
 * heap is the embedded server's measure, and its buffers are not the server's.
 */
async function keysMemory(url: string, count: number, measure: () => Promise<number>): Promise<number> {
  const connectClient = () => new Redis(url, { maxRetriesPerRequest: null });
  const closeClient = async (client: Redis) => {
    await client.quit();
    client.disconnect();
  };
  let client = connectClient();
  await client.flushall();
  await closeClient(client);
  const before = await measure();
  client = connectClient();
  for (let sent = 0; sent < count; sent += 10_000) {
    const pipeline = client.pipeline();
    for (let i = sent; i < Math.min(count, sent + 10_000); i++) pipeline.set(`key:${i}`, `value:${i}`);
    await pipeline.exec();
  }
  await closeClient(client);
  const after = await measure();
  client = connectClient();
  await client.flushall();
  await closeClient(client);
  return after - before;
}

async function usedMemory(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const info = await client.info('memory');
  client.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** The embedded server's memory: the JS heap plus Buffer backing stores, after a full GC. */
function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function main(): Promise<void> {
  const { quick, rounds } = parseArgs(process.argv.slice(2));
  const requests = quick ? 20_000 : 100_000;
  const keyCounts = quick ? [100_000] : [100_000, 1_000_000];
  process.env.RELAYBUS_TEST_REDIS = 'real';
  const real = await startRedis();
  const embedded = await startEmbeddedRedis();
  const startedAt = Date.now();
  process.stderr.write(
    `relaybus bench:server: ${quick ? 'quick' : 'full'}, ${rounds} rounds, ${requests} requests per run; embedded at ${embedded.port}, redis-server at ${real.url}\n`,
  );
  const scenarios: unknown[] = [];
  const rows: string[][] = [['test', 'embedded', 'redis-server', 'ratio', 'target']];
  try {
    for (const test of TESTS) {
      for (const port of [embedded.port, real.port]) await redisBenchmark(port, test, WARMUP_REQUESTS);
    }
    for (const test of TESTS) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // A B, then B A: neither side always runs first.
        const order = round % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours'];
        for (const side of order) {
          const rps = await redisBenchmark(side === 'ours' ? embedded.port : real.port, test, requests);
          (side === 'ours' ? ours : theirs).push(rps);
          process.stderr.write(
            `  ${test.name} round ${round + 1} ${side === 'ours' ? 'embedded' : 'redis-server'}: ${Math.round(rps)} req/s\n`,
          );
        }
      }
      const value = median(ours);
      const baseline = median(theirs);
      scenarios.push({
        name: test.name,
        ours: { value, unit: 'req/s', runs: ours },
        baseline: { name: 'redis-server', value: baseline, unit: 'req/s', runs: theirs },
        ratio: Number((value / baseline).toFixed(3)),
        target: test.target,
      });
      rows.push([
        test.name,
        Math.round(value).toLocaleString('en-US'),
        Math.round(baseline).toLocaleString('en-US'),
        (value / baseline).toFixed(2),
        `≥ ${test.target}`,
      ]);
    }
    for (const keyCount of keyCounts) {
      const oursBytes = await keysMemory(embedded.url, keyCount, async () => {
        // The loading client's connection is gone once the server saw it close.
        for (let i = 0; i < 500 && embedded.server.connectionCount > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return heapAfterGc();
      });
      const theirBytes = await keysMemory(real.url, keyCount, () => usedMemory(real.url));
      const name = `memory of ${keyCount.toLocaleString('en-US')} small string keys`;
      scenarios.push({
        name,
        ours: { value: oursBytes, unit: 'bytes', perKey: Math.round(oursBytes / keyCount) },
        baseline: {
          name: 'redis-server used_memory',
          value: theirBytes,
          unit: 'bytes',
          perKey: Math.round(theirBytes / keyCount),
        },
        ratio: Number((theirBytes / oursBytes).toFixed(3)),
        target: 1 / 3,
      });
      const mib = (bytes: number) =>
        `${(bytes / 1_048_576).toFixed(1)} MiB (${Math.round(bytes / keyCount)} B/key)`;
      rows.push([
        name,
        mib(oursBytes),
        mib(theirBytes),
        (theirBytes / oursBytes).toFixed(2),
        '≥ 0.33 (within 3×)',
      ]);
    }
  } finally {
    await embedded.close();
    await real.stop();
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  process.stdout.write(
    `\n${rows
      .map((r) =>
        r
          .map((cell, c) => cell.padEnd(widths[c] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  );
  const report = {
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      date: new Date().toISOString(),
      loadavg1m: Number(loadavg()[0]?.toFixed(2)),
    },
    mode: quick ? 'quick' : 'full',
    rounds,
    durationS: Math.round((Date.now() - startedAt) / 1_000),
    note: 'ratio = embedded / redis-server for req/s, redis-server / embedded for memory (bigger is better); the embedded server runs inside the bench process, redis-benchmark in its own; every test first runs once unrecorded against both servers (JIT warm-up); embedded memory = heapUsed + arrayBuffers after a full GC',
    scenarios,
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'embedded-redis.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`wrote ${out} (${report.durationS} s)\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
