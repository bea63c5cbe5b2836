import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'iovalkey';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../src/index.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-redis-aof-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function connect(port: number): Promise<Redis> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  return client;
}

describe('append-only file', () => {
  it('keeps every type of value and its TTL across restart()', async () => {
    const dir = tempDir();
    const redis = await startEmbeddedRedis({ aof: { dir, fsync: 'always' } });
    let client = await connect(redis.port);
    await client.set('s', 'v', 'EX', 1000);
    await client.incrby('n', 41);
    await client.incr('n');
    await client.hset('h', 'f', 'v', 'g', 'w');
    await client.sadd('set', 'a', 'b', 'c');
    await client.spop('set');
    await client.rpush('l', 'x', 'y');
    await client.zadd('z', 1.5, 'm', 2, 'n');
    const id = await client.xadd('st', '*', 'f', 'v');
    await client.select(2);
    await client.set('other-db', '1');
    await client.multi().set('t1', '1').set('t2', '2').exec();
    const members = (await client.call('SMEMBERS', 'set')) as string[];
    client.disconnect();
    await redis.restart();
    client = await connect(redis.port);
    expect(await client.get('s')).toBe('v');
    expect(await client.ttl('s')).toBeGreaterThan(990);
    expect(await client.get('n')).toBe('42');
    expect(await client.hgetall('h')).toEqual({ f: 'v', g: 'w' });
    expect((await client.smembers('set')).length).toBe(2);
    expect(await client.lrange('l', 0, -1)).toEqual(['x', 'y']);
    expect(await client.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['m', '1.5', 'n', '2']);
    expect((await client.xrange('st', '-', '+'))[0]?.[0]).toBe(id);
    await client.select(2);
    expect(await client.mget('other-db', 't1', 't2')).toEqual(['1', '1', '2']);
    expect(members).toBeDefined();
    client.disconnect();
    await redis.close();
  });

  it('replays a file whose last record is cut short, dropping only that record', async () => {
    const dir = tempDir();
    const good = '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n';
    writeFileSync(join(dir, 'appendonly.aof'), `${good}*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhel`);
    const redis = await startEmbeddedRedis({ aof: { dir, fsync: 'always' } });
    const client = await connect(redis.port);
    expect(await client.get('a')).toBe('1');
    expect(await client.exists('b')).toBe(0);
    expect(readFileSync(join(dir, 'appendonly.aof'), 'latin1').startsWith(good)).toBe(true);
    client.disconnect();
    await redis.close();
  });

  it('compacts the file with BGREWRITEAOF and keeps the data', async () => {
    const dir = tempDir();
    const redis = await startEmbeddedRedis({ aof: { dir, fsync: 'everysec' } });
    let client = await connect(redis.port);
    const pipeline = client.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.incr('counter');
    await pipeline.exec();
    await client.set('gone', 'x');
    await client.del('gone');
    const before = statSync(join(dir, 'appendonly.aof')).size;
    expect(await client.bgrewriteaof()).toBe('Background append only file rewriting started');
    const after = statSync(join(dir, 'appendonly.aof')).size;
    expect(after).toBeLessThan(before / 10);
    await client.incr('counter');
    client.disconnect();
    await redis.restart();
    client = await connect(redis.port);
    expect(await client.get('counter')).toBe('2001');
    expect(await client.exists('gone')).toBe(0);
    client.disconnect();
    await redis.close();
  });

  const cliBuilt = existsSync(CLI);
  if (!cliBuilt) console.log(`aof.test.ts: skipping the SIGKILL test: ${CLI} is not built (run pnpm build)`);

  it.skipIf(!cliBuilt)('finds every acknowledged write after SIGKILL under appendfsync always', async () => {
    const dir = tempDir();
    const start = async (): Promise<{ child: ChildProcess; port: number }> => {
      const child = spawn(
        process.execPath,
        [CLI, '--port', '0', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no ready line: ${text}`)), 20_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const m = /ready on [^:]+:(\d+)/.exec(text);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
      });
      return { child, port };
    };
    const first = await start();
    const client = await connect(first.port);
    const acknowledged: string[] = [];
    const writes = Array.from({ length: 300 }, (_, i) =>
      client.set(`k${i}`, `v${i}`).then(() => {
        acknowledged.push(`k${i}`);
      }),
    );
    await Promise.all(writes.slice(0, 200));
    first.child.kill('SIGKILL');
    await Promise.allSettled(writes);
    client.disconnect();
    await new Promise((resolve) =>
      first.child.exitCode !== null ? resolve(undefined) : first.child.once('exit', resolve),
    );
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
    const second = await start();
    const again = await connect(second.port);
    try {
      const values = await again.mget(...acknowledged);
      expect(values).toEqual(acknowledged.map((k) => `v${k.slice(1)}`));
    } finally {
      again.disconnect();
      second.child.kill('SIGKILL');
    }
  });
});
