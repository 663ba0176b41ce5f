import { ContentFreeSpans, scrub } from './content-free-spans';

describe('ContentFreeSpans', () => {
  it('drops query strings from URL attributes and error messages from attributes', () => {
    const attributes: Record<string, unknown> = {
      'url.full': 'https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token=T',
      'url.path': '/webhooks/instagram?hub.verify_token=V',
      'http.target': '/webhooks/instagram?hub.challenge=C',
      'url.query': 'hub.verify_token=V',
      'bullmq.job.failed.reason': 'invalid input syntax for type uuid: "someone@example.com"',
      'db.query.text': 'SELECT 1 WHERE id = $1',
      'http.response.status_code': 200,
    };
    scrub(attributes);
    expect(attributes).toEqual({
      'url.full': 'https://graph.instagram.com/refresh_access_token',
      'url.path': '/webhooks/instagram',
      'http.target': '/webhooks/instagram',
      'db.query.text': 'SELECT 1 WHERE id = $1',
      'http.response.status_code': 200,
    });
  });

  it('keeps an exception event its type only, and a span status its code only', () => {
    const ended: unknown[] = [];
    const processor = new ContentFreeSpans({
      onStart: () => undefined,
      onEnd: (span) => void ended.push(span),
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    });
    const span = {
      attributes: {},
      events: [
        {
          name: 'exception',
          attributes: { 'exception.type': '22P02', 'exception.message': 'value "x"', 'exception.stacktrace': 'x' },
        },
      ],
      status: { code: 2, message: 'value "x"' },
    };
    processor.onEnding(span as never);
    expect(span.events[0].attributes).toEqual({ 'exception.type': '22P02' });
    expect(span.status).toEqual({ code: 2 });
  });
});
