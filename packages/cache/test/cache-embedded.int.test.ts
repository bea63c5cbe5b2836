import { describeCache } from './suite.js';
import { EMBEDDED_TARGET } from './targets.js';

await describeCache(EMBEDDED_TARGET);
