import { command, containerHandler, ERR_SYNTAX, lowerArg, subcommands } from '../args.js';
import { globMatch } from '../glob.js';
import type { EmbeddedServer } from '../server.js';
import type { CommandContext, CommandFamily, CommandHandler, CommandSpec, ReplyWriter } from '../types.js';
import { helpHandler, REDIS_VERSION } from './connection.js';

function server(ctx: CommandContext): EmbeddedServer {
  return ctx.server as EmbeddedServer;
}

// ---- COMMAND ----

function writeCommandInfo(out: ReplyWriter, spec: CommandSpec): void {
  out.array(10);
  out.bulk(spec.name);
  out.integer(spec.arity);
  out.set(spec.flags.length);
  for (const flag of spec.flags) out.simple(flag);
  out.integer(spec.firstKey);
  out.integer(spec.lastKey);
  out.integer(spec.step);
  out.set(spec.categories.length);
  for (const category of spec.categories) out.simple(`@${category}`);
  out.set(0);
  out.array(0);
  const subs = spec.subcommands ? Object.values(spec.subcommands) : [];
  out.array(subs.length);
  for (const sub of subs) writeCommandInfo(out, sub);
}

function resolveName(s: EmbeddedServer, name: string): CommandSpec | undefined {
  const [parent, sub] = name.toLowerCase().split('|');
  const spec = s.command(parent ?? '');
  if (spec === undefined || sub === undefined) return spec;
  return spec.subcommands?.[sub];
}

const commandAll: CommandHandler = (ctx) => {
  const specs = [...server(ctx).commandList()];
  ctx.out.array(specs.length);
  for (const spec of specs) writeCommandInfo(ctx.out, spec);
  return undefined;
};

const commandInfo: CommandHandler = (ctx, args) => {
  const s = server(ctx);
  if (args.length === 2) return commandAll(ctx, args);
  ctx.out.array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    const spec = resolveName(s, (args[i] as Buffer).toString('latin1'));
    if (spec === undefined) ctx.out.nullArray();
    else writeCommandInfo(ctx.out, spec);
  }
  return undefined;
};

const commandDocs: CommandHandler = (ctx, args) => {
  const s = server(ctx);
  const specs =
    args.length === 2
      ? [...s.commandList()]
      : args
          .slice(2)
          .map((a) => resolveName(s, a.toString('latin1')))
          .filter((x): x is CommandSpec => x !== undefined);
  ctx.out.map(specs.length);
  for (const spec of specs) {
    ctx.out.bulk(spec.name);
    ctx.out.map(2);
    ctx.out.bulk('summary');
    ctx.out.bulk(`The ${spec.name.toUpperCase()} command`);
    ctx.out.bulk('group');
    ctx.out.bulk(
      spec.categories.find((c) => c !== 'fast' && c !== 'slow' && c !== 'read' && c !== 'write') ?? 'generic',
    );
  }
  return undefined;
};

const commandList: CommandHandler = (ctx, args) => {
  let names = [...server(ctx).commandList()].map((s) => s.name);
  if (args.length === 5 && lowerArg(args[2]) === 'filterby' && lowerArg(args[3]) === 'pattern') {
    const pattern = (args[4] as Buffer).toString('latin1');
    names = names.filter((n) => globMatch(pattern, n, true));
  } else if (args.length !== 2) {
    ctx.out.error(ERR_SYNTAX);
    return undefined;
  }
  ctx.out.array(names.length);
  for (const name of names) ctx.out.bulk(name);
  return undefined;
};

const commandGetkeys: CommandHandler = (ctx, args) => {
  const s = server(ctx);
  const spec = s.command(lowerArg(args[2]));
  const target = args.slice(2);
  if (spec === undefined) {
    ctx.out.error('ERR Invalid command specified');
    return undefined;
  }
  if ((spec.arity > 0 && target.length !== spec.arity) || target.length < -spec.arity) {
    ctx.out.error('ERR Invalid number of arguments specified for command');
    return undefined;
  }
  const positions = [...s.keyPositions(spec, target)];
  if (positions.length === 0) {
    ctx.out.error('ERR The command has no key arguments');
    return undefined;
  }
  ctx.out.array(positions.length);
  for (const p of positions) ctx.out.bulk(target[p] as Buffer);
  return undefined;
};

// ---- INFO ----

