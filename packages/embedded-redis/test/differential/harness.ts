import { describeNode, RespConnection, type RespNode } from './resp-client.js';

/**
 * The differential harness: runs one case (a table of steps) against two servers in lockstep and
 * compares every reply. A case is data, so adding coverage is adding rows (see cases-*.ts).
 */

/** How two replies are compared. */
export type Mode =
  /** Byte for byte (the default). */
  | 'exact'
  /** Same type and, for aggregates, the same elements (each compared byte for byte) in any order; map pairs stay pairs. */
  | 'unordered'
  /** Same types and element counts all the way down; scalar contents are ignored. */
  | 'shape'
  /** Both are errors with the same code (first word: ERR, WRONGTYPE …). */
  | 'error'
  /** Integers within 1 of each other (TTLs). */
  | 'near'
  /** Read both replies, compare nothing. */
  | 'ignore';

/** A command: a space-separated string (no quoting) or its exact arguments. */
export type Command = string | ReadonlyArray<string | Buffer>;

/** One step of a case. A bare command (string or argument array) is `{ c: command }`. */
export type Step =
  | string
  | ReadonlyArray<string | Buffer>
  /** Send on connection `on` (default 0) and compare the reply. */
  | { readonly c: Command; readonly on?: number; readonly mode?: Mode }
  /** Send on connection `on` without reading the reply (a blocking command; read it with `read`). */
  | { readonly send: Command; readonly on?: number }
  /** Read the next reply or push on connection `read` and compare it. */
  | { readonly read: number; readonly mode?: Mode; readonly timeoutMs?: number }
  /** Write raw bytes (inline commands, malformed input) on connection `on`, then compare `replies` replies (default 1). */
  | { readonly raw: string; readonly on?: number; readonly replies?: number; readonly mode?: Mode }
  /** Both servers have closed connection `closed` (after QUIT or a protocol error). */
  | { readonly closed: number }
  /** Close connection `disconnect` from the client side (a client that goes away while blocked). */
  | { readonly disconnect: number }
  /** Wait until `INFO clients` reports `blocked` blocked clients on both servers. */
  | { readonly blocked: number }
  /** Poll `poll` on connection 0 of both servers until its reply is exactly `equals` (RESP text). */
  | { readonly poll: Command; readonly equals: string; readonly timeoutMs?: number };

/** A differential case. */
export interface DiffCase {
  /** The command family, for grouping (strings, keys, hashes, lists, …). */
  readonly family: string;
  /** A unique name saying what the case shows. */
  readonly name: string;
  /** Connections to open (default: one more than the highest connection index used). */
  readonly connections?: number;
  /** Switch every connection to RESP3 with HELLO 3 first. */
  readonly resp3?: boolean;
  readonly steps: readonly Step[];
}

