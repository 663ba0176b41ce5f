import { Webhook } from 'standardwebhooks';
import { generateEndpointSecret, signDelivery } from './endpoint-secret';

describe('signDelivery', () => {
  it('signs as Standard Webhooks verifies, once per secret during a rotation', () => {
    const [current, previous] = [generateEndpointSecret(), generateEndpointSecret()];
    const body = JSON.stringify({ type: 'x.y', timestamp: new Date().toISOString(), data: { n: 1 } });
    const headers = signDelivery([current, previous], 'evt-1', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [current, previous])
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateEndpointSecret()).verify(body, headers)).toThrow();
  });
});