function bytesHuman(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(2)}K`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)}M`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)}G`;
}

const SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'keyspace'];

/** The text of INFO for `sections` (empty = the default sections). */
export function infoText(s: EmbeddedServer, sections: string[]): string {
  const wanted = new Set(
    sections.length === 0 ||
      sections.includes('all') ||
      sections.includes('everything') ||
      sections.includes('default')
      ? SECTIONS
      : sections,
  );
  const now = s.now();
  const uptime = Math.max(0, Math.floor((now - s.stats.startTime) / 1000));
  const parts: string[] = [];
  const mem = process.memoryUsage();
  const clients = [...s.clients()];
  if (wanted.has('server')) {
    parts.push(
      [
        '# Server',
        `redis_version:${REDIS_VERSION}`,
        'redis_git_sha1:00000000',
        'redis_git_dirty:0',
        'redis_build_id:0',
        `redis_mode:${s.cluster ? 'cluster' : 'standalone'}`,
        `os:${process.platform} embedded`,
        'arch_bits:64',
        'multiplexing_api:node',
        `process_id:${process.pid}`,
        `run_id:${s.runId}`,
        `tcp_port:${s.config.get('port')}`,
        `server_time_usec:${now * 1000}`,
        `uptime_in_seconds:${uptime}`,
        `uptime_in_days:${Math.floor(uptime / 86400)}`,
        `hz:${s.config.get('hz')}`,
        `configured_hz:${s.config.get('hz')}`,
        'executable:relaybus-redis',
        'config_file:',
        'io_threads_active:0',
        'embedded:1',
      ].join('\r\n'),
    );
  }
  if (wanted.has('clients')) {
    parts.push(
      [
        '# Clients',
        `connected_clients:${clients.length}`,
        'cluster_connections:0',
        `maxclients:${s.config.get('maxclients')}`,
        'client_recent_max_input_buffer:0',
        'client_recent_max_output_buffer:0',
        `blocked_clients:${clients.filter((c) => c.parked !== undefined).length}`,
        'tracking_clients:0',
        'clients_in_timeout_table:0',
      ].join('\r\n'),
    );
  }
  if (wanted.has('memory')) {
    parts.push(
      [
        '# Memory',
        `used_memory:${mem.heapUsed}`,
        `used_memory_human:${bytesHuman(mem.heapUsed)}`,
        `used_memory_rss:${mem.rss}`,
        `used_memory_rss_human:${bytesHuman(mem.rss)}`,
        `used_memory_peak:${mem.heapTotal}`,
        `used_memory_peak_human:${bytesHuman(mem.heapTotal)}`,
        `maxmemory:${s.config.get('maxmemory')}`,
        `maxmemory_policy:${s.config.get('maxmemory-policy')}`,
        'mem_fragmentation_ratio:1.00',
        'mem_allocator:v8',
      ].join('\r\n'),
    );
  }
  if (wanted.has('persistence')) {
    const aofOn = s.config.get('appendonly') === 'yes';
    parts.push(
      [
        '# Persistence',
        'loading:0',
        'async_loading:0',
        `rdb_changes_since_last_save:${s.dirty}`,
        'rdb_bgsave_in_progress:0',
        `rdb_last_save_time:${Math.floor(s.stats.startTime / 1000)}`,
        'rdb_last_bgsave_status:ok',
        `aof_enabled:${aofOn ? 1 : 0}`,
        `aof_rewrite_in_progress:${s.aofRewriting ? 1 : 0}`,
        'aof_rewrite_scheduled:0',
        'aof_last_bgrewrite_status:ok',
        'aof_last_write_status:ok',
      ].join('\r\n'),
    );
  }
  if (wanted.has('stats')) {
    parts.push(
      [
        '# Stats',
        `total_connections_received:${s.stats.connectionsReceived}`,
        `total_commands_processed:${s.stats.commandsProcessed}`,
        'instantaneous_ops_per_sec:0',
        `total_net_input_bytes:${s.stats.netInputBytes}`,
        `total_net_output_bytes:${s.stats.netOutputBytes}`,
        `rejected_connections:${s.stats.rejectedConnections}`,
        `expired_keys:${s.stats.expiredKeys}`,
        'evicted_keys:0',
        `keyspace_hits:${s.stats.keyspaceHits}`,
        `keyspace_misses:${s.stats.keyspaceMisses}`,
        `pubsub_channels:${new Set(clients.flatMap((c) => [...c.channels])).size}`,
        `pubsub_patterns:${new Set(clients.flatMap((c) => [...c.patterns])).size}`,
        `pubsubshard_channels:${new Set(clients.flatMap((c) => [...c.shardChannels])).size}`,
        'total_error_replies:0',
      ].join('\r\n'),
    );
  }
  if (wanted.has('replication')) {
    parts.push(
      [
        '# Replication',
        'role:master',
        'connected_slaves:0',
        `master_replid:${s.runId}`,
        'master_replid2:0000000000000000000000000000000000000000',
        'master_repl_offset:0',
        'second_repl_offset:-1',
        'repl_backlog_active:0',
        'repl_backlog_size:1048576',
        'repl_backlog_first_byte_offset:0',
        'repl_backlog_histlen:0',
      ].join('\r\n'),
    );
  }
  if (wanted.has('cpu')) {
    const cpu = process.cpuUsage();
    parts.push(
      [
        '# CPU',
        `used_cpu_sys:${(cpu.system / 1e6).toFixed(6)}`,
        `used_cpu_user:${(cpu.user / 1e6).toFixed(6)}`,
      ].join('\r\n'),
    );
  }
  if (wanted.has('cluster')) {
    parts.push(`# Cluster\r\ncluster_enabled:${s.cluster ? 1 : 0}`);
  }
  if (wanted.has('keyspace')) {
    const lines = ['# Keyspace'];
    for (let i = 0; i < s.databases; i++) {
      const db = s.database(i);
      if (db.size() > 0) lines.push(`db${i}:keys=${db.size()},expires=${db.volatileCount()},avg_ttl=0`);
    }
    parts.push(lines.join('\r\n'));
  }
  return `${parts.join('\r\n\r\n')}\r\n`;
}

