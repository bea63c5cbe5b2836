export { CONSUMER_CHILD_SCRIPT, type ConsumerChildConfig, ConsumerPool } from './consumer-pool.js';
export { latencyKey, ledgerKey, readLedger, summaryLine, type Tally, tally } from './ledger.js';
export { type PublishFailure, SteadyPublisher } from './load.js';
export { FaultProxy, type FaultProxyStats, type FaultProxyTarget } from './proxy.js';
