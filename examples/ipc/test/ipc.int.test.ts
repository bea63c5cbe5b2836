import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the examples of docs/recipes/ipc.md as separate processes, the way the recipe does.
const DIR = fileURLToPath(new URL('..', import.meta.url));

let server: RedisServer;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.stop();
});

interface Run {
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  stop(): void;
}

/** Starts `node <example> ...args` with its own key prefix; collects its stdout lines. */
function run(example: string, args: string[], prefix: string): Run {
  const child = spawn(process.execPath, [example, ...args], {
    cwd: DIR,
    env: { ...process.env, REDIS_URL: server.url, IPC_PREFIX: prefix },
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
}

function freshPrefix(): string {
  return `ipc-${randomBytes(4).toString('hex')}:`;
}

describe('docs/recipes/ipc.md examples', () => {
  it('task queue: two workers share the jobs, each job is done once', async () => {
    const prefix = freshPrefix();
    const workers = [run('task-queue.mjs', ['worker'], prefix), run('task-queue.mjs', ['worker'], prefix)];
    await until(() => workers.every((worker) => worker.lines.includes('worker ready')), 20_000);
    const submit = run('task-queue.mjs', ['submit', '20'], prefix);
    expect(await submit.exited).toBe(0);
    expect(submit.lines).toContain('submitted 20 jobs');
    const done = () => workers.flatMap((worker) => worker.lines.filter((line) => line.includes('resized')));
    await until(() => done().length === 20, 20_000, 'all 20 jobs');
    const images = done().map((line) => /resized (\S+)/.exec(line)?.[1]);
    expect(new Set(images).size).toBe(20);
    for (const worker of workers) worker.stop();
    expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([0, 0]);
    expect(done()).toHaveLength(20);
  });

  it('event stream: a follower sees the retained events, then new ones; MAXLEN bounds the stream', async () => {
    const prefix = freshPrefix();
    const first = run('event-stream.mjs', ['publish', '300'], prefix);
    expect(await first.exited).toBe(0);
    // MAXLEN ~ 100 trims whole stream nodes: about 100 events stay, never all 300.
    const length = Number(
      execFileSync('redis-cli', ['-u', server.url, 'XLEN', `${prefix}{sensor-events}`], { encoding: 'utf8' }),
    );
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);

    const follower = run('event-stream.mjs', ['follow'], prefix);
    await until(() => follower.lines.some((line) => line.startsWith('follower ready')), 20_000);
    const old = follower.lines.filter((line) => line.startsWith('old '));
    expect(old).toHaveLength(100);
    expect(old.at(-1)).toBe('old boiler reading 300');
    expect(old[0]).toBe('old boiler reading 201');

    const second = run('event-stream.mjs', ['publish', '3'], prefix);
    expect(await second.exited).toBe(0);
    await until(() => follower.lines.filter((line) => line.startsWith('new ')).length === 3, 20_000);
    expect(follower.lines.filter((line) => line.startsWith('new '))).toEqual([
      'new boiler reading 1',
      'new boiler reading 2',
      'new boiler reading 3',
    ]);
    follower.stop();
    expect(await follower.exited).toBe(0);
  });

  it('cache: a waiting process gets the value another one sets', async () => {
    const prefix = freshPrefix();
    const waiter = run('cache.mjs', ['wait', 'config'], prefix);
    await until(() => waiter.lines.includes('waiting for config'), 20_000);
    const setter = run('cache.mjs', ['set', 'config', '{"mode":"fast"}'], prefix);
    expect(await setter.exited).toBe(0);
    expect(await waiter.exited).toBe(0);
    expect(waiter.lines).toContain('got config = {"mode":"fast"}');
  });

  it('cache: three processes asking for the report compute it once', async () => {
    const prefix = freshPrefix();
    const askers = [1, 2, 3].map(() => run('cache.mjs', ['report'], prefix));
    expect(await Promise.all(askers.map((asker) => asker.exited))).toEqual([0, 0, 0]);
    const lines = askers.flatMap((asker) => asker.lines);
    expect(lines.filter((line) => line.endsWith('computes the report'))).toHaveLength(1);
    const totals = lines.filter((line) => line.startsWith('report total 1234, computed by '));
    expect(new Set(totals).size).toBe(1);
    expect(totals).toHaveLength(3);
  });
});
