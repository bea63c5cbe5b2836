import { command, containerHandler, lowerArg, parseInteger, subcommands } from '../args.js';
import { TreeWriter } from '../resp/tree.js';
import type { Connection, EmbeddedServer } from '../server.js';
import type { ClientState, CommandContext, CommandFamily, CommandHandler, CommandSpec } from '../types.js';

/** The Redis version the embedded server reports (the one its behaviour is compared with). */
export const REDIS_VERSION = '7.0.15';

function server(ctx: CommandContext): EmbeddedServer {
  return ctx.server as EmbeddedServer;
}

function conn(ctx: CommandContext): Connection {
  return ctx.client as Connection;
}

const ping: CommandHandler = (ctx, args) => {
  if (args.length > 2) {
    ctx.out.error("ERR wrong number of arguments for 'ping' command");
    return undefined;
  }
  const client = ctx.client;
  if (ctx.out.protocol === 2 && client.channels.size + client.patterns.size + client.shardChannels.size > 0) {
    ctx.out.array(2);
    ctx.out.bulk('pong');
    ctx.out.bulk(args[1] ?? Buffer.alloc(0));
    return undefined;
  }
  if (args.length === 2) ctx.out.bulk(args[1] as Buffer);
  else ctx.out.simple('PONG');
  return undefined;
};

const quit: CommandHandler = (ctx) => {
  ctx.out.simple('OK');
  ctx.client.closeAfterReply = true;
  return undefined;
};

/** Runs the Pub/Sub family's unsubscribe commands for `client`, discarding their replies. */
function unsubscribeAll(ctx: CommandContext): void {
  const client = ctx.client;
  const s = server(ctx);
  const sink = new TreeWriter(2);
  const run = (name: string, size: number) => {
    if (size > 0 && s.command(name) !== undefined) {
      s.execute(client, [Buffer.from(name)], sink, { noBlock: true, inScript: false });
    }
  };
  run('unsubscribe', client.channels.size);
  run('punsubscribe', client.patterns.size);
  run('sunsubscribe', client.shardChannels.size);
  client.channels.clear();
  client.patterns.clear();
  client.shardChannels.clear();
}

const reset: CommandHandler = (ctx) => {
  const client = ctx.client;
  client.multi = undefined;
  s_unwatch(ctx);
  unsubscribeAll(ctx);
  client.db = 0;
  client.protocol = 2;
  client.name = undefined;
  const c = conn(ctx);
  c.noEvict = false;
  c.noTouch = false;
  const open = ctx.server.acl.defaultAuthenticated();
  client.authenticated = open;
  client.user = 'default';
  if (c.parser) c.parser.authRequired = !open;
  ctx.out.simple('RESET');
  return undefined;
};

function s_unwatch(ctx: CommandContext): void {
  server(ctx).unwatchAll(ctx.client);
}

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

function login(ctx: CommandContext, user: string, password: string): boolean {
  if (!ctx.server.acl.authenticate(user, password)) return false;
  ctx.client.user = user;
  ctx.client.authenticated = true;
  const c = conn(ctx);
  if (c.parser) c.parser.authRequired = false;
  return true;
}

const auth: CommandHandler = (ctx, args) => {
  if (args.length > 3) {
    ctx.out.error('ERR syntax error');
    return undefined;
  }
  if (
    args.length === 2 &&
    ctx.server.acl.defaultAuthenticated() &&
    ctx.server.acl.authenticate('default', '')
  ) {
    if (!ctx.server.config.get('requirepass')) {
      ctx.out.error(
        'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
      );
      return undefined;
    }
  }
  const user = args.length === 3 ? (args[1] as Buffer).toString('latin1') : 'default';
  const password = (args[args.length - 1] as Buffer).toString('latin1');
  if (login(ctx, user, password)) ctx.out.simple('OK');
  else ctx.out.error(WRONGPASS);
  return undefined;
};

/** Redis's rule for client names: printable ASCII without spaces. */
function validName(name: Buffer): boolean {
  for (const c of name) if (c < 33 || c > 126) return false;
  return true;
}

