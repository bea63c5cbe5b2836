import type { Logger, Subscription } from '@relaybus/core';
import type { RedisClient, RedisConnector } from '@relaybus/redis';
import type { ListKeys } from './keys.js';
import type { ResolvedListsOptions } from './options.js';
import type { Promoter } from './promoter.js';

/** What one subscription was asked for. */
export interface SubscriptionSettings {
  readonly subject: string;
  readonly group: string;
  readonly consumer: string;
  readonly prefetch: number;
  /** 0: unlimited. */
  readonly maxDeliveries: number;
  readonly keys: ListKeys;
}

/** What a subscription gets from its transport. */
export interface SubscriptionContext {
  readonly options: ResolvedListsOptions;
  readonly connector: RedisConnector;
  readonly logger: Logger;
  /** The shared command client; throws `ClosedError` once the transport is closed. */
  client(): RedisClient;
  /** The delayed-set promoter of the subject. */
  readonly promoter: Promoter;
  /** Called once the subscription finished closing. */
  onClose(subscription: Subscription): void;
}
