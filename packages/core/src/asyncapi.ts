import type { Transport } from './contract.js';
import { jsonSchemaOf, type StandardSchemaV1 } from './schema.js';

/** An AsyncAPI 3.0 document (plain JSON). */
export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly defaultContentType: string;
  readonly channels: Record<string, unknown>;
  readonly operations: Record<string, unknown>;
  readonly [extension: `x-${string}`]: unknown;
}

/** What the broker knows of its subjects. */
export interface AsyncApiSources {
  readonly transport: Transport;
  readonly contentType: string;
  readonly subscriptions: ReadonlyArray<{
    subject: string;
    group: string;
    schema: StandardSchemaV1 | undefined;
  }>;
  readonly publishers: ReadonlyArray<readonly [string, { schema?: StandardSchemaV1; description?: string }]>;
}

/** Builds the AsyncAPI 3.0 document of a broker's subscriptions and publishers. */
export function buildAsyncApi(
  info: { title: string; version: string; description?: string },
  sources: AsyncApiSources,
): AsyncApiDocument {
  const channels: Record<string, { address: string; messages: Record<string, unknown> }> = {};
  const operations: Record<string, unknown> = {};
  const channelFor = (subject: string, schema: StandardSchemaV1 | undefined, description?: string) => {
    const id = channelId(subject);
    const message: Record<string, unknown> = { name: `${id}Message`, contentType: sources.contentType };
    const payload = jsonSchemaOf(schema);
    if (payload !== undefined) message.payload = payload;
    const existing = channels[id];
    if (existing === undefined) {
      channels[id] = { address: subject, messages: { [`${id}Message`]: message } };
      if (description !== undefined) (channels[id] as Record<string, unknown>).description = description;
    } else if (payload !== undefined) {
      existing.messages[`${id}Message`] = message;
    }
    return { $ref: `#/channels/${id}`, message: { $ref: `#/channels/${id}/messages/${id}Message` } };
  };
  for (const { subject, group, schema } of sources.subscriptions) {
    const refs = channelFor(subject, schema);
    operations[`receive_${channelId(subject)}_${channelId(group)}`] = {
      action: 'receive',
      channel: { $ref: refs.$ref },
      messages: [refs.message],
      'x-relaybus-group': group,
    };
  }
  for (const [subject, { schema, description }] of sources.publishers) {
    const refs = channelFor(subject, schema, description);
    operations[`send_${channelId(subject)}`] = {
      action: 'send',
      channel: { $ref: refs.$ref },
      messages: [refs.message],
    };
  }
  return {
    asyncapi: '3.0.0',
    info,
    defaultContentType: sources.contentType,
    channels,
    operations,
    'x-relaybus-transport': { name: sources.transport.name, capabilities: sources.transport.capabilities },
  };
}

function channelId(subject: string): string {
  return subject.replace(/[^A-Za-z0-9_-]/g, '_');
}
