import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

export interface CollectedCalls {
  /** Send API calls: the recipient and when the call arrived. */
  graph: { recipient: string; at: number }[];
  /** Deliveries per subscriber path: when each arrived. */
  received: Record<string, number[]>;
  maxConcurrent: Record<string, number>;
}

/**
 * The fake Graph API and a subscriber (test/support's) in a child process (fake-servers.child.js), so that
 * their arrival stamps do not wait for this process's event loop.
 */
export class FakeServersProcess {
  private next = 0;
  private readonly waiting = new Map<number, (answer: any) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly graphUrl: string,
    private readonly receiverUrl: string,
  ) {}

  /** `delays`: subscriber paths that answer this many ms late. */
  static async start(delays: Record<string, number>): Promise<FakeServersProcess> {
    const child = fork(join(__dirname, 'fake-servers.child.js'), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const servers = new FakeServersProcess(child, '', '');
    child.on('message', (message: { id: number }) => {
      servers.waiting.get(message.id)?.(message);
      servers.waiting.delete(message.id);
    });
    const started = await servers.ask<{ graphUrl: string; receiverUrl: string }>({ op: 'start', delays });
    return Object.assign(servers, { graphUrl: started.graphUrl, receiverUrl: started.receiverUrl });
  }

  /** The subscriber's URL for `path`. */
  url(path: string): string {
    return `${this.receiverUrl}${path}`;
  }

  async graphCalls(): Promise<number> {
    return (await this.ask<{ graphCalls: number }>({ op: 'count' })).graphCalls;
  }

  collect(): Promise<CollectedCalls> {
    return this.ask({ op: 'collect' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await Promise.race([this.ask({ op: 'stop' }), exited]);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.child.kill('SIGKILL');
  }

  private ask<T>(message: Record<string, unknown>): Promise<T> {
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      const exited = () => reject(new Error(`the fake servers exited before answering ${String(message.op)}`));
      this.child.once('exit', exited);
      this.waiting.set(id, (answer) => {
        this.child.off('exit', exited);
        resolve(answer as T);
      });
      this.child.send({ id, ...message });
    });
  }
}
