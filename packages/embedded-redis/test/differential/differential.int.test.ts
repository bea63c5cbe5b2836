import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedis } from '../../../testing/dist/index.js';
import { COLLECTION_CASES } from './cases-collections.js';
import { DATA_CASES } from './cases-data.js';
import { EDGE_CASES } from './cases-edges.js';
import { MORE_CASES } from './cases-more.js';
import { PROTOCOL_CASES } from './cases-protocol.js';
import { type DiffCase, formatMismatches, runCase, type Target } from './harness.js';
import { KNOWN_DIFFERENCES } from './known-differences.js';

/**
 * The differential suite: every case in cases-*.ts runs against a real redis-server and the
 * embedded server, and every reply must match (byte for byte unless the case says otherwise).
 * `DIFF_ALL=1` also runs the cases listed in known-differences.ts; `DIFF_AGAINST=real` compares
 * two real servers instead (a check of the cases themselves).
 */

interface Running {
  readonly target: Target;
  stop(): Promise<void>;
}

type StartEmbedded = (options?: { port?: number }) => Promise<{ port: number; close(): Promise<void> }>;

async function startReal(name: string): Promise<Running> {
  const server = await startRedis({ server: 'real' });
  return { target: { name, host: server.host, port: server.port }, stop: () => server.stop() };
}

async function startEmbedded(): Promise<Running> {
  if (process.env.DIFF_AGAINST === 'real') return startReal('second redis-server');
  const module = (await import('../../src/index.js')) as Record<string, unknown>;
  const start = module.startEmbeddedRedis as StartEmbedded | undefined;
  if (start === undefined) throw new Error('startEmbeddedRedis is not exported by src/index.ts yet');
  const server = await start({ port: 0 });
  return { target: { name: 'embedded', host: '127.0.0.1', port: server.port }, stop: () => server.close() };
}

const ALL_CASES: readonly DiffCase[] = [
  ...DATA_CASES,
  ...COLLECTION_CASES,
  ...PROTOCOL_CASES,
  ...EDGE_CASES,
  ...MORE_CASES,
];
const runAll = process.env.DIFF_ALL === '1';

const real = realRedisSuite(
  'differential: embedded server vs redis-server',
  'the reference replies the embedded server is compared with',
);

describe.skipIf(real.skip)(real.title, () => {
  let redis: Running;
  let embedded: Running;

  beforeAll(async () => {
    [redis, embedded] = await Promise.all([startReal('redis-server'), startEmbedded()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), embedded?.stop()]);
  });

  it('has unique case names', () => {
    const names = ALL_CASES.map((c) => `${c.family}/${c.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  const families = [...new Set(ALL_CASES.map((c) => c.family))];
  for (const family of families) {
    describe(family, () => {
      for (const testCase of ALL_CASES.filter((c) => c.family === family)) {
        const known = KNOWN_DIFFERENCES[`${family}/${testCase.name}`];
        if (known !== undefined && !runAll) {
          it.skip(`${testCase.name} — skipped, known difference: ${known}`, () => {});
          continue;
        }
        it(testCase.name, async () => {
          const mismatches = await runCase(testCase, redis.target, embedded.target);
          expect(mismatches, formatMismatches(testCase, mismatches)).toEqual([]);
        });
      }
    });
  }
});
