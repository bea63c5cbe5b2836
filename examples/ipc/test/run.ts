import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';

// Runs the examples of docs/recipes/ipc.md as separate processes, the way the recipe does.
const DIR = fileURLToPath(new URL('..', import.meta.url));

/** A running example process. */
export interface Run {
  /** Its stdout, line by line, as it comes. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** SIGTERM: the examples stop gracefully. */
  stop(): void;
}

/** Starts one redis-server for the calling test file; `run` starts examples against it. */
export function useRedis(): { url(): string; run(example: string, args: string[], prefix: string): Run } {
  let server: RedisServer | undefined;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.stop();
  });
  const url = (): string => {
    if (server === undefined) throw new Error('redis-server is not started yet');
    return server.url;
  };
  return {
    url,
    run(example, args, prefix) {
      const child = spawn(process.execPath, [example, ...args], {
        cwd: DIR,
        env: { ...process.env, REDIS_URL: url(), IPC_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.add(child);
      const lines: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          children.delete(child);
          resolve(code);
        }),
      );
      return { lines, exited, stop: () => child.kill('SIGTERM') };
    },
  };
}

/** A key prefix of its own, so tests never see each other's keys. */
export function freshPrefix(): string {
  return `ipc-${randomBytes(4).toString('hex')}:`;
}
