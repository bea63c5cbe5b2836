import { describe, expect, it } from 'vitest';
import { handlers } from '../src/handlers.js';
import { middleware } from '../src/middleware.js';
import { requestReply } from '../src/request-reply.js';
import { retries } from '../src/retries.js';
import { shutdown } from '../src/shutdown.js';
import { telemetry } from '../src/telemetry.js';
import { validation } from '../src/validation.js';

const quiet = () => {};

describe('docs/guide examples', () => {
  it('handlers: a group splits the work and another group sees everything', async () => {
    const counts = await handlers(quiet);
    expect((counts['worker-1'] ?? 0) + (counts['worker-2'] ?? 0)).toBe(6);
    expect(counts['worker-1']).toBeGreaterThan(0);
    expect(counts['worker-2']).toBeGreaterThan(0);
    expect(counts.audit).toBe(6);
  });

  it('retries: the flaky payment succeeds on delivery 3, the stolen card is dead-lettered once', async () => {
    const log = await retries(quiet);
    expect(log).toContain('visa attempt 3');
    expect(log.filter((line) => line.startsWith('stolen'))).toEqual(['stolen attempt 1']);
    expect(log).toContain('dead: rejected: card reported stolen');
  });

  it('validation: valid signups reach the handler, invalid ones are dead-lettered, filtered ones skipped', async () => {
    const result = await validation(quiet);
    expect(result[0]).toBe('ada@example.com (pro)');
    expect(result).toHaveLength(2);
    expect(result[1]).toMatch(/^validation-failed: email: .*; plan: /);
  });

  it('middleware: tenant header travels, the duplicate is skipped', async () => {
    expect(await middleware(quiet)).toEqual(['invoice 1 for acme', 'invoice 2 for acme']);
  });

  it('request-reply: a quote comes back and an unanswered request times out', async () => {
    expect(await requestReply(quiet)).toEqual(['quote: 3750 cents', 'unanswered: RELAYBUS_TIMEOUT']);
  });

  it('shutdown: stop waits for the running handler', async () => {
    const events = await shutdown(quiet);
    expect(events.indexOf('handler finished')).toBeLessThan(events.indexOf('stopped (status stopped)'));
  });

  it('telemetry: health reports the handled count', async () => {
    expect(await telemetry(quiet)).toBe('status running, connected true, handled 5');
  });
});
