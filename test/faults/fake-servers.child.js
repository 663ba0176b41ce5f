// @ts-check
// The many-process case's fake Graph API and subscriber, in a process of their own: the limits are checked
// against their arrival stamps, and the test's own event loop (ts-jest's heap, the outcome polls) can stall
// for tens of ms, long enough to stamp two requests one interval apart as one. The servers are the test
// suite's own (test/support), compiled here as they are loaded.
//
// Input (IPC): { id, op: 'start', delays: { [path]: ms } } → { id, graphUrl, receiverUrl };
// { id, op: 'count' } → { id, graphCalls }; { id, op: 'collect' } → { id, graph: [{ recipient, at }],
// received: { [path]: at[] }, maxConcurrent: { [path]: n } }; { id, op: 'stop' } → { id }, then exit.
'use strict';
const { readFileSync } = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  /** @type {any} */ (module)._compile(outputText, filename);
};
const { FakeGraphApi } = require('../support/fake-graph-api.ts');
const { WebhookReceiver } = require('../support/webhook-receiver.ts');

// Ahead of the processes under test in the scheduler's order (where this user may): on a saturated machine a
// request would otherwise wait for this process to be scheduled, tens of ms, before it is stamped.
try {
  require('node:os').setPriority(-10);
} catch (error) {
  process.stderr.write(`[fake servers] at normal priority: ${error}\n`);
}
const graph = new FakeGraphApi();
const receiver = new WebhookReceiver();
/** @type {Set<string>} */
const paths = new Set();

/** @type {Record<string, (message: any) => Promise<object>>} */
const ops = {
  async start({ delays }) {
    const graphUrl = await graph.start();
    const receiverUrl = await receiver.start();
    for (const [path, delayMs] of Object.entries(delays ?? {})) {
      receiver.on(path, () => ({ status: 200, body: 'ok', delayMs }));
    }
    return { graphUrl, receiverUrl };
  },
  async count() {
    return { graphCalls: graph.requests.length };
  },
  async collect() {
    for (const request of receiver.received) paths.add(request.path);
    return {
      graph: graph.requests.map((request) => ({ recipient: request.body.recipient?.id ?? '', at: request.receivedAt })),
      received: Object.fromEntries([...paths].map((path) => [path, receiver.at(path).map((hit) => hit.at)])),
      maxConcurrent: Object.fromEntries([...paths].map((path) => [path, receiver.maxConcurrent(path)])),
    };
  },
  async stop() {
    await Promise.all([graph.stop(), receiver.stop()]);
    return {};
  },
};

process.on('message', (/** @type {any} */ message) => {
  ops[message.op](message).then(
    (answer) =>
      process.send?.({ id: message.id, ...answer }, () => {
        if (message.op === 'stop') process.exit(0);
      }),
    (error) => {
      process.stderr.write(`${error?.stack ?? error}\n`);
      process.exit(1);
    },
  );
});
