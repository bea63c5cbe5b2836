/**
 * Access control as Redis 7.0 has it: users (on/off, passwords kept as SHA-256, nopass), key
 * patterns (`~p`, `%R~p`, `%W~p`, allkeys), channel patterns (`&p`, allchannels,
 * resetchannels), and command rules (`+cmd`, `-cmd`, `+cmd|sub`, `+@category`, allcommands,
 * nocommands) applied in order. Error texts are Redis 7.0.15's.
 */
import { createHash } from 'node:crypto';
import { globMatch } from './glob.js';
import type { AccessControl, CommandCategory, CommandSpec } from './types.js';

/** The ACL categories in the order `ACL CAT` lists them. */
export const ACL_CATEGORIES: readonly CommandCategory[] = [
  'keyspace',
  'read',
  'write',
  'set',
  'sortedset',
  'list',
  'hash',
  'string',
  'bitmap',
  'hyperloglog',
  'geo',
  'stream',
  'pubsub',
  'admin',
  'fast',
  'slow',
  'blocking',
  'dangerous',
  'connection',
  'transaction',
  'scripting',
];

/** An `ACL SETUSER` rule that cannot be applied; `message` is Redis's reason. */
export class AclRuleError extends Error {
  constructor(
    readonly rule: string,
    readonly reason: string,
  ) {
    super(`ERR Error in ACL SETUSER modifier '${rule}': ${reason}`);
    this.name = 'AclRuleError';
  }
}

interface KeyPattern {
  readonly pattern: string;
  readonly read: boolean;
  readonly write: boolean;
}

interface CommandRule {
  readonly allow: boolean;
  /** `all`, a category name (`@read`), a command (`get`) or a subcommand (`client|kill`). */
  readonly target: string;
}

/** Write commands that also read their keys (Redis key specs RW with ACCESS). */
const READ_WRITE = new Set([
  'incr',
  'incrby',
  'decr',
  'decrby',
  'incrbyfloat',
  'getset',
  'getdel',
  'getex',
  'lpop',
  'rpop',
  'lmove',
  'blmove',
  'rpoplpush',
  'brpoplpush',
  'blpop',
  'brpop',
  'lmpop',
  'blmpop',
  'spop',
  'smove',
  'zpopmin',
  'zpopmax',
  'bzpopmin',
  'bzpopmax',
  'zmpop',
  'bzmpop',
  'hincrby',
  'hincrbyfloat',
  'xreadgroup',
  'xclaim',
  'xautoclaim',
  'copy',
  'rename',
  'renamenx',
]);
/** Commands that touch their keys without reading or writing the values. */
const NO_ACCESS = new Set(['exists', 'type', 'touch', 'object|freq']);

/** One user. */
export class AclUser {
  enabled = false;
  nopass = false;
  /** The `sanitize-payload` flag (set by `reset`); only reported, RESTORE payloads are not checked. */
  sanitizePayload = false;
  readonly passwords = new Set<string>();
  keys: KeyPattern[] = [];
  channels: string[] = [];
  allChannels = false;
  baseAllowed = false;
  rules: CommandRule[] = [];
  #commandCache = new Map<string, boolean>();

  constructor(readonly name: string) {}

  /** A copy to apply rules to, so a failing SETUSER changes nothing. */
  clone(): AclUser {
    const copy = new AclUser(this.name);
    copy.enabled = this.enabled;
    copy.nopass = this.nopass;
    copy.sanitizePayload = this.sanitizePayload;
    for (const hash of this.passwords) copy.passwords.add(hash);
    copy.keys = [...this.keys];
    copy.channels = [...this.channels];
    copy.allChannels = this.allChannels;
    copy.baseAllowed = this.baseAllowed;
    copy.rules = [...this.rules];
    return copy;
  }

  get allKeys(): boolean {
    return this.keys.some((k) => k.pattern === '*' && k.read && k.write);
  }

  /** True when no command, key or channel is ever refused (the fast path of `check`). */
  get unrestricted(): boolean {
    return this.baseAllowed && this.rules.length === 0 && this.allKeys && this.allChannels;
  }

  resetCache(): void {
    this.#commandCache = new Map();
  }

