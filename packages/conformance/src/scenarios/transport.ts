import { expect } from 'vitest';
import { checkCapabilities } from '../options.js';
import { defineScenario } from '../scenario.js';
import { withDeadline } from '../wait.js';

/** The transport object itself: name, a complete capabilities declaration, the methods it promises. */
export const transportShape = defineScenario({
  id: 'transport-shape',
  guarantee:
    'declares a name and every capability, has history()/deadLetters() where it claims them, and connect() is idempotent',
  needs: [],
  async run(ctx) {
    const { transport, capabilities } = ctx;
    expect(typeof transport.name, 'transport.name is a string').toBe('string');
    expect(transport.name.length, 'transport.name is not empty').toBeGreaterThan(0);
    // Throws a ConfigError naming the first missing or malformed capability.
    checkCapabilities('transport.capabilities', transport.capabilities, true);
    expect(
      !capabilities.requeue || capabilities.acknowledgements,
      'requeue needs acknowledgements (nack is how a message is requeued)',
    ).toBe(true);
    expect(!capabilities.delayedRequeue || capabilities.requeue, 'delayedRequeue needs requeue').toBe(true);
    expect(
      !capabilities.redeliveryAfterCrash || capabilities.acknowledgements,
      'redeliveryAfterCrash needs acknowledgements (only unsettled deliveries come back)',
    ).toBe(true);
    if (capabilities.history) {
      expect(typeof transport.history, 'capabilities.history is set, so transport.history()').toBe(
        'function',
      );
    }
    if (capabilities.deadLetter) {
      expect(typeof transport.deadLetters, 'capabilities.deadLetter is set, so transport.deadLetters()').toBe(
        'function',
      );
    }
    await withDeadline(
      Promise.all([transport.connect(), transport.connect()]),
      ctx.timeoutMs,
      'two concurrent connect() calls',
    );
    await withDeadline(transport.connect(), ctx.timeoutMs, 'a third connect() call');
  },
});