const hello: CommandHandler = (ctx, args) => {
  let protocol: 2 | 3 | undefined;
  let i = 1;
  if (args.length >= 2) {
    let version: number;
    try {
      version = parseInteger(args[1]);
    } catch {
      ctx.out.error('ERR Protocol version is not an integer or out of range');
      return undefined;
    }
    if (version < 2 || version > 3) {
      ctx.out.error('NOPROTO unsupported protocol version');
      return undefined;
    }
    protocol = version as 2 | 3;
    i = 2;
  }
  let authUser: string | undefined;
  let authPass: string | undefined;
  let name: Buffer | undefined;
  for (; i < args.length; i++) {
    const option = lowerArg(args[i]);
    const more = args.length - i - 1;
    if (option === 'auth' && more >= 2) {
      authUser = (args[i + 1] as Buffer).toString('latin1');
      authPass = (args[i + 2] as Buffer).toString('latin1');
      i += 2;
    } else if (option === 'setname' && more >= 1) {
      name = args[i + 1] as Buffer;
      if (!validName(name)) {
        ctx.out.error('ERR Client names cannot contain spaces, newlines or special characters.');
        return undefined;
      }
      i += 1;
    } else {
      ctx.out.error(`ERR Syntax error in HELLO option '${(args[i] as Buffer).toString('latin1')}'`);
      return undefined;
    }
  }
  if (authUser !== undefined && authPass !== undefined && !login(ctx, authUser, authPass)) {
    ctx.out.error(WRONGPASS);
    return undefined;
  }
  if (!ctx.client.authenticated) {
    ctx.out.error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
    return undefined;
  }
  if (name !== undefined) ctx.client.name = name.length === 0 ? undefined : name.toString('latin1');
  if (protocol !== undefined) ctx.client.protocol = protocol;
  const out = ctx.out;
  const proto = protocol ?? ctx.client.protocol;
  // The writer follows the client's protocol; a writer that does not (EXEC's) keeps its own.
  out.map(7);
  out.bulk('server');
  out.bulk('redis');
  out.bulk('version');
  out.bulk(REDIS_VERSION);
  out.bulk('proto');
  out.integer(proto);
  out.bulk('id');
  out.integer(ctx.client.id);
  out.bulk('mode');
  out.bulk(ctx.server.cluster ? 'cluster' : 'standalone');
  out.bulk('role');
  out.bulk('master');
  out.bulk('modules');
  out.array(0);
  return undefined;
};

const select: CommandHandler = (ctx, args) => {
  const index = parseInteger(args[1]);
  if (ctx.server.cluster !== undefined && index !== 0) {
    ctx.out.error('ERR SELECT is not allowed in cluster mode');
    return undefined;
  }
  if (index < 0 || index >= ctx.server.databases) {
    ctx.out.error('ERR DB index is out of range');
    return undefined;
  }
  ctx.client.db = index;
  ctx.out.simple('OK');
  return undefined;
};

// ---- CLIENT ----

/** One CLIENT LIST / CLIENT INFO line (Redis 7.0's fields). */
export function clientLine(ctx: CommandContext, client: ClientState): string {
  const c = client as Connection;
  const now = ctx.now();
  const flags = `${c.subscribed ? 'P' : ''}${c.multi ? 'x' : ''}${c.parked ? 'b' : ''}${c.noEvict ? 'e' : ''}${c.noTouch ? 'T' : ''}${c.closeAfterReply ? 'c' : ''}`;
  const qbuf = c.parser ? c.parser.buffered : 0;
  return [
    `id=${c.id}`,
    `addr=${c.address}`,
    `laddr=${c.localAddress}`,
    'fd=8',
    `name=${c.name ?? ''}`,
    `age=${Math.max(0, Math.floor((now - c.createdAt) / 1000))}`,
    `idle=${Math.max(0, Math.floor((now - c.lastInteraction) / 1000))}`,
    `flags=${flags || 'N'}`,
    `db=${c.db}`,
    `sub=${c.channels.size}`,
    `psub=${c.patterns.size}`,
    `ssub=${c.shardChannels.size}`,
    `multi=${c.multi ? c.multi.commands.length : -1}`,
    `qbuf=${qbuf}`,
    'qbuf-free=0',
    'argv-mem=0',
    'multi-mem=0',
    'rbs=16384',
    'rbp=0',
    'obl=0',
    'oll=0',
    'omem=0',
    'tot-mem=0',
    'events=r',
    `cmd=${c.lastCommand}`,
    `user=${c.user}`,
    'redir=-1',
    `resp=${c.protocol}`,
  ].join(' ');
}

function clientType(c: Connection): string {
  return c.subscribed ? 'pubsub' : 'normal';
}

