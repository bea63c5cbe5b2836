import { describe, it } from 'vitest';
import { describeTransport, runScenario } from '../src/index.js';
import { FaultyTransport } from './broken.js';
import { MemoryTransport } from './memory.js';
import { BROKEN_RUN_OPTIONS } from './options.js';

// Controls for broken.test.ts: the delegating wrapper without a fault keeps the contract under the
// same options, so a failure there is the fault's doing and not the wrapper's.
const memory = () => new MemoryTransport({ redeliveryIdleMs: BROKEN_RUN_OPTIONS.redeliveryIdleMs });

describeTransport('memory through a wrapper without faults', () => new FaultyTransport(memory()), {
  ...BROKEN_RUN_OPTIONS,
  skip: ['requeue-yields'], // the memory bug, see memory.test.ts
});

describe('control runs of scenarios memory does not run as declared', () => {
  it('reject-drops passes on memory declared without dead letters', async () => {
    await runScenario('reject-drops', memory, { ...BROKEN_RUN_OPTIONS, capabilities: { deadLetter: false } });
  });

  it('requeue-yields passes on memory when each delivery waits for a turn of the event loop', async () => {
    const yielding = () => new FaultyTransport(memory(), { yieldBeforeEach: true });
    await runScenario('requeue-yields', yielding, BROKEN_RUN_OPTIONS);
  });

  it('ordering-total passes on memory without keys (one group, one queue: total order)', async () => {
    const keyless = () =>
      new FaultyTransport(memory(), {
        capabilities: { ordering: 'total' },
        outgoing: (_subject, { key: _key, ...rest }) => rest,
      });
    await runScenario('ordering-total', keyless, BROKEN_RUN_OPTIONS);
  });
});
