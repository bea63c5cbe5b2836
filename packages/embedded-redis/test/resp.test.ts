import fc from 'fast-check';
import { Redis } from 'iovalkey';
import { describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../src/index.js';
import { formatDouble17g } from '../src/resp/format.js';
import { ProtocolError, RequestParser } from '../src/resp/parser.js';
import { RespWriter } from '../src/resp/writer.js';
import { raw } from './raw.js';

function multibulk(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

function inline(args: Buffer[]): Buffer {
  return Buffer.from(`${args.map((a) => a.toString('latin1')).join(' ')}\r\n`, 'latin1');
}

/** Feeds `data` split at `cuts` and returns every command parsed (or the protocol error). */
function parseAll(data: Buffer, cuts: number[]): { commands: Buffer[][]; error: string | undefined } {
  const parser = new RequestParser();
  const commands: Buffer[][] = [];
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  try {
    for (const point of [...points, data.length]) {
      parser.push(data.subarray(from, point));
      from = point;
      for (let args = parser.next(); args !== undefined; args = parser.next()) commands.push(args);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { commands, error: error.message };
  }
  return { commands, error: undefined };
}

const binaryArg = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const wordArg = fc.stringMatching(/^[a-zA-Z0-9:_-]{1,12}$/).map((s) => Buffer.from(s));
const command = fc.oneof(
  fc.array(binaryArg, { minLength: 1, maxLength: 6 }).map((args) => ({ args, bytes: multibulk(args) })),
  fc.array(wordArg, { minLength: 1, maxLength: 6 }).map((args) => ({ args, bytes: inline(args) })),
);

describe('RESP request parser', () => {
  it('parses pipelined multibulk and inline commands split at any points', () => {
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (cmds, cuts) => {
          const data = Buffer.concat(cmds.map((c) => c.bytes));
          const { commands, error } = parseAll(data, cuts);
          expect(error).toBeUndefined();
          expect(commands).toEqual(cmds.map((c) => c.args));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never holds back the bytes of a short argument for an earlier, longer one (found by the property above)', () => {
    // `*2 $10` arrives alone, so the parser waits for 12 bytes of body; the body then arrives with
    // the start of the next header, and the rest (fewer than 12 bytes) must still complete it.
    const data = multibulk([Buffer.alloc(10), Buffer.from('a')]);
    const afterFirstHeader = data.indexOf('\r\n', data.indexOf('$10')) + 2;
    const insideSecondHeader = data.lastIndexOf('$1') + 2;
    const { commands, error } = parseAll(data, [afterFirstHeader, insideSecondHeader]);
    expect(error).toBeUndefined();
    expect(commands).toEqual([[Buffer.alloc(10), Buffer.from('a')]]);
  });

  it('assembles a large bulk argument arriving in many small reads', () => {
    const big = Buffer.alloc(1_000_000, 7);
    const data = multibulk([Buffer.from('SET'), Buffer.from('k'), big]);
    const cuts = Array.from({ length: 500 }, (_, i) => i * 2000 + 3);
    const { commands } = parseAll(data, cuts);
    expect(commands).toHaveLength(1);
    expect((commands[0] as Buffer[])[2]?.equals(big)).toBe(true);
  });

  it('rejects malformed input with Redis protocol errors, after the good commands before it', () => {
    const cases: [string, string][] = [
      ['*x\r\n', 'Protocol error: invalid multibulk length'],
      ['*-\r\n', 'Protocol error: invalid multibulk length'],
      ['*99999999999\r\n', 'Protocol error: invalid multibulk length'],
      ['*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\n$abc\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\n$600000000\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\nfoo\r\n', "Protocol error: expected '$', got 'f'"],
      ['SET "a b\r\n', 'Protocol error: unbalanced quotes in request'],
      [`*1\r\n$${'1'.repeat(70_000)}`, 'Protocol error: too big bulk count string'],
      [`*${'1'.repeat(70_000)}`, 'Protocol error: too big mbulk count string'],
      [`GET ${'x'.repeat(70_000)}`, 'Protocol error: too big inline request'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.array(command, { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        ([bad, message], before, cuts) => {
          const data = Buffer.concat([...before.map((c) => c.bytes), Buffer.from(bad, 'latin1')]);
          const result = parseAll(data, cuts);
          expect(result.error).toBe(message);
          expect(result.commands).toEqual(before.map((c) => c.args));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws anything but a ProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        parseAll(Buffer.from(bytes), cuts);
      }),
      { numRuns: 500 },
    );
  });
});

describe('RESP reply writer', () => {
  it('encodes RESP2 and RESP3 shapes', () => {
    const two = new RespWriter(2);
    two.nullBulk();
    two.nullArray();
    two.map(1);
    two.bulk('k');
    two.double(1.5);
    two.boolean(true);
    two.integer(123456789012345678901234567890n);
    two.error('ERR bad\r\nline');
    expect(two.take()?.toString()).toBe(
      '$-1\r\n*-1\r\n*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n:1\r\n:123456789012345678901234567890\r\n-ERR bad  line\r\n',
    );
    const three = new RespWriter(3);
    three.nullBulk();
    three.map(1);
    three.bulk('k');
    three.double(Number.POSITIVE_INFINITY);
    three.boolean(false);
    three.push(1);
    three.set(0);
    three.verbatim('hi');
    expect(three.take()?.toString()).toBe('_\r\n%1\r\n$1\r\nk\r\n,inf\r\n#f\r\n>1\r\n~0\r\n=6\r\ntxt:hi\r\n');
  });

  it("formats doubles as C's %.17g", () => {
    expect(formatDouble17g(0.1)).toBe('0.10000000000000001');
    expect(formatDouble17g(1e20)).toBe('1e+20');
    expect(formatDouble17g(123)).toBe('123');
    expect(formatDouble17g(-2.5e-7)).toBe('-2.4999999999999999e-07');
    expect(formatDouble17g(Number.NEGATIVE_INFINITY)).toBe('-inf');
  });
});

describe('protocol errors on the server', () => {
  it('close only the offending connection; other clients go on', async () => {
    const redis = await startEmbeddedRedis();
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    await client.connect();
    try {
      await client.set('k', 'v');
      const results = await Promise.all(
        ['*1\r\n$-5\r\n', '*abc\r\n', 'PING "open\r\n', '*2\r\n$4\r\nECHO\r\n:1\r\n'].map((bad) =>
          raw(redis.port, `PING\r\n${bad}`),
        ),
      );
      for (const result of results) {
        expect(result.closed).toBe(true);
        expect(result.text).toMatch(/^\+PONG\r\n-ERR Protocol error: [^\r\n]+\r\n$/);
      }
      expect(await client.get('k')).toBe('v');
      const pipeline = client.pipeline();
      for (let i = 0; i < 500; i++) pipeline.incr('n');
      const replies = await pipeline.exec();
      expect(replies?.[499]).toEqual([null, 500]);
    } finally {
      client.disconnect();
      await redis.close();
    }
  });
});
