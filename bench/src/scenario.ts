import { Redis } from 'iovalkey';
import { type Better, median, ratio } from './stats.js';

/** What every scenario run gets. */
export interface BenchContext {
  /** Redis URL of the server under test. */
  readonly url: string;
  /** Smaller counts for `--quick`. */
  readonly quick: boolean;
  /** A plain connection for set-up, checks and FLUSHDB. */
  readonly admin: Redis;
  /** Whether FLUSHDB between runs is allowed (only on a server the harness started itself). */
  readonly flush: boolean;
}

/** One side of a scenario: runs once and returns its figure. */
export type Side = (context: BenchContext) => Promise<number>;

/** A scenario: relaybus against a baseline doing the same Redis work. */
export interface Scenario {
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
  readonly baselineName: string;
  readonly ours: Side;
  readonly baseline: Side;
  /** Fewer rounds than the run's for a scenario too long to repeat (e.g. a 1M backlog). */
  readonly maxRounds?: { readonly quick: number; readonly full: number };
}

/** The figures of one scenario, as written to latest.json. */
export interface ScenarioResult {
  readonly name: string;
  readonly ours: { readonly value: number; readonly unit: string; readonly runs: number[] };
  readonly baseline: {
    readonly name: string;
    readonly value: number;
    readonly unit: string;
    readonly runs: number[];
  };
  readonly ratio: number;
  /** Median of the per-round ratios (ours and baseline of the same round): steadier under bursts of load. */
  readonly pairedRatio: number;
}

/** A fresh connection to the server under test (callers disconnect it). */
export function connect(context: BenchContext): Redis {
  return new Redis(context.url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Longest a single run may wait for its messages before it fails instead of hanging the bench. */
export const RUN_DEADLINE_MS = 120_000;

/** Resolves with `promise`, or rejects once `ms` passed, naming what was awaited. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A random suffix so that every run has its own keys and subjects. */
export function fresh(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

/**
 * Runs ours and the baseline alternately (A B A B …) `rounds` times, so that a noisy machine does
 * not favour either side, and reports the medians. One progress line per run goes to stderr.
 */
export async function runScenario(
  scenario: Scenario,
  context: BenchContext,
  requestedRounds: number,
  label: string,
): Promise<ScenarioResult> {
  const limit = scenario.maxRounds?.[context.quick ? 'quick' : 'full'];
  const rounds = limit === undefined ? requestedRounds : Math.min(requestedRounds, limit);
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [side, run, runs] of [
      ['ours', scenario.ours, ours],
      [scenario.baselineName, scenario.baseline, baseline],
    ] as const) {
      if (context.flush) await context.admin.flushdb();
      // Each run starts on a collected heap: neither side pays for garbage the other one left.
      (globalThis as { gc?: () => void }).gc?.();
      const started = Date.now();
      const value = await run(context);
      runs.push(value);
      process.stderr.write(
        `${label} ${scenario.name} round ${round}/${rounds} ${side}: ${format(value)} ${scenario.unit} (${((Date.now() - started) / 1_000).toFixed(1)} s)\n`,
      );
    }
  }
  const oursMedian = median(ours);
  const baselineMedian = median(baseline);
  return {
    name: scenario.name,
    ours: { value: oursMedian, unit: scenario.unit, runs: ours },
    baseline: { name: scenario.baselineName, value: baselineMedian, unit: scenario.unit, runs: baseline },
    ratio: ratio(oursMedian, baselineMedian, scenario.better),
    pairedRatio: median(ours.map((value, i) => ratio(value, baseline[i] as number, scenario.better))),
  };
}
