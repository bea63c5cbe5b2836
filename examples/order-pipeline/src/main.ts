import { runPipeline } from './pipeline.js';
import { setUpTransport, transportFromArgs } from './transports.js';

const started = Date.now();
const name = transportFromArgs(process.argv.slice(2));
const setup = await setUpTransport(name);
console.log(`relaybus demo: order pipeline on the ${name} transport, ${setup.where}\n`);
try {
  const report = await runPipeline(setup.transport, { print: (line) => console.log(`  ${line}`) });

  console.log('\nsummary');
  for (const [worker, orders] of Object.entries(report.processedBy)) {
    console.log(`  ${worker} fulfilled ${orders.length}: ${orders.join(', ')}`);
  }
  if (setup.transport.capabilities.fanOutGroups) {
    console.log(
      `  audit group saw ${report.audited.length} orders (every one, independently of the workers)`,
    );
  }
  for (const letter of report.deadLetters) {
    console.log(`  dead letter ${letter.orderId} after ${letter.deliveryCount} deliveries: ${letter.reason}`);
  }
  if (!setup.transport.capabilities.competingConsumers) {
    console.log(`  (${name}: no competing consumers, so both workers saw every order)`);
  }
} finally {
  await setup.close();
}
console.log(`\ndone in ${Date.now() - started} ms`);