const info: CommandHandler = (ctx, args) => {
  const sections = args.slice(1).map((a) => a.toString('latin1').toLowerCase());
  ctx.out.verbatim(infoText(server(ctx), sections));
  return undefined;
};

// ---- CONFIG ----

const configGet: CommandHandler = (ctx, args) => {
  const found = new Map<string, string>();
  for (let i = 2; i < args.length; i++) {
    const pattern = (args[i] as Buffer).toString('latin1').toLowerCase();
    for (const [name, value] of ctx.server.config) {
      if (name === pattern || globMatch(pattern, name, true)) found.set(name, value);
    }
  }
  ctx.out.map(found.size);
  for (const [name, value] of found) {
    ctx.out.bulk(name);
    ctx.out.bulk(value);
  }
  return undefined;
};

const configSet: CommandHandler = (ctx, args) => {
  if ((args.length - 2) % 2 !== 0) {
    ctx.out.error("ERR wrong number of arguments for 'config|set' command");
    return undefined;
  }
  const s = server(ctx);
  const updates: [string, string][] = [];
  for (let i = 2; i < args.length; i += 2) {
    const name = (args[i] as Buffer).toString('latin1').toLowerCase();
    const value = (args[i + 1] as Buffer).toString('latin1');
    if (!s.config.has(name)) {
      ctx.out.error(
        `ERR Unknown option or number of arguments for CONFIG SET - '${(args[i] as Buffer).toString('latin1')}'`,
      );
      return undefined;
    }
    const problem = s.validateConfig(name, value);
    if (problem !== undefined) {
      ctx.out.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${problem}`);
      return undefined;
    }
    updates.push([name, value]);
  }
  for (const [name, value] of updates) s.applyConfig(name, value);
  ctx.out.simple('OK');
  return undefined;
};

const ok: CommandHandler = (ctx) => {
  ctx.out.simple('OK');
  return undefined;
};

const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Print this help.',
];

// ---- keyspace-wide ----

function flushMode(ctx: CommandContext, args: Buffer[]): boolean {
  if (args.length > 2) {
    ctx.out.error(ERR_SYNTAX);
    return false;
  }
  if (args.length === 2) {
    const mode = lowerArg(args[1]);
    if (mode !== 'async' && mode !== 'sync') {
      ctx.out.error(ERR_SYNTAX);
      return false;
    }
  }
  return true;
}

const flushdb: CommandHandler = (ctx, args) => {
  if (!flushMode(ctx, args)) return undefined;
  ctx.db.clear();
  ctx.out.simple('OK');
  return undefined;
};

const flushall: CommandHandler = (ctx, args) => {
  if (!flushMode(ctx, args)) return undefined;
  for (let i = 0; i < ctx.server.databases; i++) ctx.server.database(i).clear();
  ctx.out.simple('OK');
  return undefined;
};

const time: CommandHandler = (ctx) => {
  const now = ctx.now();
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000) % 1000;
  ctx.out.array(2);
  ctx.out.bulk(String(Math.floor(now / 1000)));
  ctx.out.bulk(String((now % 1000) * 1000 + micros));
  return undefined;
};

const shutdown: CommandHandler = (ctx, args) => {
  for (let i = 1; i < args.length; i++) {
    const option = lowerArg(args[i]);
    if (!['nosave', 'save', 'now', 'force', 'abort'].includes(option)) {
      ctx.out.error(ERR_SYNTAX);
      return undefined;
    }
    if (option === 'abort') {
      ctx.out.error('ERR No shutdown in progress.');
      return undefined;
    }
  }
  server(ctx).requestShutdown();
  return undefined;
};

const ADMIN = ['admin', 'slow', 'dangerous'] as const;

/** COMMAND, INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, SHUTDOWN, LASTSAVE, ROLE. */
export const commands: CommandFamily = [
  command('command', -1, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], commandAll, {
    subcommands: subcommands('command', [
      command('command|count', 2, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], (ctx) => {
        ctx.out.integer([...server(ctx).commandList()].length);
        return undefined;
      }),
      command('command|info', -2, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], commandInfo),
      command('command|docs', -2, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], commandDocs),
      command('command|list', -2, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], commandList),
      command('command|getkeys', -3, ['loading', 'stale'], [0, 0, 0], ['slow', 'connection'], commandGetkeys),
    ]),
  }),
  command('info', -1, ['loading', 'stale'], [0, 0, 0], ['slow', 'dangerous'], info),
  command('config', -2, [], [0, 0, 0], ['slow'], containerHandler, {
    subcommands: subcommands('config', [
      command('config|get', -3, ['admin', 'noscript', 'loading', 'stale'], [0, 0, 0], ADMIN, configGet),
      command('config|set', -4, ['admin', 'noscript', 'loading', 'stale'], [0, 0, 0], ADMIN, configSet),
      command('config|resetstat', 2, ['admin', 'noscript', 'loading', 'stale'], [0, 0, 0], ADMIN, (ctx) => {
        const stats = server(ctx).stats;
        stats.commandsProcessed = 0;
        stats.connectionsReceived = 0;
        stats.expiredKeys = 0;
        stats.keyspaceHits = 0;
        stats.keyspaceMisses = 0;
        ctx.out.simple('OK');
        return undefined;
      }),
      command('config|rewrite', 2, ['admin', 'noscript', 'loading', 'stale'], [0, 0, 0], ADMIN, ok),
      command('config|help', 2, ['loading', 'stale'], [0, 0, 0], ['slow'], helpHandler(CONFIG_HELP)),
    ]),
  }),
  command('dbsize', 1, ['readonly', 'fast'], [0, 0, 0], ['keyspace', 'read', 'fast'], (ctx) => {
    ctx.out.integer(ctx.db.size());
    return undefined;
  }),
  command('flushdb', -1, ['write'], [0, 0, 0], ['keyspace', 'write', 'slow', 'dangerous'], flushdb),
  command('flushall', -1, ['write'], [0, 0, 0], ['keyspace', 'write', 'slow', 'dangerous'], flushall),
  command('time', 1, ['loading', 'stale', 'fast'], [0, 0, 0], ['fast'], time),
  command('lastsave', 1, ['loading', 'stale', 'fast'], [0, 0, 0], ['admin', 'fast', 'dangerous'], (ctx) => {
    ctx.out.integer(Math.floor(server(ctx).stats.startTime / 1000));
    return undefined;
  }),
  command(
    'role',
    1,
    ['noscript', 'loading', 'stale', 'fast'],
    [0, 0, 0],
    ['admin', 'fast', 'dangerous'],
    (ctx) => {
      ctx.out.array(3);
      ctx.out.bulk('master');
      ctx.out.integer(0);
      ctx.out.array(0);
      return undefined;
    },
  ),
  command('bgrewriteaof', 1, ['admin', 'noscript', 'no_async_loading'], [0, 0, 0], ADMIN, (ctx) => {
    const s = server(ctx);
    if (s.aof !== undefined) {
      s.aofRewriting = true;
      try {
        s.aof.rewrite();
      } finally {
        s.aofRewriting = false;
      }
    }
    ctx.out.simple('Background append only file rewriting started');
    return undefined;
  }),
  command(
    'shutdown',
    -1,
    ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'],
    [0, 0, 0],
    ADMIN,
    shutdown,
  ),
];
