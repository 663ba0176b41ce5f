/** Event types: dot-separated lower-case words, e.g. `instagram.message.received`. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i;

/** Operational events Switchboard itself publishes. */
export const OutboundEventType = {
  EndpointDisabled: 'endpoint.disabled',
  AccountNeedsToken: 'switchboard.account.needs_token',
  AccountTokenRefreshFailed: 'switchboard.account.token_refresh_failed',
  InstagramMessageReceived: 'instagram.message.received',
} as const;
