import { command } from '../args.js';
import type { CommandFamily, CommandHandler } from '../types.js';

const multi: CommandHandler = (ctx) => {
  if (ctx.client.multi !== undefined) {
    ctx.out.error('ERR MULTI calls can not be nested');
    return undefined;
  }
  ctx.client.multi = { commands: [], failed: false };
  ctx.out.simple('OK');
  return undefined;
};

const discard: CommandHandler = (ctx) => {
  if (ctx.client.multi === undefined) {
    ctx.out.error('ERR DISCARD without MULTI');
    return undefined;
  }
  ctx.client.multi = undefined;
  ctx.client.watched.clear();
  ctx.out.simple('OK');
  return undefined;
};

const watch: CommandHandler = (ctx, args) => {
  if (ctx.client.multi !== undefined) {
    ctx.out.error('ERR WATCH inside MULTI is not allowed');
    return undefined;
  }
  const db = ctx.db;
  for (let i = 1; i < args.length; i++) {
    const key = (args[i] as Buffer).toString('latin1');
    const id = `${db.index}\u0000${key}`;
    if (ctx.client.watched.has(id)) continue;
    db.get(key);
    ctx.client.watched.set(id, { db: db.index, version: db.version(key) });
  }
  ctx.out.simple('OK');
  return undefined;
};

const unwatch: CommandHandler = (ctx) => {
  ctx.client.watched.clear();
  ctx.out.simple('OK');
  return undefined;
};

const exec: CommandHandler = (ctx) => {
  const client = ctx.client;
  const queued = client.multi;
  if (queued === undefined) {
    ctx.out.error('ERR EXEC without MULTI');
    return undefined;
  }
  client.multi = undefined;
  if (queued.failed) {
    client.watched.clear();
    ctx.out.error('EXECABORT Transaction discarded because of previous errors.');
    return undefined;
  }
  for (const [id, watched] of client.watched) {
    const db = ctx.server.database(watched.db);
    const key = id.slice(id.indexOf('\u0000') + 1);
    db.get(key);
    if (db.version(key) !== watched.version) {
      client.watched.clear();
      ctx.out.nullArray();
      return undefined;
    }
  }
  client.watched.clear();
  ctx.out.array(queued.commands.length);
  for (const args of queued.commands) {
    ctx.server.execute(client, args, ctx.out, { noBlock: true, inScript: ctx.inScript });
  }
  return undefined;
};

const FLAGS = ['noscript', 'loading', 'stale', 'fast', 'allow_busy'];
const CATS = ['fast', 'transaction'] as const;

/** MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queuing itself happens in the server's dispatch. */
export const commands: CommandFamily = [
  command('multi', 1, FLAGS, [0, 0, 0], CATS, multi),
  command(
    'exec',
    1,
    ['noscript', 'loading', 'stale', 'skip_slowlog'],
    [0, 0, 0],
    ['slow', 'transaction'],
    exec,
  ),
  command('discard', 1, FLAGS, [0, 0, 0], CATS, discard),
  command('watch', -2, FLAGS, [1, -1, 1], CATS, watch),
  command('unwatch', 1, FLAGS, [0, 0, 0], CATS, unwatch),
];
