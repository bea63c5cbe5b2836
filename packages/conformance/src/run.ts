import { type Capabilities, UnsupportedError } from '@relaybus/core';
import { ScenarioRun } from './context.js';
import {
  type ConformanceOptions,
  checkCapabilities,
  type ResolvedOptions,
  resolveOptions,
  type TransportFactory,
} from './options.js';
import type { Scenario } from './scenario.js';
import { ALL_SCENARIOS } from './scenarios/index.js';

/** The ids of every scenario. */
export const SCENARIO_IDS: readonly string[] = ALL_SCENARIOS.map((scenario) => scenario.id);

/** Finds a scenario by id; throws naming the known ids. */
export function scenarioById(id: string): Scenario {
  const scenario = ALL_SCENARIOS.find((candidate) => candidate.id === id);
  if (scenario === undefined) {
    throw new Error(
      `unknown conformance scenario ${JSON.stringify(id)}; known ids: ${SCENARIO_IDS.join(', ')}`,
    );
  }
  return scenario;
}

/** The capabilities a scenario runs with: the transport's, with the declared overrides laid over them. */
export function effectiveCapabilities(
  transport: { capabilities: Capabilities },
  overrides: Partial<Capabilities>,
) {
  return checkCapabilities('capabilities', { ...transport.capabilities, ...overrides }, true);
}

/** How long vitest lets one scenario run: room for several waits, redeliveries and cleanup. */
export function scenarioBudgetMs(options: ResolvedOptions): number {
  return options.timeoutMs * 4 + options.redeliveryIdleMs * 10 + 10_000;
}

/** Runs one scenario on a fresh transport from `factory` and closes it. */
export async function runResolved(
  scenario: Scenario,
  factory: TransportFactory,
  options: ResolvedOptions,
): Promise<void> {
  const transport = await factory();
  let ctx: ScenarioRun;
  try {
    const capabilities = effectiveCapabilities(transport, options.capabilities);
    const missing = scenario.missing(capabilities);
    if (missing.length > 0) {
      throw new UnsupportedError(
        `scenario ${scenario.id} does not apply: the transport lacks ${missing.join(', ')}`,
      );
    }
    ctx = new ScenarioRun(scenario.id, transport, capabilities, options);
  } catch (error) {
    await transport.close().catch(() => undefined);
    throw error;
  }
  try {
    await scenario.run(ctx);
    ctx.throwIfFailed();
  } catch (error) {
    // The scenario's own failure is the verdict; cleanup problems would only hide it.
    await ctx.cleanup().catch(() => undefined);
    throw error;
  }
  // A transport whose close() hangs or fails breaks the contract, so this may reject.
  await ctx.cleanup();
}

/**
 * Runs the scenario `id` once on a fresh transport and resolves when the transport kept its
 * guarantee; rejects with the failed assertion otherwise. Rejects with `UnsupportedError` when the
 * transport's capabilities (with `options.capabilities` over them) do not call for the scenario.
 * For tooling and for testing the suite itself; `describeTransport` is the way to run them all.
 */
export function runScenario(
  id: string,
  factory: TransportFactory,
  options?: ConformanceOptions,
): Promise<void> {
  const scenario = scenarioById(id);
  return runResolved(scenario, factory, resolveOptions(options, SCENARIO_IDS));
}
