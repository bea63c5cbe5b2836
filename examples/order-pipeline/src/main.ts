import { MemoryTransport } from '@relaybus/memory';
import { runPipeline } from './pipeline.js';

const started = Date.now();
console.log('relaybus demo: order pipeline on the in-memory transport\n');
const report = await runPipeline(new MemoryTransport(), { print: (line) => console.log(`  ${line}`) });

console.log('\nsummary');
for (const [worker, orders] of Object.entries(report.processedBy)) {
  console.log(`  ${worker} fulfilled ${orders.length}: ${orders.join(', ')}`);
}
console.log(`  audit group saw ${report.audited.length} orders (every one, independently of the workers)`);
for (const letter of report.deadLetters) {
  console.log(`  dead letter ${letter.orderId} after ${letter.deliveryCount} deliveries: ${letter.reason}`);
}
console.log(`\ndone in ${Date.now() - started} ms`);
