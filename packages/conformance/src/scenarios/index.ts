import type { Scenario } from '../scenario.js';
import {
  brokerAutoAck,
  brokerDecodeFailed,
  brokerDecodeFailedContinues,
  brokerReject,
  brokerRetry,
  brokerRetryMaxDeliveries,
  brokerRoundTrip,
} from './broker.js';
import { delayedPublish, nackRequeueDelay } from './delay.js';
import { competingConsumers, fanOutGroups, requeueStaysInGroup } from './groups.js';
import { history } from './history.js';
import {
  abortSignal,
  closeConcurrent,
  closeEndsIteration,
  closeInFlight,
  pollSharesQueue,
  publishAfterClose,
} from './lifecycle.js';
import { manyPublishersSubscribers } from './load.js';
import { orderingPerKey, orderingTotal } from './ordering.js';
import { crashRedelivery, heldNotStolen } from './redelivery.js';
import {
  contentTypeHeader,
  largePayload,
  messageId,
  publishMany,
  roundTripBody,
  roundTripHeaders,
  subjectIsolation,
} from './round-trip.js';
import {
  ackRemoves,
  deadLetter,
  doubleSettlement,
  maxDeliveries,
  nackRequeue,
  rejectDrops,
  requeueYields,
} from './settlement.js';
import { transportShape } from './transport.js';

/** Every scenario, in the order the suite runs them. */
export const ALL_SCENARIOS: readonly Scenario[] = [
  transportShape,
  roundTripBody,
  roundTripHeaders,
  contentTypeHeader,
  messageId,
  largePayload,
  publishMany,
  subjectIsolation,
  manyPublishersSubscribers,
  competingConsumers,
  fanOutGroups,
  requeueStaysInGroup,
  ackRemoves,
  nackRequeue,
  requeueYields,
  nackRequeueDelay,
  delayedPublish,
  doubleSettlement,
  rejectDrops,
  deadLetter,
  maxDeliveries,
  crashRedelivery,
  heldNotStolen,
  closeInFlight,
  closeEndsIteration,
  closeConcurrent,
  abortSignal,
  pollSharesQueue,
  publishAfterClose,
  orderingPerKey,
  orderingTotal,
  history,
  brokerRoundTrip,
  brokerDecodeFailedContinues,
  brokerDecodeFailed,
  brokerAutoAck,
  brokerRetry,
  brokerRetryMaxDeliveries,
  brokerReject,
];
