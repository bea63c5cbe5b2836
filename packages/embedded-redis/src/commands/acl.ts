/**
 * The ACL command: SETUSER, GETUSER, DELUSER, USERS, WHOAMI, LIST, CAT, DRYRUN, GENPASS, LOG,
 * SAVE/LOAD (no ACL file) and HELP, over the server's `Acl` (src/acl.ts).
 */
import { randomBytes } from 'node:crypto';
import { ACL_CATEGORIES, Acl, AclRuleError } from '../acl.js';
import type { CommandCategory, CommandContext, CommandFamily, CommandSpec } from '../types.js';
import { commandTable } from './index.js';

const HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

const NO_ACL_FILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

/** The server's Acl, or undefined (after an error reply) when it is another AccessControl. */
function aclOf(ctx: CommandContext): Acl | undefined {
  const acl = ctx.server.acl;
  if (acl instanceof Acl) return acl;
  ctx.out.error('ERR ACL is not available on this server');
  return undefined;
}

function text(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1');
}

const ADMIN = ['admin', 'noscript', 'loading', 'stale'];
const ADMIN_CATEGORIES: CommandCategory[] = ['admin', 'slow', 'dangerous'];

function sub(
  name: string,
  arity: number,
  admin: boolean,
  handler: (ctx: CommandContext, args: Buffer[]) => void,
): CommandSpec {
  return {
    name: `acl|${name}`,
    arity,
    flags: admin ? ADMIN : ['noscript', 'loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: admin ? ADMIN_CATEGORIES : ['slow'],
    handler: (ctx, args) => {
      handler(ctx, args);
      return undefined;
    },
  };
}

/** Every command and subcommand (`parent|sub`) with its spec. */
function allCommands(): [string, CommandSpec][] {
  const out: [string, CommandSpec][] = [];
  for (const [name, spec] of commandTable()) {
    if (spec.subcommands) {
      for (const [subName, subSpec] of Object.entries(spec.subcommands))
        out.push([`${name}|${subName}`, subSpec]);
    } else out.push([name, spec]);
  }
  return out;
}

const subcommands: Record<string, CommandSpec> = {
  help: sub('help', 2, false, (ctx) => {
    ctx.out.array(HELP.length);
    for (const line of HELP) ctx.out.simple(line);
  }),
  whoami: sub('whoami', 2, false, (ctx) => {
    ctx.out.bulk(Buffer.from(ctx.client.user, 'latin1'));
  }),
  users: sub('users', 2, true, (ctx) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const names = acl.userNames();
    ctx.out.array(names.length);
    for (const name of names) ctx.out.bulk(Buffer.from(name, 'latin1'));
  }),
  list: sub('list', 2, true, (ctx) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const names = acl.userNames();
    ctx.out.array(names.length);
    for (const name of names) ctx.out.bulk(Buffer.from(acl.user(name)!.describe(), 'latin1'));
  }),
  setuser: sub('setuser', -3, true, (ctx, args) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const rules = args.slice(3).map(text);
    try {
      acl.setUser(text(args[2]), rules, (name) => ctx.server.command(name));
    } catch (error) {
      if (error instanceof AclRuleError) {
        ctx.out.error(error.message);
        return;
      }
      throw error;
    }
    ctx.out.simple('OK');
  }),
  getuser: sub('getuser', 3, true, (ctx, args) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const user = acl.user(text(args[2]));
    if (user === undefined) {
      ctx.out.nullArray();
      return;
    }
    const out = ctx.out;
    out.map(6);
    out.bulk('flags');
    const flags = user.flags();
    out.array(flags.length);
    for (const flag of flags) out.bulk(flag);
    out.bulk('passwords');
    out.array(user.passwords.size);
    for (const hash of user.passwords) out.bulk(hash);
    out.bulk('commands');
    out.bulk(user.describeCommands());
    out.bulk('keys');
    out.bulk(Buffer.from(user.describeKeys(), 'latin1'));
    out.bulk('channels');
    out.bulk(Buffer.from(user.describeChannels(), 'latin1'));
    out.bulk('selectors');
    out.array(0);
  }),
  deluser: sub('deluser', -3, true, (ctx, args) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const names = args.slice(2).map(text);
    if (names.includes('default')) {
      ctx.out.error("ERR The 'default' user cannot be removed");
      return;
    }
    let deleted = 0;
    for (const name of names) {
      if (!acl.deleteUser(name)) continue;
      deleted++;
      // Redis disconnects the clients authenticated as a deleted user.
      for (const client of ctx.server.clients()) if (client.user === name) client.closeAfterReply = true;
    }
    ctx.out.integer(deleted);
  }),
  cat: sub('cat', -2, false, (ctx, args) => {
    if (args.length > 3) {
      ctx.out.error("ERR wrong number of arguments for 'acl|cat' command");
      return;
    }
    if (args.length === 2) {
      ctx.out.array(ACL_CATEGORIES.length);
      for (const category of ACL_CATEGORIES) ctx.out.bulk(category);
      return;
    }
    const category = text(args[2]).toLowerCase() as CommandCategory;
    if (!ACL_CATEGORIES.includes(category)) {
      ctx.out.error(`ERR Unknown category '${text(args[2])}'`);
      return;
    }
    const names = allCommands()
      .filter(([, spec]) => spec.categories.includes(category))
      .map(([name]) => name);
    ctx.out.array(names.length);
    for (const name of names) ctx.out.bulk(name);
  }),
  dryrun: sub('dryrun', -4, true, (ctx, args) => {
    const acl = aclOf(ctx);
    if (!acl) return;
    const userName = text(args[2]);
    if (acl.user(userName) === undefined) {
      ctx.out.error(`ERR User '${userName}' not found`);
      return;
    }
    const call = args.slice(3);
    const name = text(call[0]).toLowerCase();
    let spec = ctx.server.command(name);
    if (spec?.subcommands && call.length > 1) spec = spec.subcommands[text(call[1]).toLowerCase()] ?? spec;
    if (spec === undefined) {
      ctx.out.error(`ERR Command '${text(call[0])}' not found`);
      return;
    }
    if ((spec.arity > 0 && call.length !== spec.arity) || call.length < -spec.arity) {
      ctx.out.error(`ERR wrong number of arguments for '${name}' command`);
      return;
    }
    const denial = acl.denial(userName, spec, call, keyPositionsOf(spec, call));
    if (denial === undefined) ctx.out.simple('OK');
    else if (denial.kind === 'command') {
      ctx.out.bulk(`This user has no permissions to run the '${denial.name}' command`);
    } else {
      ctx.out.bulk(
        Buffer.from(`This user has no permissions to access the '${denial.name}' ${denial.kind}`, 'latin1'),
      );
    }
  }),
  genpass: sub('genpass', -2, false, (ctx, args) => {
    let bits = 256;
    if (args.length > 2) {
      const value = Number(text(args[2]));
      if (args.length > 3 || !Number.isInteger(value) || value <= 0 || value > 4096) {
        ctx.out.error(
          'ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096',
        );
        return;
      }
      bits = value;
    }
    const chars = Math.ceil(bits / 4);
    ctx.out.bulk(
      randomBytes(Math.ceil(chars / 2))
        .toString('hex')
        .slice(0, chars),
    );
  }),
  log: sub('log', -2, true, (ctx, args) => {
    // Denials are not logged by the embedded server: the log is always empty.
    if (args.length > 2 && text(args[2]).toLowerCase() === 'reset') ctx.out.simple('OK');
    else ctx.out.array(0);
  }),
  save: sub('save', 2, true, (ctx) => {
    ctx.out.error(NO_ACL_FILE);
  }),
  load: sub('load', 2, true, (ctx) => {
    ctx.out.error(NO_ACL_FILE);
  }),
};

function keyPositionsOf(spec: CommandSpec, args: Buffer[]): number[] {
  if (spec.keys) return spec.keys(args);
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : Math.min(spec.lastKey, args.length - 1);
  const positions: number[] = [];
  for (let i = spec.firstKey; i <= last; i += Math.max(1, spec.step)) positions.push(i);
  return positions;
}

/** The ACL command. */
export const commands: CommandFamily = [
  {
    name: 'acl',
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow'],
    subcommands,
    handler: (ctx, args) => {
      const name = text(args[1]);
      const spec = subcommands[name.toLowerCase()];
      if (spec === undefined) ctx.out.error(`ERR unknown subcommand '${name}'. Try ACL HELP.`);
      else return spec.handler(ctx, args);
      return undefined;
    },
  },
];