  /** Whether the rules allow `spec` called as `fullName` (`client|kill`) under `parent`. */
  allows(spec: CommandSpec, fullName: string, parent: string): boolean {
    const cached = this.#commandCache.get(fullName);
    if (cached !== undefined) return cached;
    let allowed = this.baseAllowed;
    for (const rule of this.rules) {
      const target = rule.target;
      let matches: boolean;
      if (target.startsWith('@')) matches = spec.categories.includes(target.slice(1) as CommandCategory);
      else matches = target === parent || target === fullName;
      if (matches) allowed = rule.allow;
    }
    this.#commandCache.set(fullName, allowed);
    return allowed;
  }

  keyAllowed(key: string, read: boolean, write: boolean): boolean {
    for (const k of this.keys) {
      if ((read && !k.read) || (write && !k.write)) continue;
      if (k.pattern === '*' || globMatch(k.pattern, key)) return true;
    }
    // Access needing both read and write may be granted by two patterns together.
    if (read && write) return this.keyAllowed(key, true, false) && this.keyAllowed(key, false, true);
    return false;
  }

  channelAllowed(channel: string, literal: boolean): boolean {
    if (this.allChannels) return true;
    for (const pattern of this.channels) {
      if (literal ? pattern === channel : globMatch(pattern, channel)) return true;
    }
    return false;
  }

  /** The command rules as ACL LIST and ACL GETUSER print them. */
  describeCommands(): string {
    const parts = [this.baseAllowed ? '+@all' : '-@all'];
    for (const rule of this.rules) parts.push(`${rule.allow ? '+' : '-'}${rule.target}`);
    return parts.join(' ');
  }

  describeKeys(): string {
    return this.keys.map((k) => `${k.read && k.write ? '~' : k.read ? '%R~' : '%W~'}${k.pattern}`).join(' ');
  }

  describeChannels(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((c) => `&${c}`).join(' ');
  }

  /** The flags ACL GETUSER lists, in Redis's order. */
  flags(): string[] {
    const flags = [this.enabled ? 'on' : 'off'];
    if (this.nopass) flags.push('nopass');
    if (this.sanitizePayload) flags.push('sanitize-payload');
    return flags;
  }

  /** The user's line in ACL LIST. */
  describe(): string {
    const parts = ['user', this.name, ...this.flags()];
    for (const hash of this.passwords) parts.push(`#${hash}`);
    const keys = this.describeKeys();
    if (keys) parts.push(keys);
    if (this.allChannels) parts.push('&*');
    else {
      parts.push('resetchannels');
      const channels = this.describeChannels();
      if (channels) parts.push(channels);
    }
    parts.push(this.describeCommands());
    return parts.join(' ');
  }
}

/** SHA-256 hex of a password, as ACL stores it. */
export function passwordHash(password: string | Buffer): string {
  return createHash('sha256').update(password).digest('hex');
}

/** Looks a command up by lower-case name (to validate `+cmd` rules). */
export type CommandLookup = (name: string) => CommandSpec | undefined;

const CHANNEL_COMMANDS: Readonly<Record<string, { from: number; to: number; literal: boolean }>> = {
  publish: { from: 1, to: 1, literal: false },
  spublish: { from: 1, to: 1, literal: false },
  subscribe: { from: 1, to: -1, literal: false },
  ssubscribe: { from: 1, to: -1, literal: false },
  psubscribe: { from: 1, to: -1, literal: true },
};

/** The server's users and their permissions. */
export class Acl implements AccessControl {
  readonly #users = new Map<string, AclUser>();

  /** Starts with the `default` user: on, all keys, channels and commands, with `password` or none. */
  constructor(options: { password?: string } = {}) {
    const user = new AclUser('default');
    user.enabled = true;
    user.keys = [{ pattern: '*', read: true, write: true }];
    user.allChannels = true;
    user.baseAllowed = true;
    this.#users.set('default', user);
    this.setPassword(options.password);
  }

  /** `requirepass`: the default user's only password, or nopass when undefined or empty. */
  setPassword(password: string | undefined): void {
    const user = this.#users.get('default')!;
    user.passwords.clear();
    if (password === undefined || password === '') user.nopass = true;
    else {
      user.nopass = false;
      user.passwords.add(passwordHash(password));
    }
  }

