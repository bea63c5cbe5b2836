/**
 * Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP, on the
 * per-server engine of src/lua/engine.ts.
 */
import { NOSCRIPT_ERROR, scriptEngine, sha1hex } from '../lua/engine.js';
import type { CommandContext, CommandFamily, CommandHandler, CommandSpec } from '../types.js';

const INTEGER_ERROR = 'ERR value is not an integer or out of range';

/** numkeys of an EVAL-family call, or the error reply. */
function numberOfKeys(args: Buffer[]): number | string {
  const text = args[2]!.toString('latin1');
  if (!/^-?\d{1,19}$/.test(text)) return INTEGER_ERROR;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return INTEGER_ERROR;
  if (n < 0) return "ERR Number of keys can't be negative";
  if (n > args.length - 3) return "ERR Number of keys can't be greater than number of args";
  return n;
}

function evalKeys(args: Buffer[]): number[] {
  const n = args.length > 2 ? numberOfKeys(args) : 0;
  if (typeof n === 'string') return [];
  const positions: number[] = [];
  for (let i = 0; i < n; i++) positions.push(3 + i);
  return positions;
}

function evalHandler(bySha: boolean, readOnly: boolean): CommandHandler {
  return (ctx, args) => {
    const n = numberOfKeys(args);
    if (typeof n === 'string') {
      ctx.out.error(n);
      return undefined;
    }
    const keys = args.slice(3, 3 + n);
    const argv = args.slice(3 + n);
    const engine = scriptEngine(ctx.server);
    if (bySha) {
      const sha = args[1]!.toString('latin1').toLowerCase();
      if (sha.length !== 40) ctx.out.error(NOSCRIPT_ERROR);
      else engine.run(ctx, sha, undefined, keys, argv, readOnly);
    } else {
      const body = args[1]!;
      engine.run(ctx, sha1hex(body), body, keys, argv, readOnly);
    }
    return undefined;
  };
}

function evalSpec(name: string, bySha: boolean, readOnly: boolean): CommandSpec {
  const flags = ['noscript', 'stale', 'skip_monitor', 'no_mandatory_keys', 'movablekeys'];
  return {
    name,
    arity: -3,
    flags: readOnly ? ['readonly', ...flags] : flags,
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow', 'scripting'],
    keys: evalKeys,
    handler: evalHandler(bySha, readOnly),
  };
}

const HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

function sub(
  name: string,
  arity: number,
  flags: string[],
  handler: (ctx: CommandContext, args: Buffer[]) => void,
): CommandSpec {
  return {
    name: `script|${name}`,
    arity,
    flags,
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow', 'scripting'],
    handler: (ctx, args) => {
      handler(ctx, args);
      return undefined;
    },
  };
}

const scriptSubcommands: Record<string, CommandSpec> = {
  help: sub('help', 2, ['loading', 'stale'], (ctx) => {
    ctx.out.array(HELP.length);
    for (const line of HELP) ctx.out.simple(line);
  }),
  flush: sub('flush', -2, ['noscript'], (ctx, args) => {
    const mode = args[2]?.toString('latin1').toLowerCase();
    if (args.length > 3 || (mode !== undefined && mode !== 'sync' && mode !== 'async')) {
      ctx.out.error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
      return;
    }
    scriptEngine(ctx.server).flush();
    ctx.out.simple('OK');
  }),
  exists: sub('exists', -3, ['noscript'], (ctx, args) => {
    const engine = scriptEngine(ctx.server);
    ctx.out.array(args.length - 2);
    for (let i = 2; i < args.length; i++) ctx.out.integer(engine.has(args[i]!.toString('latin1')) ? 1 : 0);
  }),
  debug: sub('debug', 3, ['noscript'], (ctx) => {
    ctx.out.error('ERR SCRIPT DEBUG is not supported by the embedded server');
  }),
  kill: sub('kill', 2, ['noscript', 'allow_busy'], (ctx) => {
    // A script runs synchronously: no command is ever served while one runs.
    ctx.out.error('NOTBUSY No scripts in execution right now.');
  }),
  load: sub('load', 3, ['noscript', 'stale'], (ctx, args) => {
    const result = scriptEngine(ctx.server).load(args[2]!);
    if ('error' in result) ctx.out.error(result.error);
    else ctx.out.bulk(result.sha);
  }),
};

/** The scripting commands. */
export const commands: CommandFamily = [
  evalSpec('eval', false, false),
  evalSpec('evalsha', true, false),
  evalSpec('eval_ro', false, true),
  evalSpec('evalsha_ro', true, true),
  {
    name: 'script',
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow'],
    subcommands: scriptSubcommands,
    handler: (ctx, args) => {
      const name = args[1]?.toString('latin1') ?? '';
      const spec = scriptSubcommands[name.toLowerCase()];
      if (spec === undefined) ctx.out.error(`ERR unknown subcommand '${name}'. Try SCRIPT HELP.`);
      else return spec.handler(ctx, args);
      return undefined;
    },
  },
];
