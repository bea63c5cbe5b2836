/** Stable code of `MissingPacketError`. */
export const MISSING_PACKET = 'RELAYBUS_MQTT_MISSING_PACKET';

/**
 * What `get` and `del` call back with when no packet with that messageId is stored. MQTT.js relies
 * on this error (its QoS 2 receive path answers a PUBREL without a stored PUBLISH with a PUBCOMP
 * and emits nothing). The message is MQTT.js's own, `missing packet`.
 */
export class MissingPacketError extends Error {
  readonly code = MISSING_PACKET;
  /** The messageId that was looked up. */
  readonly messageId: number | undefined;

  constructor(messageId: number | undefined) {
    super('missing packet');
    this.name = 'MissingPacketError';
    this.messageId = messageId;
  }
}
