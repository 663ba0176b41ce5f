import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** A subscriber for bench:deliver, in its own process: reads each body, answers 200, counts. */
let received = 0;
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    // A dead subscriber: never answers (the delivery times out).
    if (req.url?.startsWith('/slow')) return;
    received++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: { type?: string }) => {
  if (message.type === 'count') process.send?.({ count: received });
  if (message.type === 'reset') received = 0;
});
process.on('disconnect', () => process.exit(0));
