import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { findServerBinary, makeTempDir, removeDir, type ServerProcess } from './process.js';
import { sendCommand } from './resp.js';
import { isPortClash, ServerStartError, spawnUntilReady } from './server.js';
import { until } from './until.js';

/** Options of `startRedisSentinel`. */
export interface RedisSentinelOptions {
  /** The primary to monitor (e.g. a `startRedis()` server). */
  master: { host: string; port: number; password?: string };
  /** Name the sentinel knows the primary by. Default `mymaster`. */
  name?: string;
}

/** One Redis Sentinel monitoring one primary, for tests of Sentinel connections. */
export interface RedisSentinel {
  readonly host: string;
  readonly port: number;
  /** The monitored primary's name. */
  readonly name: string;
  /** Kills the sentinel and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server --sentinel` on a free loopback port, monitoring `master` (quorum 1).
 * Guarantee: when it resolves, the sentinel answers `SENTINEL GET-MASTER-ADDR-BY-NAME` with the
 * primary's address. Local only (needs redis-server/valkey-server on PATH).
 */
export async function startRedisSentinel(options: RedisSentinelOptions): Promise<RedisSentinel> {
  const binary = findServerBinary();
  if (!binary) throw new Error('startRedisSentinel needs redis-server (or valkey-server) on PATH');
  const name = options.name ?? 'mymaster';
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`startRedisSentinel: bad name ${JSON.stringify(name)}`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = makeTempDir();
    const lines = [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'daemonize no',
      `sentinel monitor ${name} ${options.master.host} ${options.master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
    ];
    if (options.master.password !== undefined) {
      lines.push(`sentinel auth-pass ${name} "${options.master.password.replace(/(["\\])/g, '\\$1')}"`);
    }
    // Sentinel rewrites its config file, so it must live in the (writable) temp dir.
    const config = join(dir, 'sentinel.conf');
    writeFileSync(config, `${lines.join('\n')}\n`);
    let proc: ServerProcess | undefined;
    try {
      proc = await spawnUntilReady(binary.server, [config, '--sentinel'], dir, port, undefined);
      await until(
        async () => {
          const reply = await sendCommand('127.0.0.1', port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
          return Array.isArray(reply) && Number(reply[1]) === options.master.port;
        },
        10_000,
        `sentinel to report primary ${name}`,
      );
      const started = proc;
      let stopped = false;
      return {
        host: '127.0.0.1',
        port,
        name,
        async stop() {
          if (stopped) return;
          stopped = true;
          await started.stop('SIGKILL');
          removeDir(dir);
        },
      };
    } catch (error) {
      await proc?.stop('SIGKILL');
      removeDir(dir);
      lastError = error;
      if (!(error instanceof ServerStartError && isPortClash(error.log))) throw error;
    }
  }
  throw lastError;
}
