import {
  Broker,
  type BrokerOptions,
  type Capabilities,
  type Publisher,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from '@relaybus/core';
import { randomSuffix } from './bytes.js';
import { ackAll, Consumer, type DeliveryHandler } from './consumer.js';
import { type LogRecord, RecordingLogger } from './logger.js';
import type { ResolvedOptions } from './options.js';
import { type Condition, until, type WaitDescription, withDeadline } from './wait.js';

/** What a scenario body gets: a fresh transport and helpers that clean up after themselves. */
export interface ScenarioContext {
  /** The id of the running scenario. */
  readonly scenarioId: string;
  /** A transport made by the factory for this scenario alone; closed when the scenario ends. */
  readonly transport: Transport;
  /** The transport's capabilities with `ConformanceOptions.capabilities` laid over them. */
  readonly capabilities: Capabilities;
  /** Deadline of each wait-until. */
  readonly timeoutMs: number;
  /** See `ConformanceOptions.redeliveryIdleMs`. */
  readonly redeliveryIdleMs: number;
  /** Deadline of a wait for an abandoned delivery to come back: `redeliveryIdleMs * 3 + timeoutMs`. */
  readonly redeliveryTimeoutMs: number;
  /** `base * scale`, rounded, at least 1. */
  scaled(base: number): number;
  /** A subject of its own: `conf-<scenario>[-<tag>]-<random>`. */
  subject(tag?: string): string;
  /** A consumer group name of its own. */
  group(tag?: string): string;
  /** One publisher of the transport, shared by the scenario. */
  publisher(): Publisher;
  /** Subscribes; the subscription is closed when the scenario ends. */
  subscribe(subject: string, options?: SubscribeOptions): Promise<Subscription>;
  /** Iterates `subscription` in the background, calling `handler` (default: ack) for each delivery. */
  consume(subscription: Subscription, handler?: DeliveryHandler): Consumer;
  /** Subscribes and consumes in one step. */
  consumer(subject: string, options?: SubscribeOptions, handler?: DeliveryHandler): Promise<Consumer>;
  /**
   * Waits until `condition` holds, at most `timeoutMs` (default: the context's). Fails at once when
   * a consumer loop of this scenario failed.
   */
  until(condition: Condition, what: WaitDescription, timeoutMs?: number): Promise<void>;
  /** A Broker on the scenario's transport with a recording logger; stopped when the scenario ends. */
  broker(options?: Omit<BrokerOptions, 'transport' | 'logger'>): Broker;
  /** What the scenario's Brokers logged at `level`. */
  logs(level: LogRecord['level']): LogRecord[];
  /** Runs `cleanup` when the scenario ends (last registered, first run). */
  defer(cleanup: () => unknown): void;
}

/** The context of one scenario run, with the cleanup the runner calls. */
export class ScenarioRun implements ScenarioContext {
  readonly redeliveryTimeoutMs: number;
  readonly #options: ResolvedOptions;
  readonly #cleanups: Array<() => unknown> = [];
  readonly #subscriptions: Subscription[] = [];
  readonly #consumers: Consumer[] = [];
  readonly #failures: unknown[] = [];
  readonly #logRecords: LogRecord[] = [];
  #publisher: Publisher | undefined;
  #cleaningUp = false;

  constructor(
    readonly scenarioId: string,
    readonly transport: Transport,
    readonly capabilities: Capabilities,
    options: ResolvedOptions,
  ) {
    this.#options = options;
    this.redeliveryTimeoutMs = options.redeliveryIdleMs * 3 + options.timeoutMs;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  get redeliveryIdleMs(): number {
    return this.#options.redeliveryIdleMs;
  }

  scaled(base: number): number {
    return Math.max(1, Math.round(base * this.#options.scale));
  }

  subject(tag?: string): string {
    return tag === undefined
      ? `conf-${this.scenarioId}-${randomSuffix()}`
      : `conf-${this.scenarioId}-${tag}-${randomSuffix()}`;
  }

  group(tag = 'g'): string {
    return `${tag}-${randomSuffix()}`;
  }

  publisher(): Publisher {
    this.#publisher ??= this.transport.publisher();
    return this.#publisher;
  }

  async subscribe(subject: string, options?: SubscribeOptions): Promise<Subscription> {
    const subscription = await this.transport.subscribe(subject, options);
    this.#subscriptions.push(subscription);
    return subscription;
  }

  consume(subscription: Subscription, handler: DeliveryHandler = ackAll): Consumer {
    const consumer = new Consumer(subscription, handler, (error) => {
      if (!this.#cleaningUp) this.#failures.push(error);
    });
    this.#consumers.push(consumer);
    return consumer;
  }

  async consumer(subject: string, options?: SubscribeOptions, handler?: DeliveryHandler): Promise<Consumer> {
    return this.consume(await this.subscribe(subject, options), handler);
  }

  until(condition: Condition, what: WaitDescription, timeoutMs = this.timeoutMs): Promise<void> {
    return until(condition, timeoutMs, what, () => this.throwIfFailed());
  }

  broker(options: Omit<BrokerOptions, 'transport' | 'logger'> = {}): Broker {
    const broker = new Broker({
      ...options,
      transport: this.transport,
      logger: new RecordingLogger(this.#logRecords),
    });
    this.defer(() => broker.stop({ deadlineMs: Math.min(this.timeoutMs, 2_000) }));
    return broker;
  }

  logs(level: LogRecord['level']): LogRecord[] {
    return this.#logRecords.filter((record) => record.level === level);
  }

  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  /** Throws the first failure of a consumer loop (a handler that threw, an iteration that failed). */
  throwIfFailed(): void {
    const failure = this.#failures[0];
    if (failure === undefined) return;
    const message = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    throw new Error(`a consumer loop of this scenario failed: ${message}`, { cause: failure });
  }

  /**
   * Runs deferred cleanups, closes the subscriptions and the transport. Errors of cleanups are not
   * the scenario's verdict, but a transport whose `close()` hangs or rejects fails it.
   */
  async cleanup(): Promise<void> {
    this.#cleaningUp = true;
    const boundMs = Math.max(this.timeoutMs, 1_000);
    for (const cleanup of this.#cleanups.reverse()) {
      await withDeadline(Promise.resolve().then(cleanup), boundMs, 'a scenario cleanup').catch(
        () => undefined,
      );
    }
    await Promise.all(
      this.#subscriptions.map((subscription) =>
        withDeadline(
          Promise.resolve().then(() => subscription.close()),
          boundMs,
          'subscription.close()',
        ).catch(() => undefined),
      ),
    );
    await withDeadline(
      Promise.resolve().then(() => this.transport.close()),
      boundMs,
      'transport.close()',
    );
    // Let the consumer loops finish so nothing of this scenario runs into the next one; a loop
    // that never ends is the subject of the lifecycle scenarios, not a reason to hang here.
    await withDeadline(
      Promise.all(this.#consumers.map((consumer) => consumer.done)),
      Math.min(boundMs, 2_000),
      'consumer loops',
    ).catch(() => undefined);
  }
}
