// Event stream: publishers append events, every reader sees all of them — the ones already there
// (history) and the ones still to come (a subscription). The Streams transport with MAXLEN
// retention, as redis-ipc's event stream.
//   node event-stream.mjs publish <count>  append <count> events
//   node event-stream.mjs follow           print the retained events, then new ones (Ctrl-C)
import { Broker, handleSignals, msgpackCodec, silentLogger } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';

const connection = {
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: process.env.IPC_PREFIX ?? 'ipc:',
};
// Keep about the last 100 events (XADD … MAXLEN ~ 100); older ones are trimmed away.
const transport = new RedisStreamsTransport({
  connection,
  subjects: { 'sensor-events': { maxLen: 100 } },
  logger: silentLogger,
});
const broker = new Broker({ transport, logger: silentLogger });
const [role, count = '3'] = process.argv.slice(2);

if (role === 'publish') {
  for (let index = 1; index <= Number(count); index++) {
    await broker.publish('sensor-events', { sensor: 'boiler', reading: index });
  }
  console.log(`published ${count} events`);
  await broker.stop();
} else if (role === 'follow') {
  const seen = new Set();
  const show = (id, event, source) => {
    // An event published while we read the history arrives both ways: print it once.
    if (seen.has(id)) return;
    seen.add(id);
    console.log(`${source} ${event.sensor} reading ${event.reading}`);
  };
  // Subscribe first (a group of our own, starting at new events), then read the history:
  // every event is in one or the other, none falls between the two.
  await broker.subscribe('sensor-events', async (event, delivery) => show(delivery.id, event, 'new'), {
    group: `follower-${process.pid}`,
    startFrom: 'new',
  });
  const history = await transport.history('sensor-events', { limit: 100 }); // newest first
  for (const stored of history.reverse()) show(stored.id, msgpackCodec.decode(stored.payload), 'old');
  console.log(`follower ready (${history.length} retained events)`);
  handleSignals(broker);
} else {
  console.error('usage: node event-stream.mjs publish <count> | follow');
  process.exitCode = 2;
  await broker.stop();
}
