import { ErrorCode, isRelaybusError } from '@relaybus/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS } from '../src/index.js';
import { BROKEN_VARIANTS, type FaultyTransport } from './broken.js';
import { MemoryTransport } from './memory.js';
import { BROKEN_RUN_OPTIONS } from './options.js';

const created: FaultyTransport[] = [];
afterAll(async () => {
  // Some faults (close-keeps-publishing) never close the memory transport inside.
  await Promise.all(created.map((transport) => transport.closeInner().catch(() => undefined)));
});

/** Resolves with the error a scenario failed with; fails when it passed. */
async function failureOf(run: Promise<void>): Promise<unknown> {
  try {
    await run;
  } catch (error) {
    return error;
  }
  throw new Error('the scenario passed on a broken transport');
}

describe.concurrent('the suite catches broken transports', () => {
  for (const variant of BROKEN_VARIANTS) {
    for (const [id, reason] of Object.entries(variant.caughtBy)) {
      it(`${variant.name} (${variant.description}) fails ${id}`, async () => {
        const factory = () => {
          const transport = variant.wrap(
            new MemoryTransport({ redeliveryIdleMs: BROKEN_RUN_OPTIONS.redeliveryIdleMs }),
            BROKEN_RUN_OPTIONS.redeliveryIdleMs,
          );
          created.push(transport);
          return transport;
        };
        const error = await failureOf(runScenario(id, factory, BROKEN_RUN_OPTIONS));
        expect(
          isRelaybusError(error, ErrorCode.Unsupported),
          `inapplicable, not failed: ${String(error)}`,
        ).toBe(false);
        expect(String(error), 'the failure names what this fault breaks').toMatch(reason);
      });
    }
  }
});

describe('the broken-transport table', () => {
  it('names only scenarios that exist', () => {
    const ids = new Set(SCENARIOS.map((scenario) => scenario.id));
    const unknown = BROKEN_VARIANTS.flatMap((variant) => Object.keys(variant.caughtBy)).filter(
      (id) => !ids.has(id),
    );
    expect(unknown).toEqual([]);
  });

  it('has a fault that each scenario catches, but the inspection of the transport object itself', () => {
    const caught = new Set(BROKEN_VARIANTS.flatMap((variant) => Object.keys(variant.caughtBy)));
    const uncaught = SCENARIOS.map((scenario) => scenario.id).filter((id) => !caught.has(id));
    expect(uncaught).toEqual(['transport-shape']);
  });
});
