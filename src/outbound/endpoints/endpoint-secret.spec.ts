import { Webhook } from 'standardwebhooks';
import { generateEndpointSecret, signDelivery } from './endpoint-secret';

describe('signDelivery', () => {
  it('signs as Standard Webhooks verifies, once per secret during a rotation', () => {
    const [current, previous] = [generateEndpointSecret(), generateEndpointSecret()];
    const body = JSON.stringify({ type: 'x.y', timestamp: new Date().toISOString(), data: { n: 1 } });
    const list = signDelivery([current, previous], 'evt-1', Date.now(), body);
    const headers = Object.fromEntries([0, 2, 4].map((i) => [list[i], list[i + 1]]));
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [current, previous])
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateEndpointSecret()).verify(body, headers)).toThrow();
  });
});
