import type { Capabilities } from '@relaybus/core';
import { describe, it } from 'vitest';
import { type ConformanceOptions, isComplete, resolveOptions, type TransportFactory } from './options.js';
import { effectiveCapabilities, runResolved, SCENARIO_IDS, scenarioBudgetMs } from './run.js';
import { ALL_SCENARIOS } from './scenarios/index.js';

async function collectCapabilities(
  name: string,
  factory: TransportFactory,
  overrides: Partial<Capabilities>,
): Promise<Capabilities> {
  if (isComplete(overrides)) return overrides;
  let transport: Awaited<ReturnType<TransportFactory>>;
  try {
    transport = await factory();
  } catch (cause) {
    throw new Error(
      `describeTransport(${JSON.stringify(name)}): the factory failed while the suite read the transport's capabilities. ` +
        'The factory is called once while tests are collected (before beforeAll hooks run); make it work then ' +
        '(transports connect lazily) or pass every capability in options.capabilities.',
      { cause },
    );
  }
  try {
    return effectiveCapabilities(transport, overrides);
  } finally {
    await transport.close().catch(() => undefined);
  }
}

/**
 * Registers the conformance suite for a transport: one vitest `it` per scenario its capabilities
 * call for, and an `it.skip` naming the missing capability (or `options.skip`) for every other.
 * Each test makes a fresh transport with `factory` and closes it when done.
 */
export function describeTransport(
  name: string,
  factory: TransportFactory,
  options?: ConformanceOptions,
): void {
  const resolved = resolveOptions(options, SCENARIO_IDS);
  describe(`relaybus conformance: ${name}`, async () => {
    const capabilities = await collectCapabilities(name, factory, resolved.capabilities);
    const skipped: string[] = [];
    for (const scenario of ALL_SCENARIOS) {
      const title = `${scenario.id}: ${scenario.guarantee}`;
      if (resolved.skip.has(scenario.id)) {
        skipped.push(`${scenario.id} (options.skip)`);
        it.skip(`${title} [skipped by options.skip]`, () => undefined);
        continue;
      }
      const missing = scenario.missing(capabilities);
      if (missing.length > 0) {
        skipped.push(`${scenario.id} (needs ${missing.join(', ')})`);
        it.skip(`${title} [skipped: transport lacks ${missing.join(', ')}]`, () => undefined);
        continue;
      }
      it(title, () => runResolved(scenario, factory, resolved), scenarioBudgetMs(resolved));
    }
    if (skipped.length > 0) {
      console.info(
        `[relaybus conformance] ${name}: ${skipped.length} scenario(s) skipped: ${skipped.join('; ')}`,
      );
    }
  });
}
