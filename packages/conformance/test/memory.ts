// The memory transport is a sibling workspace package that this package cannot depend on yet
// (it lists @relaybus/conformance as a dev dependency), so the self-test imports its build directly.
export { MemoryTransport } from '../../memory/dist/index.js';
