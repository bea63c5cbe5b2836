/**
 * Stable error codes. A code never changes meaning once released; match on `error.code`,
 * not on the message.
 */
export const ErrorCode = {
  InvalidOption: 'RELAYBUS_INVALID_OPTION',
  InvalidSubject: 'RELAYBUS_INVALID_SUBJECT',
  AlreadySettled: 'RELAYBUS_ALREADY_SETTLED',
  DecodeFailed: 'RELAYBUS_DECODE_FAILED',
  EncodeFailed: 'RELAYBUS_ENCODE_FAILED',
  UnknownContentType: 'RELAYBUS_UNKNOWN_CONTENT_TYPE',
  Closed: 'RELAYBUS_CLOSED',
  NotConnected: 'RELAYBUS_NOT_CONNECTED',
  Transport: 'RELAYBUS_TRANSPORT',
  Timeout: 'RELAYBUS_TIMEOUT',
  Unsupported: 'RELAYBUS_UNSUPPORTED',
  MessageTooLarge: 'RELAYBUS_MESSAGE_TOO_LARGE',
  Rejected: 'RELAYBUS_REJECTED',
  RequestFailed: 'RELAYBUS_REQUEST_FAILED',
} as const;

/** One of the stable relaybus error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error relaybus throws: carries a stable `code` and, where there is one, the `cause`. */
export class RelaybusError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A wrong option or argument, detected when an object is constructed or a call is made. */
export class ConfigError extends RelaybusError {
  /** Dotted path of the offending option, e.g. `retry.maxDeliveries`. */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCode.InvalidOption, `Invalid option "${option}": ${message}`, options);
    this.option = option;
  }
}

/** A payload that its codec could not turn back into a body. */
export class DecodeError extends RelaybusError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCode.DecodeFailed, message, options);
  }
}

/** A body that its codec could not turn into bytes. */
export class EncodeError extends RelaybusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.EncodeFailed, message, options);
  }
}

/** A delivery settled a second time (`ack` after `ack`, `nack` after `ack`, …). */
export class AlreadySettledError extends RelaybusError {
  constructor(deliveryId: string, previous: string) {
    super(ErrorCode.AlreadySettled, `Delivery ${deliveryId} was already settled (${previous})`);
  }
}

/** A failure reported by the transport or the server behind it; `cause` holds the original error. */
export class TransportError extends RelaybusError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCode.Transport, message, options);
  }
}

/** Work handed to a component after its `close()` began. */
export class ClosedError extends RelaybusError {
  constructor(what: string) {
    super(ErrorCode.Closed, `${what} is closed`);
  }
}

/** An operation that did not finish within its deadline. */
export class TimeoutError extends RelaybusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Timeout, message, options);
  }
}

/** A feature the transport does not offer (see its `capabilities`). */
export class UnsupportedError extends RelaybusError {
  constructor(message: string) {
    super(ErrorCode.Unsupported, message);
  }
}

/** A message larger than the Broker's `maxMessageBytes`: refused at publish, nothing was sent. */
export class MessageTooLargeError extends RelaybusError {
  /** Encoded payload size in bytes. */
  readonly sizeBytes: number;
  /** The limit it exceeded. */
  readonly maxBytes: number;

  constructor(subject: string, sizeBytes: number, maxBytes: number, index?: number) {
    super(
      ErrorCode.MessageTooLarge,
      `message ${index === undefined ? '' : `${index} `}to "${subject}" is ${sizeBytes} bytes encoded, over maxMessageBytes (${maxBytes}); raise the Broker option maxMessageBytes or send a reference to the data instead`,
    );
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/**
 * Throw from a handler to give up on a message at once: it is dead-lettered (where the transport
 * has dead letters) with this error's message as the reason, and never retried.
 */
export class Reject extends RelaybusError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.Rejected, reason, options);
  }
}

/** True when `error` is a relaybus error carrying `code`. */
export function isRelaybusError(error: unknown, code?: ErrorCode): error is RelaybusError {
  return error instanceof RelaybusError && (code === undefined || error.code === code);
}

/** The handler of a request gave up on it (rejected it or ran out of deliveries); `message` says why. */
export class RequestError extends RelaybusError {
  constructor(reason: string) {
    super(ErrorCode.RequestFailed, `the request failed: ${reason}`);
  }
}