const clientSetname: CommandHandler = (ctx, args) => {
  const name = args[2] as Buffer;
  if (!validName(name)) {
    ctx.out.error('ERR Client names cannot contain spaces, newlines or special characters.');
    return undefined;
  }
  ctx.client.name = name.length === 0 ? undefined : name.toString('latin1');
  ctx.out.simple('OK');
  return undefined;
};

const clientGetname: CommandHandler = (ctx) => {
  if (ctx.client.name === undefined) ctx.out.nullBulk();
  else ctx.out.bulk(Buffer.from(ctx.client.name, 'latin1'));
  return undefined;
};

const clientList: CommandHandler = (ctx, args) => {
  let clients = [...server(ctx).clients()];
  for (let i = 2; i < args.length; i++) {
    const option = lowerArg(args[i]);
    if (option === 'type' && i + 1 < args.length) {
      const type = lowerArg(args[++i]);
      if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
        ctx.out.error(`ERR Unknown client type '${(args[i] as Buffer).toString('latin1')}'`);
        return undefined;
      }
      clients = clients.filter((c) => clientType(c) === type);
    } else if (option === 'id' && i + 1 < args.length) {
      const ids = new Set<number>();
      for (i++; i < args.length; i++) {
        const id = Number((args[i] as Buffer).toString('latin1'));
        if (!Number.isInteger(id) || id <= 0) {
          ctx.out.error('ERR Invalid client ID');
          return undefined;
        }
        ids.add(id);
      }
      clients = clients.filter((c) => ids.has(c.id));
    } else {
      ctx.out.error('ERR syntax error');
      return undefined;
    }
  }
  ctx.out.verbatim(clients.map((c) => `${clientLine(ctx, c)}\n`).join(''));
  return undefined;
};

const clientKill: CommandHandler = (ctx, args) => {
  const s = server(ctx);
  if (args.length === 3) {
    const addr = (args[2] as Buffer).toString('latin1');
    const target = [...s.clients()].find((c) => c.address === addr);
    if (target === undefined) {
      ctx.out.error('ERR No such client');
      return undefined;
    }
    if (target === ctx.client) ctx.client.closeAfterReply = true;
    else s.kill(target);
    ctx.out.simple('OK');
    return undefined;
  }
  if ((args.length - 2) % 2 !== 0) {
    ctx.out.error('ERR syntax error');
    return undefined;
  }
  let candidates = [...s.clients()];
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const option = lowerArg(args[i]);
    const value = (args[i + 1] as Buffer).toString('latin1');
    if (option === 'id') {
      const id = Number(value);
      if (!Number.isInteger(id) || id <= 0) {
        ctx.out.error('ERR client-id should be greater than 0');
        return undefined;
      }
      candidates = candidates.filter((c) => c.id === id);
    } else if (option === 'addr') {
      candidates = candidates.filter((c) => c.address === value);
    } else if (option === 'laddr') {
      candidates = candidates.filter((c) => c.localAddress === value);
    } else if (option === 'user') {
      candidates = candidates.filter((c) => c.user === value);
    } else if (option === 'type') {
      const type = value.toLowerCase();
      if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
        ctx.out.error(`ERR Unknown client type '${value}'`);
        return undefined;
      }
      candidates = candidates.filter((c) => clientType(c) === type);
    } else if (option === 'skipme') {
      const v = value.toLowerCase();
      if (v !== 'yes' && v !== 'no') {
        ctx.out.error('ERR syntax error');
        return undefined;
      }
      skipMe = v === 'yes';
    } else {
      ctx.out.error('ERR syntax error');
      return undefined;
    }
  }
  let killed = 0;
  for (const target of candidates) {
    if (target === ctx.client) {
      if (skipMe) continue;
      ctx.client.closeAfterReply = true;
    } else {
      s.kill(target);
    }
    killed++;
  }
  ctx.out.integer(killed);
  return undefined;
};

const clientSetinfo: CommandHandler = (ctx, args) => {
  const attr = lowerArg(args[2]);
  const value = args[3] as Buffer;
  for (const c of value) {
    if (c < 33 || c > 126) {
      ctx.out.error(
        `ERR ${attr}-name cannot contain spaces, newlines or special characters.`.replace(
          '-name-name',
          '-name',
        ),
      );
      return undefined;
    }
  }
  if (attr === 'lib-name') ctx.client.libName = value.toString('latin1');
  else if (attr === 'lib-ver') ctx.client.libVersion = value.toString('latin1');
  else {
    ctx.out.error(`ERR Unrecognized option '${(args[2] as Buffer).toString('latin1')}'`);
    return undefined;
  }
  ctx.out.simple('OK');
  return undefined;
};

