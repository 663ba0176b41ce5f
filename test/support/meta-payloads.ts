import { createHmac } from 'node:crypto';

export const ACCOUNT_ID = '17841400000000001';

export function sign(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface MessageOptions {
  mid: string;
  sender: string;
  text?: string;
  timestamp?: number;
  isEcho?: boolean;
  attachments?: unknown[];
}

/** One `entry[].messaging[]` item as Instagram sends it. */
export function messagingItem(options: MessageOptions): Record<string, unknown> {
  const { mid, sender, text, timestamp = Date.now(), isEcho, attachments } = options;
  const [from, to] = isEcho ? [ACCOUNT_ID, sender] : [sender, ACCOUNT_ID];
  return {
    sender: { id: from },
    recipient: { id: to },
    timestamp,
    message: {
      mid,
      ...(text !== undefined ? { text } : {}),
      ...(isEcho ? { is_echo: true } : {}),
      ...(attachments ? { attachments } : {}),
    },
  };
}

/** A full Instagram envelope with the given messaging items (Meta batches up to 1000). */
export function instagramEnvelope(items: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    object: 'instagram',
    entry: [{ id: ACCOUNT_ID, time: Date.now(), messaging: items, ...extra }],
  });
}
