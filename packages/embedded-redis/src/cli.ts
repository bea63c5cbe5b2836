#!/usr/bin/env node
import { resolve } from 'node:path';
import type { AofFsync } from './aof.js';
import { type EmbeddedRedisOptions, startEmbeddedRedis } from './index.js';

const USAGE = `Usage: relaybus-redis [--port 6379] [--bind 127.0.0.1] [--requirepass <password>]
                      [--appendonly yes|no] [--appendfsync always|everysec|no] [--dir <path>]`;

/** Parses redis-server-like flags into startEmbeddedRedis options (throws on a bad flag). */
export function parseCliArgs(argv: readonly string[]): EmbeddedRedisOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    if (!flag.startsWith('--')) throw new Error(`relaybus-redis: unexpected argument '${flag}'\n${USAGE}`);
    const [name, inline] = flag.slice(2).split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`relaybus-redis: --${name} needs a value\n${USAGE}`);
    values.set(name.toLowerCase(), value);
  }
  const known = new Set(['port', 'bind', 'host', 'requirepass', 'appendonly', 'appendfsync', 'dir']);
  for (const name of values.keys()) {
    if (!known.has(name)) throw new Error(`relaybus-redis: unknown option --${name}\n${USAGE}`);
  }
  const options: EmbeddedRedisOptions = {};
  const port = values.get('port');
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`relaybus-redis: --port must be 0..65535, got ${port}`);
    options.port = n;
  } else {
    options.port = 6379;
  }
  const host = values.get('bind') ?? values.get('host');
  if (host !== undefined) options.host = host;
  const password = values.get('requirepass');
  if (password !== undefined && password !== '') options.password = password;
  const appendonly = (values.get('appendonly') ?? 'no').toLowerCase();
  if (appendonly !== 'yes' && appendonly !== 'no')
    throw new Error('relaybus-redis: --appendonly must be yes or no');
  const fsync = (values.get('appendfsync') ?? 'everysec').toLowerCase();
  if (!['always', 'everysec', 'no'].includes(fsync)) {
    throw new Error('relaybus-redis: --appendfsync must be always, everysec or no');
  }
  if (appendonly === 'yes')
    options.aof = { dir: resolve(values.get('dir') ?? '.'), fsync: fsync as AofFsync };
  return options;
}

async function main(): Promise<void> {
  let options: EmbeddedRedisOptions;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const redis = await startEmbeddedRedis(options);
  console.log(
    `relaybus-redis ready on ${redis.host}:${redis.port}${options.aof ? ` (appendonly ${options.aof.dir})` : ''}`,
  );
  const stop = () => {
    void redis.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
