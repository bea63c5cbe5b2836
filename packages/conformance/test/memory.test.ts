import { describeTransport } from '../src/index.js';
import { MemoryTransport } from './memory.js';

describeTransport('memory', () => new MemoryTransport({ redeliveryIdleMs: 300 }), {
  redeliveryIdleMs: 300,
});
