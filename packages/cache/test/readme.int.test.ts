import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

// Runs the README's example as written, against a throwaway redis-server.
const README = fileURLToPath(new URL('../README.md', import.meta.url));

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

it('the README example prints what its comments say', async () => {
  const source = /```ts\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))?.[1];
  expect(source).toBeDefined();
  const file = fileURLToPath(
    new URL(`./readme-example-${randomBytes(4).toString('hex')}.ts`, import.meta.url),
  );
  writeFileSync(file, source as string);
  const printed: unknown[][] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args);
  });
  const previousUrl = process.env.REDIS_URL;
  process.env.REDIS_URL = server.url;
  try {
    await import(file);
  } finally {
    log.mockRestore();
    process.env.REDIS_URL = previousUrl;
    if (previousUrl === undefined) delete process.env.REDIS_URL;
    rmSync(file, { force: true });
  }
  expect(printed[0]).toEqual([{ state: 'done', result: 42 }]);
  expect(printed[1]).toEqual([undefined]);
  expect(printed[2]?.[0]).toBeGreaterThan(59_000);
  expect(printed[3]).toEqual([[1, 1, 1], 1]);
});