/** A server the harness can talk to. */
export interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** One difference between the servers' replies. */
export interface Mismatch {
  readonly step: number;
  readonly command: string;
  readonly reason: string;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** Splits a string command on spaces; passes argument arrays through. */
export function toArgs(command: Command): Array<string | Buffer> {
  return typeof command === 'string' ? command.split(' ').filter((part) => part.length > 0) : [...command];
}

function commandText(command: Command): string {
  return typeof command === 'string'
    ? command
    : command.map((arg) => (typeof arg === 'string' ? arg : `<${arg.toString('hex')}>`)).join(' ');
}

function connectionsNeeded(testCase: DiffCase): number {
  let highest = 0;
  for (const step of testCase.steps) {
    if (typeof step === 'string' || Array.isArray(step)) continue;
    if ('on' in step && step.on !== undefined) highest = Math.max(highest, step.on);
    if ('read' in step) highest = Math.max(highest, step.read);
    if ('closed' in step) highest = Math.max(highest, step.closed);
    if ('disconnect' in step) highest = Math.max(highest, step.disconnect);
  }
  return Math.max(testCase.connections ?? 0, highest + 1);
}

/** Compares two replies by `mode`; returns why they differ, or undefined when they agree. */
export function compareReplies(expected: RespNode, actual: RespNode, mode: Mode): string | undefined {
  const shown = () => `redis ${describeNode(expected)} vs embedded ${describeNode(actual)}`;
  switch (mode) {
    case 'ignore':
      return undefined;
    case 'exact':
      return expected.raw.equals(actual.raw) ? undefined : shown();
    case 'error': {
      if (expected.type !== '-' || actual.type !== '-') return `expected two errors: ${shown()}`;
      const code = (node: RespNode) => (node.text ?? '').split(' ')[0];
      return code(expected) === code(actual) ? undefined : `different error codes: ${shown()}`;
    }
    case 'near': {
      if (expected.type !== ':' || actual.type !== ':') return `expected two integers: ${shown()}`;
      return Math.abs(Number(expected.text) - Number(actual.text)) <= 1 ? undefined : shown();
    }
    case 'shape':
      return sameShape(expected, actual) ? undefined : `different shapes: ${shown()}`;
    case 'unordered': {
      if (expected.type !== actual.type || expected.items.length !== actual.items.length) return shown();
      if (expected.items.length === 0) return expected.raw.equals(actual.raw) ? undefined : shown();
      const pairs = expected.type === '%';
      const units = (node: RespNode) => {
        const out: string[] = [];
        const size = pairs ? 2 : 1;
        for (let i = 0; i < node.items.length; i += size) {
          out.push(
            node.items
              .slice(i, i + size)
              .map((item) => item.raw.toString('latin1'))
              .join(''),
          );
        }
        return out.sort();
      };
      const a = units(expected);
      const b = units(actual);
      return a.every((unit, i) => unit === b[i]) ? undefined : `different elements: ${shown()}`;
    }
  }
}

function sameShape(a: RespNode, b: RespNode): boolean {
  if (a.type !== b.type || a.items.length !== b.items.length) return false;
  if ((a.text === null) !== (b.text === null) && a.items.length === 0) return false;
  return a.items.every((item, i) => sameShape(item, b.items[i] as RespNode));
}

async function blockedClients(connection: RespConnection): Promise<number> {
  const reply = await connection.call(['INFO', 'clients']);
  const match = /blocked_clients:(\d+)/.exec(reply.text ?? '');
  return match ? Number(match[1]) : -1;
}

async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let interval = 2;
  for (;;) {
    if (await check()) return undefined;
    if (Date.now() > deadline) return `timed out after ${timeoutMs} ms waiting for ${what}`;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 50);
  }
}

/** Opens `count` connections to `target`, each switched to RESP3 when asked. */
async function openConnections(target: Target, count: number, resp3: boolean): Promise<RespConnection[]> {
  const connections: RespConnection[] = [];
  for (let i = 0; i < count; i++) {
    const connection = await RespConnection.connect(target.port, target.host);
    connections.push(connection);
    if (resp3) await connection.call(['HELLO', '3']);
  }
  return connections;
}

/**
 * Runs `testCase` on both targets in lockstep, after FLUSHALL and SCRIPT FLUSH on each, and
 * returns every mismatch (empty when the embedded server answered as Redis did).
 */