  authenticate(user: string, password: string): boolean {
    const u = this.#users.get(user);
    if (u === undefined || !u.enabled) return false;
    return u.nopass || u.passwords.has(passwordHash(password));
  }

  defaultAuthenticated(): boolean {
    const u = this.#users.get('default')!;
    return u.enabled && u.nopass;
  }

  /** The user named `name`, or undefined. */
  user(name: string): AclUser | undefined {
    return this.#users.get(name);
  }

  /** All user names, sorted. */
  userNames(): string[] {
    return [...this.#users.keys()].sort();
  }

  /** Removes a user; false when there was none (the caller keeps `default`). */
  deleteUser(name: string): boolean {
    return name !== 'default' && this.#users.delete(name);
  }

  /**
   * ACL SETUSER: applies `rules` in order to `name` (created off, with no permissions, when new).
   * All or nothing: throws AclRuleError for the first bad rule and changes nothing then.
   */
  setUser(name: string, rules: readonly string[], lookup: CommandLookup): void {
    const existing = this.#users.get(name);
    const user = existing ? existing.clone() : new AclUser(name);
    for (const rule of rules) applyRule(user, rule, lookup);
    user.resetCache();
    this.#users.set(name, user);
  }

  check(
    userName: string,
    spec: CommandSpec,
    args: Buffer[],
    keyPositions: readonly number[],
  ): string | undefined {
    const user = this.#users.get(userName);
    if (user?.unrestricted) return undefined;
    const denial = this.denial(userName, spec, args, keyPositions);
    if (denial === undefined) return undefined;
    if (denial.kind === 'command')
      return `NOPERM this user has no permissions to run the '${denial.name}' command`;
    if (denial.kind === 'key')
      return 'NOPERM this user has no permissions to access one of the keys used as arguments';
    return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  }

  /** Why `userName` may not run this call (what is refused and its name), or undefined (ACL DRYRUN). */
  denial(
    userName: string,
    spec: CommandSpec,
    args: Buffer[],
    keyPositions: readonly number[],
  ): { kind: 'command' | 'key' | 'channel'; name: string } | undefined {
    const parent = (args[0]?.toString('latin1') ?? spec.name).toLowerCase();
    const subName = spec.name.includes('|') ? spec.name.slice(spec.name.indexOf('|') + 1) : spec.name;
    const fullName =
      parent === spec.name || spec.name.startsWith(`${parent}|`) ? spec.name : `${parent}|${subName}`;
    const user = this.#users.get(userName);
    if (user === undefined || !user.allows(spec, fullName, parent))
      return { kind: 'command', name: fullName };
    const channels = CHANNEL_COMMANDS[fullName];
    // A shard channel sits where a key would (for its slot) but is checked as a channel.
    if (channels === undefined && !user.allKeys && keyPositions.length > 0 && !NO_ACCESS.has(fullName)) {
      const write = spec.flags.includes('write');
      const read = !write || READ_WRITE.has(fullName) || (fullName === 'set' && hasGetOption(args));
      for (const position of keyPositions) {
        const key = args[position]?.toString('latin1');
        if (key !== undefined && !user.keyAllowed(key, read, write)) return { kind: 'key', name: key };
      }
    }
    if (channels !== undefined && !user.allChannels) {
      const to = channels.to < 0 ? args.length - 1 : channels.to;
      for (let i = channels.from; i <= to && i < args.length; i++) {
        const channel = args[i]!.toString('latin1');
        if (!user.channelAllowed(channel, channels.literal)) return { kind: 'channel', name: channel };
      }
    }
    return undefined;
  }
}

function hasGetOption(args: Buffer[]): boolean {
  for (let i = 3; i < args.length; i++) if (args[i]!.toString('latin1').toLowerCase() === 'get') return true;
  return false;
}

const HASH = /^[0-9a-f]{64}$/;

function addKeyPattern(user: AclUser, rule: string, pattern: string, read: boolean, write: boolean): void {
  if (user.allKeys) {
    throw new AclRuleError(
      rule,
      "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
    );
  }
  if (pattern === '*' && read && write) user.keys = [{ pattern, read, write }];
  else user.keys.push({ pattern, read, write });
}

function addChannel(user: AclUser, rule: string, pattern: string): void {
  if (user.allChannels) {
    throw new AclRuleError(
      rule,
      "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
    );
  }
  if (pattern === '*') {
    user.allChannels = true;
    user.channels = [];
  } else if (!user.channels.includes(pattern)) user.channels.push(pattern);
}

function setAll(user: AclUser, allowed: boolean): void {
  user.baseAllowed = allowed;
  user.rules = [];
}

function addCommandRule(user: AclUser, rule: string, lookup: CommandLookup): void {
  const allow = rule.startsWith('+');
  const target = rule.slice(1).toLowerCase();
  if (target === '@all') {
    setAll(user, allow);
    return;
  }
  if (target.startsWith('@')) {
    if (!ACL_CATEGORIES.includes(target.slice(1) as CommandCategory)) {
      throw new AclRuleError(rule, 'Unknown command or category name in ACL');
    }
  } else {
    const bar = target.indexOf('|');
    const name = bar < 0 ? target : target.slice(0, bar);
    const spec = lookup(name);
    if (spec === undefined) throw new AclRuleError(rule, 'Unknown command or category name in ACL');
    if (bar >= 0) {
      const sub = target.slice(bar + 1);
      if (sub === '' || sub.includes('|'))
        throw new AclRuleError(rule, 'Unknown command or category name in ACL');
      if (!allow && !spec.subcommands?.[sub]) {
        throw new AclRuleError(rule, 'Unknown command or category name in ACL');
      }
    }
  }
  user.rules = user.rules.filter((r) => r.target !== target);
  user.rules.push({ allow, target });
}

/** Applies one ACL SETUSER rule to `user`. */
function applyRule(user: AclUser, rule: string, lookup: CommandLookup): void {
  const lower = rule.toLowerCase();
  switch (lower) {
    case 'on':
      user.enabled = true;
      return;
    case 'off':
      user.enabled = false;
      return;
    case 'nopass':
      user.nopass = true;
      user.passwords.clear();
      return;
    case 'resetpass':
      user.nopass = false;
      user.passwords.clear();
      return;
    case 'allkeys':
      user.keys = [{ pattern: '*', read: true, write: true }];
      return;
    case 'resetkeys':
      user.keys = [];
      return;
    case 'allchannels':
      user.allChannels = true;
      user.channels = [];
      return;
    case 'resetchannels':
      user.allChannels = false;
      user.channels = [];
      return;
    case 'allcommands':
      setAll(user, true);
      return;
    case 'nocommands':
      setAll(user, false);
      return;
    case 'sanitize-payload':
      user.sanitizePayload = true;
      return;
    case 'skip-sanitize-payload':
      user.sanitizePayload = false;
      return;
    case 'reset':
      user.sanitizePayload = true;
      user.enabled = false;
      user.nopass = false;
      user.passwords.clear();
      user.keys = [];
      user.allChannels = false;
      user.channels = [];
      setAll(user, false);
      return;
    case 'clearselectors':
      return;
  }
  const first = rule[0];
  if (first === '>') {
    user.passwords.add(passwordHash(rule.slice(1)));
    user.nopass = false;
  } else if (first === '<') {
    const hash = passwordHash(rule.slice(1));
    if (!user.passwords.delete(hash)) {
      throw new AclRuleError(rule, 'The password you are trying to remove from the user does not exist');
    }
  } else if (first === '#' || first === '!') {
    const hash = rule.slice(1);
    if (!HASH.test(hash)) {
      throw new AclRuleError(
        rule,
        'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
      );
    }
    if (first === '#') {
      user.passwords.add(hash);
      user.nopass = false;
    } else if (!user.passwords.delete(hash)) {
      throw new AclRuleError(rule, 'The password you are trying to remove from the user does not exist');
    }
  } else if (first === '~') addKeyPattern(user, rule, rule.slice(1), true, true);
  else if (first === '%') {
    const match = /^%([RWrw]+)~(.*)$/s.exec(rule);
    if (!match) throw new AclRuleError(rule, 'Syntax error');
    const flags = match[1]!.toUpperCase();
    addKeyPattern(user, rule, match[2]!, flags.includes('R'), flags.includes('W'));
  } else if (first === '&') addChannel(user, rule, rule.slice(1));
  else if (first === '+' || first === '-') addCommandRule(user, rule, lookup);
  else throw new AclRuleError(rule, 'Syntax error');
}
