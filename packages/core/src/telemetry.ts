import {
  type Attributes,
  type Context,
  type Counter,
  context,
  createNoopMeter,
  type Histogram,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
  type UpDownCounter,
} from '@opentelemetry/api';
import type { Settlement } from './contract.js';
import type { Headers } from './headers.js';

/** Telemetry options of the Broker. */
export interface TelemetryOptions {
  /** Default: the global tracer provider (a no-op until the application registers an SDK). */
  readonly tracerProvider?: TracerProvider;
  /** Default: the global meter provider (a no-op until the application registers an SDK). */
  readonly meterProvider?: MeterProvider;
  /** `false` turns spans, header propagation and metrics off. Default `true`. */
  readonly enabled?: boolean;
}

const SCOPE = '@relaybus/core';

/**
 * Traces and metrics named after the OpenTelemetry messaging semantic conventions: spans
 * `send <subject>` (producer) and `process <subject>` (consumer) linked through W3C `traceparent`
 * / `tracestate` headers; counters `messaging.client.sent.messages`,
 * `messaging.client.consumed.messages`, `relaybus.messages.settled` (by outcome), the histogram
 * `messaging.process.duration` (seconds) and the up-down counter `relaybus.handler.in_flight`.
 */
export class Telemetry {
  readonly enabled: boolean;
  /** True when metrics reach a meter of an SDK (not the API's no-op meter). */
  readonly metrics: boolean;
  readonly #system: string;
  readonly #tracer: Tracer;
  readonly #tracerProvider: TracerProvider;
  /** Once a tracer of an SDK is seen, spans are always made. */
  #tracingLive = false;
  readonly #attributes = new Map<string, Attributes>();
  readonly #sent: Counter;
  readonly #consumed: Counter;
  readonly #settled: Counter;
  readonly #duration: Histogram;
  readonly #inFlight: UpDownCounter;

  constructor(system: string, options: TelemetryOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.#system = system;
    this.#tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    this.#tracer = this.#tracerProvider.getTracer(SCOPE);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
    // The API's meter provider is not a proxy: a meter made before an SDK registers stays a no-op,
    // so whether metrics are live is known now.
    this.metrics = this.enabled && meter.constructor !== NOOP_METER_CLASS;
    this.#sent = meter.createCounter('messaging.client.sent.messages', {
      description: 'Messages published',
      unit: '{message}',
    });
    this.#consumed = meter.createCounter('messaging.client.consumed.messages', {
      description: 'Messages delivered to handlers',
      unit: '{message}',
    });
    this.#settled = meter.createCounter('relaybus.messages.settled', {
      description: 'Deliveries settled, by outcome (ack, requeue, dead-letter)',
      unit: '{message}',
    });
    this.#duration = meter.createHistogram('messaging.process.duration', {
      description: 'Handler duration',
      unit: 's',
    });
    this.#inFlight = meter.createUpDownCounter('relaybus.handler.in_flight', {
      description: 'Handlers running',
      unit: '{message}',
    });
  }

  /**
   * True when spans would be recorded or propagated: tracing is on and a tracer provider of an SDK
   * is registered (the global provider is a proxy that delegates to nothing until one registers).
   * Without one, the runtime skips span, context and header work per message.
   */
  tracing(): boolean {
    if (this.#tracingLive) return true;
    if (!this.enabled) return false;
    const provider = this.#tracerProvider as TracerProvider & {
      getDelegateTracer?: (name: string) => Tracer | undefined;
    };
    if (typeof provider.getDelegateTracer === 'function' && provider.getDelegateTracer(SCOPE) === undefined) {
      return false;
    }
    this.#tracingLive = true;
    return true;
  }

  /** Starts a producer span for a publish of `count` messages; returns it with its context. */
  startPublish(subject: string, count: number): { span: Span; ctx: Context } | undefined {
    if (!this.tracing()) return undefined;
    const attributes: Attributes = {
      'messaging.system': this.#system,
      'messaging.destination.name': subject,
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
    };
    if (count > 1) attributes['messaging.batch.message_count'] = count;
    const span = this.#tracer.startSpan(`send ${subject}`, { kind: SpanKind.PRODUCER, attributes });
    return { span, ctx: trace.setSpan(context.active(), span) };
  }

  /** Writes the trace context into message headers. */
  inject(ctx: Context, headers: Headers): void {
    propagation.inject(ctx, headers);
  }

  /** Records a finished publish. */
  endPublish(started: { span: Span } | undefined, subject: string, count: number, error?: unknown): void {
    if (error === undefined && this.metrics) {
      this.#sent.add(count, this.#consumeAttributes(subject, undefined));
    }
    if (started !== undefined) endSpan(started.span, error);
  }

  /** Starts a consumer span whose parent is the trace context carried by the headers. */
  startProcess(
    subject: string,
    group: string,
    id: string,
    headers: Headers,
  ): { span: Span; ctx: Context } | undefined {
    if (this.metrics) {
      const attributes = this.#consumeAttributes(subject, group);
      this.#consumed.add(1, attributes);
      this.#inFlight.add(1, attributes);
    }
    if (!this.tracing()) return undefined;
    const parent = propagation.extract(context.active(), headers);
    const span = this.#tracer.startSpan(
      `process ${subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...this.#consumeAttributes(subject, group),
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.message.id': id,
        },
      },
      parent,
    );
    return { span, ctx: trace.setSpan(parent, span) };
  }

  /** Records the end of a handler run. */
  endProcess(
    started: { span: Span } | undefined,
    subject: string,
    group: string,
    durationMs: number,
    error: unknown,
  ): void {
    if (this.metrics) {
      const attributes = this.#consumeAttributes(subject, group);
      this.#inFlight.add(-1, attributes);
      this.#duration.record(
        durationMs / 1000,
        error === undefined ? attributes : { ...attributes, 'error.type': errorType(error) },
      );
    }
    if (started !== undefined) endSpan(started.span, error);
  }

  /** Counts a settlement by outcome. */
  recordSettlement(subject: string, group: string, settlement: Settlement['kind']): void {
    if (!this.metrics) return;
    this.#settled.add(1, { ...this.#consumeAttributes(subject, group), 'relaybus.settlement': settlement });
  }

  /** Runs `fn` with `ctx` active, so spans and publishes inside it join the trace. */
  with<R>(ctx: Context | undefined, fn: () => R): R {
    return ctx === undefined ? fn() : context.with(ctx, fn);
  }

  /** Attributes of a subject (and group), made once and reused: metric calls must not allocate. */
  #consumeAttributes(subject: string, group: string | undefined): Attributes {
    const name = group === undefined ? subject : `${subject}\u0000${group}`;
    let attributes = this.#attributes.get(name);
    if (attributes === undefined) {
      attributes = { 'messaging.system': this.#system, 'messaging.destination.name': subject };
      if (group !== undefined) attributes['messaging.consumer.group.name'] = group;
      if (this.#attributes.size >= MAX_CACHED_ATTRIBUTES) this.#attributes.clear();
      this.#attributes.set(name, attributes);
    }
    return attributes;
  }
}

/** Bound on cached attribute sets (one per subject and group in use). */
const MAX_CACHED_ATTRIBUTES = 10_000;

/** The class of the API's no-op meter, to tell a live meter from it. */
const NOOP_METER_CLASS = createNoopMeter().constructor;

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    if (error instanceof Error) span.recordException(error);
    span.setAttribute('error.type', errorType(error));
  }
  span.end();
}

function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.name : 'Error';
}
