import { handlers } from './handlers.js';
import { middleware } from './middleware.js';
import { requestReply } from './request-reply.js';
import { retries } from './retries.js';
import { shutdown } from './shutdown.js';
import { telemetry } from './telemetry.js';
import { validation } from './validation.js';

const examples = {
  handlers,
  retries,
  validation,
  middleware,
  telemetry,
  'request-reply': requestReply,
  shutdown,
};
const chosen = process.argv.slice(2);
for (const [name, run] of Object.entries(examples)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  console.log(`\n# ${name}`);
  await run((line) => console.log(`  ${line}`));
}
