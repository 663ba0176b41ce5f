/**
 * Deliveries in flight in this process, whichever job carries them: a batch job's deliveries queue here,
 * so a worker never has more than its concurrency of requests open.
 */
export class DeliverySlots {
  /** FIFO of waiters; `head` advances instead of shift(), which copies a long array every time. */
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(private free: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.head === this.waiting.length) {
      this.free++;
      return;
    }
    const next = this.waiting[this.head++];
    if (this.head === this.waiting.length || this.head > 4096) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