function onOff(field: 'noEvict' | 'noTouch'): CommandHandler {
  return (ctx, args) => {
    const value = lowerArg(args[2]);
    if (value !== 'on' && value !== 'off') {
      ctx.out.error('ERR syntax error');
      return undefined;
    }
    conn(ctx)[field] = value === 'on';
    ctx.out.simple('OK');
    return undefined;
  };
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.',
  'LIST [options ...]',
  '    Return information about client connections.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'HELP',
  '    Print this help.',
];

/** A `<family> HELP` handler replying the lines as status strings. */
export function helpHandler(lines: readonly string[]): CommandHandler {
  return (ctx) => {
    ctx.out.array(lines.length);
    for (const line of lines) ctx.out.simple(line);
    return undefined;
  };
}

const C = ['connection', 'slow'] as const;
const ADMIN = ['admin', 'slow', 'dangerous', 'connection'] as const;
const NOSCRIPT = ['noscript', 'loading', 'stale'];

const clientSubcommands: CommandSpec[] = [
  command('client|setname', 3, NOSCRIPT, [0, 0, 0], C, clientSetname),
  command('client|getname', 2, NOSCRIPT, [0, 0, 0], C, clientGetname),
  command('client|id', 2, NOSCRIPT, [0, 0, 0], C, (ctx) => {
    ctx.out.integer(ctx.client.id);
    return undefined;
  }),
  command('client|info', 2, NOSCRIPT, [0, 0, 0], C, (ctx) => {
    ctx.out.verbatim(`${clientLine(ctx, ctx.client)}\n`);
    return undefined;
  }),
  command('client|list', -2, ['admin', ...NOSCRIPT], [0, 0, 0], ADMIN, clientList),
  command('client|kill', -3, ['admin', ...NOSCRIPT], [0, 0, 0], ADMIN, clientKill),
  command('client|unblock', -3, ['admin', ...NOSCRIPT], [0, 0, 0], ADMIN, (ctx, args) => {
    const id = parseInteger(args[2]);
    let withError = false;
    if (args.length === 4) {
      const reason = lowerArg(args[3]);
      if (reason === 'error') withError = true;
      else if (reason !== 'timeout') {
        ctx.out.error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
        return undefined;
      }
    } else if (args.length > 4) {
      ctx.out.error('ERR syntax error');
      return undefined;
    }
    ctx.out.integer(server(ctx).unblock(id, withError) ? 1 : 0);
    return undefined;
  }),
  command('client|setinfo', 4, NOSCRIPT, [0, 0, 0], C, clientSetinfo),
  command('client|no-evict', 3, ['admin', ...NOSCRIPT], [0, 0, 0], ADMIN, onOff('noEvict')),
  command('client|no-touch', 3, NOSCRIPT, [0, 0, 0], C, onOff('noTouch')),
  command('client|help', 2, ['loading', 'stale'], [0, 0, 0], C, helpHandler(CLIENT_HELP)),
];

/** PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT. */
export const commands: CommandFamily = [
  command('ping', -1, ['fast'], [0, 0, 0], ['fast', 'connection'], ping),
  command('echo', 2, ['fast'], [0, 0, 0], ['fast', 'connection'], (ctx, args) => {
    ctx.out.bulk(args[1] as Buffer);
    return undefined;
  }),
  command('quit', -1, ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], [0, 0, 0], C, quit),
  command(
    'reset',
    1,
    ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    [0, 0, 0],
    ['fast', 'connection'],
    reset,
  ),
  command(
    'hello',
    -1,
    ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    [0, 0, 0],
    ['fast', 'connection'],
    hello,
  ),
  command(
    'auth',
    -2,
    ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    [0, 0, 0],
    ['fast', 'connection'],
    auth,
  ),
  command('select', 2, ['loading', 'stale', 'fast'], [0, 0, 0], ['fast', 'connection'], select),
  command('client', -2, [], [0, 0, 0], ['slow'], containerHandler, {
    subcommands: subcommands('client', clientSubcommands),
  }),
];
