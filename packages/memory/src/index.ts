export {
  DEFAULT_MEMORY_OPTIONS,
  MEMORY_CAPABILITIES,
  MemoryStore,
  MemoryTransport,
  type MemoryTransportOptions,
} from './transport.js';
