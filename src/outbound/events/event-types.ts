/** Event types: dot-separated lower-case words, e.g. `instagram.message.received`. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i;

/** Events Switchboard itself publishes about inbound traffic (operational ones: OperationalEventType). */
export const OutboundEventType = {
  InstagramMessageReceived: 'instagram.message.received',
} as const;
