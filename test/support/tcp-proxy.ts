import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream?: Socket;
}

/**
 * A loopback TCP proxy in front of a real server (Redis, Postgres), so a test can fail the dependency for
 * this app only, without touching the real server: `cut` drops every connection and refuses new ones
 * (`restore` undoes it); `freeze` keeps every connection open but forwards nothing in either direction
 * and accepts new connections without answering them, like a network that went silent (`thaw` resumes).
 */
export class TcpProxy {
  private server?: Server;
  private readonly links = new Set<Link>();
  private open = true;
  private frozen = false;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (!this.open) return client.destroy();
      const link: Link = { client };
      this.links.add(link);
      client.on('error', () => undefined);
      client.on('close', () => {
        link.upstream?.destroy();
        this.links.delete(link);
      });
      if (this.frozen) client.pause();
      else this.connectUpstream(link);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.open = false;
    for (const link of this.links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
  }

  restore(): void {
    this.open = true;
  }

  /** Stops forwarding, both ways, without closing anything: bytes wait in the sockets' buffers. */
  freeze(): void {
    this.frozen = true;
    for (const link of this.links) {
      link.client.pause();
      link.upstream?.pause();
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const link of this.links) {
      if (!link.upstream) this.connectUpstream(link);
      link.client.resume();
      link.upstream?.resume();
    }
  }

  async stop(): Promise<void> {
    this.thaw();
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private connectUpstream(link: Link): void {
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => link.client.destroy());
    this.forward(link.client, upstream);
    this.forward(upstream, link.client);
  }

  /** Like pipe(), but a frozen proxy stays paused: pipe() would resume the source on the next 'drain'. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!this.frozen) from.resume();
    });
  }
}
