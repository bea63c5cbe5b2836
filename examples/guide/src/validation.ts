import { Broker, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';
import { z } from 'zod';

const Signup = z.object({ email: z.email(), plan: z.enum(['free', 'pro']) });

/** The handler gets typed, validated bodies; an invalid one is dead-lettered with the issues. */
export async function validation(print: (line: string) => void = console.log): Promise<string[]> {
  const transport = new MemoryTransport();
  const broker = new Broker({ transport, logger: silentLogger });
  const welcomed: string[] = [];
  await broker.subscribe('signups', (signup) => void welcomed.push(`${signup.email} (${signup.plan})`), {
    schema: Signup,
    filter: (body) => (body as { plan?: string }).plan !== 'internal-test',
  });
  await broker.publish('signups', { email: 'ada@example.com', plan: 'pro' });
  await broker.publish('signups', { email: 'not-an-email', plan: 'gold' });
  await broker.publish('signups', { email: 'qa@example.com', plan: 'internal-test' });
  let letters = await transport.deadLetters('signups');
  for (let i = 0; (letters.length === 0 || welcomed.length === 0) && i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    letters = await transport.deadLetters('signups');
  }
  for (const name of welcomed) print(`welcome ${name}`);
  for (const letter of letters) print(`dead letter: ${letter.headers['x-relaybus-dead-letter-reason']}`);
  await broker.stop();
  return [...welcomed, ...letters.map((l) => l.headers['x-relaybus-dead-letter-reason'] ?? '')];
}
