// Task queue: producers push jobs, workers compete for them; each job reaches one worker.
// The Lists transport in simple mode (LPUSH / BRPOP), as redis-ipc's task queue.
//   node task-queue.mjs worker          handle jobs until stopped (Ctrl-C)
//   node task-queue.mjs submit <count>  push <count> resize jobs
import { Broker, handleSignals, silentLogger } from '@relaybus/core';
import { RedisListsTransport } from '@relaybus/redis-lists';

const connection = {
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: process.env.IPC_PREFIX ?? 'ipc:',
};
const transport = new RedisListsTransport({ connection, mode: 'simple', logger: silentLogger });
const broker = new Broker({ transport, logger: silentLogger });
const [role, count = '3'] = process.argv.slice(2);

if (role === 'worker') {
  await broker.subscribe(
    'resize-jobs',
    async (job) => {
      console.log(`worker ${process.pid} resized ${job.image} to ${job.width}px`);
    },
    { concurrency: 2 },
  );
  console.log('worker ready');
  handleSignals(broker);
} else if (role === 'submit') {
  for (let index = 1; index <= Number(count); index++) {
    await broker.publish('resize-jobs', { image: `photo-${index}.jpg`, width: 640 });
  }
  console.log(`submitted ${count} jobs`);
  await broker.stop();
} else {
  console.error('usage: node task-queue.mjs worker | submit <count>');
  process.exitCode = 2;
  await broker.stop();
}
