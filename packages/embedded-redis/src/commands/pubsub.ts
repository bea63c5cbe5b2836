import { hubOf, writeConfirmation } from '../pubsub-hub.js';
import {
  type CommandContext,
  type CommandFamily,
  type CommandHandler,
  type CommandSpec,
  ReplyError,
} from '../types.js';
import { clusterTopology } from './cluster.js';
import { spec, str } from './lists.js';

type Kind = 'channel' | 'pattern' | 'shard';

function ownSet(ctx: CommandContext, kind: Kind): Set<string> {
  if (kind === 'pattern') return ctx.client.patterns;
  return kind === 'channel' ? ctx.client.channels : ctx.client.shardChannels;
}

/** The count Redis 7.0 reports after a (un)subscription: classic channels + patterns, or shard channels. */
function subscriptionCount(ctx: CommandContext, kind: Kind): number {
  if (kind === 'shard') return ctx.client.shardChannels.size;
  return ctx.client.channels.size + ctx.client.patterns.size;
}

const NAMES: Record<Kind, [string, string]> = {
  channel: ['subscribe', 'unsubscribe'],
  pattern: ['psubscribe', 'punsubscribe'],
  shard: ['ssubscribe', 'sunsubscribe'],
};

function subscribeCommand(kind: Kind): CommandHandler {
  return (ctx, args) => {
    const hub = hubOf(ctx.server);
    for (let i = 1; i < args.length; i++) {
      const name = str(args[i] as Buffer);
      hub.subscribe(ctx.client, kind, name);
      writeConfirmation(ctx.out, NAMES[kind][0], name, subscriptionCount(ctx, kind));
    }
    return undefined;
  };
}

function unsubscribeCommand(kind: Kind): CommandHandler {
  return (ctx, args) => {
    const hub = hubOf(ctx.server);
    const reply = NAMES[kind][1];
    if (args.length === 1) {
      const all = [...ownSet(ctx, kind)];
      if (all.length === 0) writeConfirmation(ctx.out, reply, undefined, subscriptionCount(ctx, kind));
      for (const name of all) {
        hub.unsubscribe(ctx.client, kind, name);
        writeConfirmation(ctx.out, reply, name, subscriptionCount(ctx, kind));
      }
      return undefined;
    }
    for (let i = 1; i < args.length; i++) {
      const name = str(args[i] as Buffer);
      hub.unsubscribe(ctx.client, kind, name);
      writeConfirmation(ctx.out, reply, name, subscriptionCount(ctx, kind));
    }
    return undefined;
  };
}

/**
 * PUBLISH replies with the receivers on this node; on a Cluster node the message also reaches the
 * subscribers of every other node, as the Cluster bus carries it in Redis.
 */
const publish: CommandHandler = (ctx, args) => {
  const channel = str(args[1] as Buffer);
  const message = args[2] as Buffer;
  ctx.out.integer(ctx.server.publish(channel, message));
  clusterTopology(ctx.server.cluster)?.broadcast(channel, message);
  return undefined;
};

const spublish: CommandHandler = (ctx, args) => {
  ctx.out.integer(ctx.server.spublish(str(args[1] as Buffer), args[2] as Buffer));
  return undefined;
};

function channelsCommand(kind: 'channel' | 'shard'): CommandHandler {
  return (ctx, args) => {
    if (args.length > 3) {
      // Redis names the subcommand as the client spelled it.
      const name = (args[1] as Buffer).toString('latin1');
      throw new ReplyError(
        `ERR unknown subcommand or wrong number of arguments for '${name}'. Try PUBSUB HELP.`,
      );
    }
    const pattern = args[2] === undefined ? undefined : str(args[2]);
    const channels = hubOf(ctx.server).channels(kind, pattern);
    ctx.out.array(channels.length);
    for (const channel of channels) ctx.out.bulk(Buffer.from(channel, 'latin1'));
    return undefined;
  };
}

function numsubCommand(kind: 'channel' | 'shard'): CommandHandler {
  return (ctx, args) => {
    const hub = hubOf(ctx.server);
    ctx.out.array((args.length - 2) * 2);
    for (let i = 2; i < args.length; i++) {
      ctx.out.bulk(args[i] as Buffer);
      ctx.out.integer(hub.subscribers(kind, str(args[i] as Buffer)));
    }
    return undefined;
  };
}

const numpat: CommandHandler = (ctx) => {
  ctx.out.integer(hubOf(ctx.server).patternCount());
  return undefined;
};

const HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

const help: CommandHandler = (ctx) => {
  ctx.out.array(HELP.length);
  for (const line of HELP) ctx.out.simple(line);
  return undefined;
};

const subscribeFlags = ['pubsub', 'noscript', 'loading', 'stale'];
const pubsubSlow = ['pubsub', 'slow'] as const;

const subcommands: Record<string, CommandSpec> = {
  channels: spec(
    'pubsub|channels',
    -2,
    ['pubsub', 'loading', 'stale'],
    [0, 0, 0],
    pubsubSlow,
    channelsCommand('channel'),
  ),
  numsub: spec(
    'pubsub|numsub',
    -2,
    ['pubsub', 'loading', 'stale'],
    [0, 0, 0],
    pubsubSlow,
    numsubCommand('channel'),
  ),
  numpat: spec('pubsub|numpat', 2, ['pubsub', 'loading', 'stale'], [0, 0, 0], pubsubSlow, numpat),
  shardchannels: spec(
    'pubsub|shardchannels',
    -2,
    ['pubsub', 'loading', 'stale'],
    [0, 0, 0],
    pubsubSlow,
    channelsCommand('shard'),
  ),
  shardnumsub: spec(
    'pubsub|shardnumsub',
    -2,
    ['pubsub', 'loading', 'stale'],
    [0, 0, 0],
    pubsubSlow,
    numsubCommand('shard'),
  ),
  help: spec('pubsub|help', 2, ['loading', 'stale'], [0, 0, 0], ['slow'], help),
};

/** The Pub/Sub commands: classic, pattern and sharded, with RESP2 arrays / RESP3 pushes as Redis 7.0. */
export const commands: CommandFamily = [
  spec('subscribe', -2, subscribeFlags, [0, 0, 0], pubsubSlow, subscribeCommand('channel')),
  spec('unsubscribe', -1, subscribeFlags, [0, 0, 0], pubsubSlow, unsubscribeCommand('channel')),
  spec('psubscribe', -2, subscribeFlags, [0, 0, 0], pubsubSlow, subscribeCommand('pattern')),
  spec('punsubscribe', -1, subscribeFlags, [0, 0, 0], pubsubSlow, unsubscribeCommand('pattern')),
  spec('ssubscribe', -2, subscribeFlags, [1, -1, 1], pubsubSlow, subscribeCommand('shard')),
  spec('sunsubscribe', -1, subscribeFlags, [1, -1, 1], pubsubSlow, unsubscribeCommand('shard')),
  spec('publish', 3, ['pubsub', 'loading', 'stale', 'fast'], [0, 0, 0], ['pubsub', 'fast'], publish),
  spec('spublish', 3, ['pubsub', 'loading', 'stale', 'fast'], [1, 1, 1], ['pubsub', 'fast'], spublish),
  {
    ...spec('pubsub', -2, [], [0, 0, 0], ['slow'], help),
    subcommands,
  },
];
