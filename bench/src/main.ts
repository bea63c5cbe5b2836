import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { type BenchContext, runScenario, type Scenario, type ScenarioResult } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

interface Args {
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly rounds: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  const only: string[] = [];
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--only') only.push(...(argv[++i] ?? '').split(','));
    else if (arg === '--rounds') rounds = Number(argv[++i]);
    else {
      process.stderr.write(
        `unknown argument ${arg}\nusage: node dist/main.js [--quick] [--only a,b] [--rounds n]\n`,
      );
      process.exit(2);
    }
  }
  return { quick, only, rounds };
}

function table(results: readonly ScenarioResult[]): string {
  const rows = [
    ['scenario', 'ours', 'baseline', 'ratio', 'paired'],
    ...results.map((r) => [
      r.name,
      `${fmt(r.ours.value)} ${r.ours.unit}`,
      `${fmt(r.baseline.value)} ${r.baseline.unit} (${r.baseline.name})`,
      `${r.ratio.toFixed(2)}x`,
      `${r.pairedRatio.toFixed(2)}x`,
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rounds = args.rounds ?? 3;
  const scenarios: Scenario[] =
    args.only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => args.only.includes(s.name));
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    process.stderr.write(
      'note: run node with --expose-gc (the bench script does) for exact memory figures\n',
    );
  }
  const server = await startRedis();
  const admin = new Redis(server.url, { maxRetriesPerRequest: null });
  const context: BenchContext = {
    url: server.url,
    quick: args.quick,
    admin,
    flush: server.kind !== 'external',
  };
  const info = await admin.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const startedAt = Date.now();
  process.stderr.write(
    `relaybus bench: ${args.quick ? 'quick' : 'full'}, ${rounds} rounds, redis ${redisVersion} (${server.kind}) at ${server.url}\n`,
  );
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      try {
        results.push(await runScenario(scenario, context, rounds, `[${index + 1}/${scenarios.length}]`));
      } catch (error) {
        // One broken scenario should not cost the figures of the others; the exit code reports it.
        failures.push(scenario.name);
        process.stderr.write(
          `${scenario.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
      }
    }
  } finally {
    admin.disconnect();
    await server.stop();
  }
  const report = {
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      redis: redisVersion,
      date: new Date().toISOString(),
      /** 1-minute load average at the end: other work on the machine shows up here. */
      loadavg1m: Number(loadavg()[0]?.toFixed(2)),
    },
    mode: args.quick ? 'quick' : 'full',
    rounds,
    durationS: Math.round((Date.now() - startedAt) / 1_000),
    scenarios: results,
    ...(failures.length > 0 ? { failed: failures } : {}),
  };
  process.stdout.write(`\n${table(results)}\n`);
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'latest.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`wrote ${out} (${report.durationS} s)\n`);
  if (failures.length > 0) {
    process.stderr.write(`failed scenarios: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
