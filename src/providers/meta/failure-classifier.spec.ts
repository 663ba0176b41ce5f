import { parseRetryAfter } from '../../platform/http/retry-after';
import { classifyGraphResponse, classifyTransportError } from './failure-classifier';

describe('classifyGraphResponse', () => {
  it.each([
    [500, undefined, 'server_error', true],
    [503, { code: 2 }, 'server_error', true],
    [400, { code: 1 }, 'server_error', true],
    [400, { code: 2 }, 'server_error', true],
    [400, { code: 341 }, 'server_error', true],
    [400, { code: 1200 }, 'server_error', true],
    [400, { code: 99, is_transient: true }, 'server_error', true],
    [429, undefined, 'rate_limited', true],
    [400, { code: 4 }, 'rate_limited', true],
    [400, { code: 17 }, 'rate_limited', true],
    [400, { code: 32 }, 'rate_limited', true],
    [400, { code: 613 }, 'rate_limited', true],
    [401, { code: 190 }, 'auth', false],
    [400, { code: 190 }, 'auth', false],
    [400, { code: 10, error_subcode: 2018278 }, 'policy', false],
    [400, { code: 10, error_subcode: 2534022 }, 'policy', false],
    [400, { code: 131047 }, 'policy', false],
    [400, { code: 130429 }, 'rate_limited', true],
    [400, { code: 131056 }, 'rate_limited', true],
    [400, { code: 100 }, 'client_error', false],
    [404, undefined, 'client_error', false],
  ])('%i %j is %s', (status, error, category, transient) => {
    const failure = classifyGraphResponse(status, error);
    expect(failure.category).toBe(category);
    expect(failure.transient).toBe(transient);
    expect(failure.httpStatus).toBe(status);
  });

  it('keeps Retry-After and says only codes in its message', () => {
    const failure = classifyGraphResponse(429, { code: 4, error_subcode: 1 }, 3000);
    expect(failure.retryAfterMs).toBe(3000);
    expect(failure.message).toBe('Graph API answered 429 (code 4, subcode 1)');
  });
});

describe('classifyTransportError', () => {
  it('retries errors raised before the request could be sent', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']) {
      const failure = classifyTransportError(Object.assign(new Error('x'), { code }));
      expect(failure.transient).toBe(true);
      expect(failure.ambiguous).toBe(false);
    }
  });

  it('treats a timeout after sending as ambiguous (the reply may have been delivered)', () => {
    const failure = classifyTransportError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    expect(failure).toMatchObject({ category: 'timeout', ambiguous: true });
  });

  it('treats a connection lost mid-request as ambiguous', () => {
    expect(
      classifyTransportError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).ambiguous,
    ).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
