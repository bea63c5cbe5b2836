import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RawConnection } from './lists-harness.js';
import { canCompare, describeVsReal, embeddedTarget, realTarget, type Target } from './lists-targets.js';

/**
 * Pub/Sub replayed on a real redis-server and on the embedded server with several connections:
 * subscription confirmations, messages (RESP2 arrays, RESP3 pushes) and PUBSUB introspection must
 * be equal byte for byte.
 */

let real: Target;
let embedded: Target;
let counter = 0;

beforeAll(async () => {
  if (!canCompare) return;
  [real, embedded] = await Promise.all([realTarget(), embeddedTarget()]);
}, 30_000);

afterAll(async () => {
  await Promise.all([real?.stop(), embedded?.stop()]);
});

type Script = (
  conns: RawConnection[],
  name: (suffix: string) => string,
  log: (text: string) => void,
) => Promise<void>;

async function sameAcross(connections: number, script: Script): Promise<void> {
  const prefix = `ps-${process.pid}-${++counter}`;
  const run = async (target: Target): Promise<string[]> => {
    const conns = await Promise.all(Array.from({ length: connections }, () => target.connect()));
    const out: string[] = [];
    try {
      await script(
        conns,
        (suffix) => `${prefix}${suffix}`,
        (text) => out.push(text),
      );
    } finally {
      for (const conn of conns) conn.close();
    }
    return out.map((text) => text.replaceAll(prefix, '{p}'));
  };
  const expected = await run(real);
  const actual = await run(embedded);
  expect(actual).toEqual(expected);
}

describeVsReal('Pub/Sub replies match redis-server byte for byte', () => {
  it('confirms (un)subscriptions with running counts, including the nothing-to-unsubscribe forms', async () => {
    await sameAcross(1, async ([c], n, log) => {
      const conn = c as RawConnection;
      log(await conn.send(['UNSUBSCRIBE']));
      log(await conn.send(['PUNSUBSCRIBE']));
      log(await conn.send(['SUNSUBSCRIBE']));
      log(await conn.send(['SUBSCRIBE', n('a'), n('b'), n('a')], 3));
      log(await conn.send(['PSUBSCRIBE', n('*')]));
      log(await conn.send(['LPUSH', n('list'), 'x']));
      log(await conn.send(['PING']));
      log(await conn.send(['UNSUBSCRIBE', n('x')]));
      log(await conn.send(['SSUBSCRIBE', n('s1'), n('s2')], 2));
      log(await conn.send(['SUNSUBSCRIBE', n('s2')]));
      log(await conn.send(['SUNSUBSCRIBE']));
      log(await conn.send(['UNSUBSCRIBE', n('b')]));
      log(await conn.send(['UNSUBSCRIBE']));
      log(await conn.send(['PUNSUBSCRIBE']));
    });
  });

  it('delivers message, pmessage and smessage to each subscriber and counts receivers', async () => {
    await sameAcross(4, async ([sub, psub, ssub, pub], n, log) => {
      const [s, p, sh, pb] = [sub, psub, ssub, pub] as [
        RawConnection,
        RawConnection,
        RawConnection,
        RawConnection,
      ];
      log(await s.send(['SUBSCRIBE', n('news')]));
      log(await p.send(['PSUBSCRIBE', `${n('n')}*`, `${n('')}x?`], 2));
      log(await sh.send(['SSUBSCRIBE', n('news')]));
      log(await pb.send(['PUBLISH', n('news'), 'hello']));
      log(await s.receive());
      log(await p.receive());
      log(await pb.send(['SPUBLISH', n('news'), 'sharded']));
      log(await sh.receive());
      log(await pb.send(['PUBLISH', n('none'), 'x']));
      log(await p.receive());
      log(await pb.send(['SPUBLISH', n('none'), 'x']));
      log(await pb.send(['PUBSUB', 'NUMSUB', n('news'), n('none')]));
      log(await pb.send(['PUBSUB', 'SHARDNUMSUB', n('news'), n('none')]));
      log(await pb.send(['PUBSUB', 'CHANNELS', `${n('')}*`]));
      log(await pb.send(['PUBSUB', 'SHARDCHANNELS', `${n('')}*`]));
      log(await pb.send(['PUBSUB', 'NUMPAT']));
      log(await pb.send(['PUBSUB', 'NUMPAT', 'x']));
      log(await pb.send(['PUBSUB', 'CHANNELS', 'a', 'b']));
      log(await pb.send(['PUBSUB', 'HELP']));
      log(await pb.send(['PUBLISH', n('news')]));
    });
  });

  it('uses RESP3 pushes, and a subscriber publishing to itself gets the message before the count', async () => {
    await sameAcross(2, async ([a, b], n, log) => {
      const [one, two] = [a, b] as [RawConnection, RawConnection];
      await one.send(['HELLO', '3']);
      log(await one.send(['SUBSCRIBE', n('c')]));
      log(await one.send(['PSUBSCRIBE', n('c*')]));
      log(await one.send(['PUBLISH', n('c'), 'self'], 3));
      log(await two.send(['PUBLISH', n('c'), 'other']));
      log(await one.receive(2));
      log(await one.send(['SSUBSCRIBE', n('s')]));
      log(await two.send(['SPUBLISH', n('s'), 'shard']));
      log(await one.receive());
      log(await one.send(['UNSUBSCRIBE']));
      log(await one.send(['PUNSUBSCRIBE', n('c*')]));
      log(await one.send(['SUNSUBSCRIBE', n('s')]));
    });
  });

  it('forgets a disconnected subscriber', async () => {
    await sameAcross(2, async ([a, b], n, log) => {
      const [gone, pub] = [a, b] as [RawConnection, RawConnection];
      log(await gone.send(['SUBSCRIBE', n('c')]));
      log(await gone.send(['PSUBSCRIBE', n('*')]));
      log(await gone.send(['SSUBSCRIBE', n('s')]));
      gone.close();
      const deadline = Date.now() + 10_000;
      let numsub = '';
      while (Date.now() < deadline) {
        numsub = await pub.send(['PUBSUB', 'NUMSUB', n('c')]);
        if (numsub.endsWith(':0\r\n')) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      log(numsub);
      log(await pub.send(['PUBLISH', n('c'), 'x']));
      log(await pub.send(['SPUBLISH', n('s'), 'x']));
      log(await pub.send(['PUBSUB', 'SHARDNUMSUB', n('s')]));
    });
  });
});
