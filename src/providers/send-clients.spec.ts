import { ClassifiedFailure } from '../platform/failure';
import { AppConfig } from '../platform/config/app-config';
import { FacebookClient } from './facebook/facebook.client';
import { InstagramClient } from './instagram/instagram.client';
import { WhatsAppClient } from './whatsapp/whatsapp.client';
import { GraphSendClient } from './meta/graph-send-client';

describe('Send API clients without a token', () => {
  // Unroutable base URL: a request that went out would fail as network, not auth.
  const config = AppConfig.fromEnvironment({
    NODE_ENV: 'test',
    INSTAGRAM_GRAPH_URL: 'http://127.0.0.1:9/v23.0',
    FACEBOOK_GRAPH_URL: 'http://127.0.0.1:9/v23.0',
    WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9/v23.0',
  });
  const clients: [GraphSendClient, string][] = [
    [new InstagramClient(config), 'INSTAGRAM_ACCESS_TOKEN'],
    [new FacebookClient(config), 'FACEBOOK_PAGE_ACCESS_TOKEN'],
    [new WhatsAppClient(config), 'WHATSAPP_ACCESS_TOKEN'],
  ];
  afterAll(() => Promise.all(clients.map(([client]) => client.onApplicationShutdown())));

  it.each(clients.map(([client, variable]) => [client.provider, client, variable] as const))(
    '%s fails as auth, naming the variable, without sending',
    async (_, client, variable) => {
      const failure = await client
        .sendText({ accountId: '106540352242922', recipientId: 'someone', text: 'hi' })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ClassifiedFailure);
      expect(failure).toMatchObject({ category: 'auth', message: `${variable} is not configured` });
    },
  );
});
