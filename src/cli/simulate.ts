import { ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';

const USAGE = `npm run simulate [-- options]

Sends realistic, signed Instagram webhooks and prints what happened to each.

  (no options)          start a fake Graph API and a Switchboard instance of its own (port 3100,
                        database switchboard_simulate), run the scenarios, stop both
  --url URL             target an instance that is already running (then set --secret)
  --secret S            the app secret the target verifies with (default: META_APP_SECRETS' first, or the dev secret)
  --fake-graph-port N   with --url: also run a fake Graph API on port N; start the target with
                        INSTAGRAM_GRAPH_URL=http://127.0.0.1:N/v23.0 to see its replies here
`;

const ACCOUNT = '17841400000000001';

interface Scenario {
  name: string;
  body: string;
  /** Senders whose auto-reply we expect (one each), and those that must get none. */
  expectReplies: string[];
  expectNoReply: string[];
}

function message(mid: string, sender: string, text: string, echo = false) {
  return {
    sender: { id: echo ? ACCOUNT : sender },
    recipient: { id: echo ? sender : ACCOUNT },
    timestamp: Date.now(),
    message: { mid, text, ...(echo ? { is_echo: true } : {}) },
  };
}

function envelope(items: unknown[]): string {
  return JSON.stringify({ object: 'instagram', entry: [{ id: ACCOUNT, time: Date.now(), messaging: items }] });
}

function scenarios(): Scenario[] {
  const run = Date.now().toString(36);
  const single = envelope([message(`m_${run}_single`, `sim-${run}-alice`, 'Hello, can I book a check-up?')]);
  return [
    { name: 'single DM', body: single, expectReplies: [`sim-${run}-alice`], expectNoReply: [] },
    {
      name: 'batch of 5 DMs',
      body: envelope(
        Array.from({ length: 5 }, (_, i) => message(`m_${run}_batch_${i}`, `sim-${run}-batch-${i}`, `Question ${i}`)),
      ),
      expectReplies: Array.from({ length: 5 }, (_, i) => `sim-${run}-batch-${i}`),
      expectNoReply: [],
    },
    { name: 'duplicate of the single DM', body: single, expectReplies: [], expectNoReply: [] },
    {
      name: 'echo (sent by the clinic)',
      body: envelope([message(`m_${run}_echo`, `sim-${run}-bob`, 'We are open until 6pm.', true)]),
      expectReplies: [],
      expectNoReply: [`sim-${run}-bob`],
    },
  ];
}

class FakeGraph {
  readonly replies = new Map<string, number>();
  private server?: Server;

  async start(port = 0): Promise<number> {
    let counter = 0;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          const recipient = JSON.parse(Buffer.concat(chunks).toString('utf8'))?.recipient?.id;
          if (recipient) this.replies.set(recipient, (this.replies.get(recipient) ?? 0) + 1);
        } catch {
          // not JSON: counted as nothing
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message_id: `m_sim_reply_${++counter}` }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let target = argument(args, 'url');
  const secret =
    argument(args, 'secret') ?? process.env.META_APP_SECRETS?.split(',')[0]?.trim() ?? 'development-app-secret';
  const graph = new FakeGraph();
  let app: ChildProcess | undefined;
  let databaseUrl: string | undefined;

  try {
    if (!target) {
      const graphPort = await graph.start();
      databaseUrl = 'postgres://postgres@127.0.0.1:5432/switchboard_simulate';
      target = 'http://127.0.0.1:3100';
      process.stdout.write(`Starting Switchboard on ${target} with a fake Graph API on :${graphPort} ...\n`);
      app = spawn(process.execPath, [join(__dirname, '..', 'main.js')], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          PORT: '3100',
          DATABASE_URL: databaseUrl,
          QUEUE_PREFIX: 'switchboard-simulate',
          META_APP_SECRETS: secret,
          INSTAGRAM_GRAPH_URL: `http://127.0.0.1:${graphPort}/v23.0`,
          INSTAGRAM_ACCESS_TOKEN: 'simulated-token',
          LOG_LEVEL: 'warn',
        },
      });
      const up = await waitUntil(async () => (await fetch(`${target}/health/ready`)).ok, 30_000);
      if (!up) throw new Error('the instance did not become ready within 30 s');
    } else if (argument(args, 'fake-graph-port')) {
      await graph.start(Number(argument(args, 'fake-graph-port')));
    }

    const rows: string[][] = [];
    for (const scenario of scenarios()) {
      const signature = `sha256=${createHmac('sha256', secret).update(scenario.body).digest('hex')}`;
      const started = Date.now();
      const response = await fetch(`${target}/webhooks/instagram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body: scenario.body,
      });
      const ackMs = Date.now() - started;
      await waitUntil(
        async () => scenario.expectReplies.every((sender) => (graph.replies.get(sender) ?? 0) >= 1),
        10_000,
      );
      const replied = scenario.expectReplies.filter((sender) => graph.replies.get(sender) === 1).length;
      const wrong = scenario.expectNoReply.filter((sender) => graph.replies.has(sender)).length;
      rows.push([
        scenario.name,
        `${response.status} ${await response.text()}`,
        `${ackMs} ms`,
        `${replied}/${scenario.expectReplies.length}${wrong ? ` (+${wrong} unexpected)` : ''}`,
      ]);
    }
    if (databaseUrl) rows.push(...(await processedCounts(databaseUrl)));
    printTable(['scenario', 'answer', 'ack', 'replies seen'], rows);
    return 0;
  } finally {
    if (app) {
      app.kill('SIGTERM');
      await new Promise((resolve) => app!.once('exit', resolve));
    }
    await graph.stop();
  }
}

async function processedCounts(databaseUrl: string): Promise<string[][]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await waitUntil(async () => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_events WHERE status IN ('received', 'processing')`,
      );
      return rows[0].n === 0;
    }, 10_000);
    const { rows } = await client.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM inbound_events GROUP BY status ORDER BY status`,
    );
    return rows.map((row) => [`events ${row.status} (all runs)`, '', '', String(row.n)]);
  } finally {
    await client.end();
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(
    `\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}\n`,
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