export async function runCase(testCase: DiffCase, redis: Target, embedded: Target): Promise<Mismatch[]> {
  const count = connectionsNeeded(testCase);
  const mismatches: Mismatch[] = [];
  const admin = await Promise.all(
    [redis, embedded].map((target) => RespConnection.connect(target.port, target.host)),
  );
  const sides: RespConnection[][] = [];
  try {
    for (const connection of admin) {
      await connection.call(['FLUSHALL']);
      await connection.call(['SCRIPT', 'FLUSH']);
    }
    sides.push(await openConnections(redis, count, testCase.resp3 ?? false));
    sides.push(await openConnections(embedded, count, testCase.resp3 ?? false));
    const [real, ours] = sides as [RespConnection[], RespConnection[]];
    for (let index = 0; index < testCase.steps.length; index++) {
      const raw = testCase.steps[index] as Step;
      const step =
        typeof raw === 'string' || Array.isArray(raw)
          ? { c: raw as Command }
          : (raw as Exclude<Step, Command>);
      const fail = (command: string, reason: string) => mismatches.push({ step: index, command, reason });
      if ('c' in step) {
        const args = toArgs(step.c);
        const on = step.on ?? 0;
        const replies = await Promise.allSettled([
          (real[on] as RespConnection).call(args, DEFAULT_TIMEOUT_MS),
          (ours[on] as RespConnection).call(args, DEFAULT_TIMEOUT_MS),
        ]);
        const [a, b] = replies;
        if (a.status === 'rejected' || b.status === 'rejected') {
          const why = (r: PromiseSettledResult<RespNode>) =>
            r.status === 'rejected' ? String((r.reason as Error).message) : describeNode(r.value);
          fail(commandText(step.c), `redis: ${why(a)}; embedded: ${why(b)}`);
          // The connections are out of step now: stop here.
          break;
        }
        if (process.env.DIFF_DUMP === '1') console.log(`${commandText(step.c)} → ${describeNode(a.value)}`);
        const reason = compareReplies(a.value, b.value, step.mode ?? 'exact');
        if (reason) fail(commandText(step.c), reason);
      } else if ('send' in step) {
        const args = toArgs(step.send);
        const on = step.on ?? 0;
        (real[on] as RespConnection).write(args);
        (ours[on] as RespConnection).write(args);
      } else if ('read' in step) {
        const timeout = step.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        const [a, b] = await Promise.allSettled([
          (real[step.read] as RespConnection).read(timeout),
          (ours[step.read] as RespConnection).read(timeout),
        ]);
        if (a.status === 'rejected' || b.status === 'rejected') {
          const why = (r: PromiseSettledResult<RespNode>) =>
            r.status === 'rejected' ? String((r.reason as Error).message) : describeNode(r.value);
          fail(`(read on ${step.read})`, `redis: ${why(a)}; embedded: ${why(b)}`);
          break;
        }
        const reason = compareReplies(a.value, b.value, step.mode ?? 'exact');
        if (reason) fail(`(read on ${step.read})`, reason);
      } else if ('raw' in step) {
        const on = step.on ?? 0;
        (real[on] as RespConnection).writeRaw(step.raw);
        (ours[on] as RespConnection).writeRaw(step.raw);
        let broken = false;
        for (let n = 0; n < (step.replies ?? 1); n++) {
          const [a, b] = await Promise.allSettled([
            (real[on] as RespConnection).read(DEFAULT_TIMEOUT_MS),
            (ours[on] as RespConnection).read(DEFAULT_TIMEOUT_MS),
          ]);
          if (a.status === 'rejected' || b.status === 'rejected') {
            const why = (r: PromiseSettledResult<RespNode>) =>
              r.status === 'rejected' ? String((r.reason as Error).message) : describeNode(r.value);
            fail(JSON.stringify(step.raw), `redis: ${why(a)}; embedded: ${why(b)}`);
            broken = true;
            break;
          }
          const reason = compareReplies(a.value, b.value, step.mode ?? 'exact');
          if (reason) fail(JSON.stringify(step.raw), reason);
        }
        if (broken) break;
      } else if ('disconnect' in step) {
        (real[step.disconnect] as RespConnection).close();
        (ours[step.disconnect] as RespConnection).close();
      } else if ('closed' in step) {
        const reasons = await Promise.all(
          [real[step.closed], ours[step.closed]].map((connection, side) =>
            pollUntil(
              async () => (connection as RespConnection).closed,
              DEFAULT_TIMEOUT_MS,
              `${side === 0 ? 'redis' : 'embedded'} to close connection ${step.closed}`,
            ),
          ),
        );
        const reason = reasons.find((r) => r !== undefined);
        if (reason) fail('(closed)', reason);
      } else if ('blocked' in step) {
        const reasons = await Promise.all(
          admin.map((connection, side) =>
            pollUntil(
              async () => (await blockedClients(connection)) === step.blocked,
              DEFAULT_TIMEOUT_MS,
              `${side === 0 ? 'redis' : 'embedded'} to report blocked_clients:${step.blocked}`,
            ),
          ),
        );
        const reason = reasons.find((r) => r !== undefined);
        if (reason) {
          fail('(blocked)', reason);
          break;
        }
      } else {
        const args = toArgs(step.poll);
        const reasons = await Promise.all(
          [real[0], ours[0]].map((connection, side) =>
            pollUntil(
              async () =>
                (await (connection as RespConnection).call(args)).raw.toString('latin1') === step.equals,
              step.timeoutMs ?? DEFAULT_TIMEOUT_MS,
              `${side === 0 ? 'redis' : 'embedded'} to answer ${commandText(step.poll)} with ${JSON.stringify(step.equals)}`,
            ),
          ),
        );
        const reason = reasons.find((r) => r !== undefined);
        if (reason) {
          fail(commandText(step.poll), reason);
          break;
        }
      }
    }
  } finally {
    for (const connection of [...admin, ...sides.flat()]) connection.close();
  }
  return mismatches;
}

/** Formats mismatches for an assertion message. */
export function formatMismatches(testCase: DiffCase, mismatches: readonly Mismatch[]): string {
  return mismatches
    .map((m) => `[${testCase.family}/${testCase.name}] step ${m.step} \`${m.command}\`: ${m.reason}`)
    .join('\n');
}
