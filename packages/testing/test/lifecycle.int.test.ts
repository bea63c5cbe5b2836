import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, until } from '@relaybus/testing';
import { afterAll, describe, expect, it } from 'vitest';

// Made at import time, before this file's first startRedis runs the once-per-process cleanup.
const hourAndAHalfAgo = new Date(Date.now() - 90 * 60 * 1000);
function makeOldDir(name: string, ownerPid: number): string {
  const dir = join(tmpdir(), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'owner.pid'), String(ownerPid));
  utimesSync(dir, hourAndAHalfAgo, hourAndAHalfAgo);
  return dir;
}
const staleDir = makeOldDir(`relaybus-test-stale-${process.pid}`, 2 ** 22 + 12345);
const ownedDir = makeOldDir(`relaybus-test-owned-${process.pid}`, process.pid);

afterAll(() => {
  rmSync(staleDir, { recursive: true, force: true });
  rmSync(ownedDir, { recursive: true, force: true });
});

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('server lifecycle', () => {
  it('removes temp dirs older than an hour whose owner is gone, and keeps live owners’ dirs', async () => {
    const server = await startRedis();
    await server.stop();
    expect(existsSync(staleDir)).toBe(false);
    expect(existsSync(ownedDir)).toBe(true);
  });

  it('kills the server when the process that started it is SIGKILLed', async () => {
    const script = fileURLToPath(new URL('./fixtures/hold-server.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until(() => output.includes('\n'), 10_000, 'the child to report its server port');
    const { port } = JSON.parse(output) as { port: number };
    expect(await answers(port)).toBe(true);
    child.kill('SIGKILL');
    await until(async () => !(await answers(port)), 5_000, 'the orphaned server to die');
    // The killed child could not remove its temp dir; do it here rather than in an hour.
    for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith('relaybus-test-'))) {
      const dir = join(tmpdir(), name);
      try {
        if (readFileSync(join(dir, 'owner.pid'), 'utf8') === String(child.pid))
          rmSync(dir, { recursive: true, force: true });
      } catch {
        // another run's dir, being removed
      }
    }
  });
});
