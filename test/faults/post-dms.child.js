// @ts-check
// The many-process case's load generator, in its own process: posting 10,000 signed webhooks keeps an event
// loop busy, which would hold up the test's polls (the fake servers, whose arrival stamps the per-second
// limits are checked against, have a process of their own: fake-servers.child.js). Plain JavaScript, so it
// needs no build step.
//
// Input (one IPC message): { urls, concurrency, secret, dms: [{ accountId, sender, mid }] }; DM i goes to
// urls[i % urls.length]. Output (one IPC message, then exit): { statuses }, the HTTP status of each DM by index
// (0: no answer).
'use strict';
const { createHmac } = require('node:crypto');
const { Pool } = require('undici');

/**
 * @param {{ accountId: string; sender: string; mid: string }} dm
 * @returns {string}
 */
function body({ accountId, sender, mid }) {
  const now = Date.now();
  return JSON.stringify({
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: now,
        messaging: [
          {
            sender: { id: sender },
            recipient: { id: accountId },
            timestamp: now,
            message: { mid, text: 'hello from many processes' },
          },
        ],
      },
    ],
  });
}

/**
 * @param {{ urls: string[]; concurrency: number; secret: string; dms: { accountId: string; sender: string; mid: string }[] }} job
 * @returns {Promise<number[]>}
 */
async function post({ urls, concurrency, secret, dms }) {
  const count = dms.length;
  const pools = urls.map((url) => new Pool(url, { connections: Math.ceil(concurrency / urls.length) }));
  const statuses = new Array(count).fill(0);
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const i = next++;
      const payload = body(dms[i]);
      try {
        const response = await pools[i % pools.length].request({
          method: 'POST',
          path: '/webhooks/instagram',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`,
          },
          body: payload,
          headersTimeout: 15_000,
        });
        await response.body.dump();
        statuses[i] = response.statusCode;
      } catch {
        statuses[i] = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await Promise.all(pools.map((pool) => pool.close()));
  return statuses;
}

// It stands for Meta, which runs elsewhere: below the processes under test in the scheduler's order.
try {
  require('node:os').setPriority(10);
} catch {
  // as it is
}

process.once('message', (job) => {
  post(/** @type {any} */ (job)).then(
    (statuses) => process.send?.({ statuses }, () => process.exit(0)),
    (error) => {
      process.stderr.write(`${error?.stack ?? error}\n`);
      process.exit(1);
    },
  );
});
