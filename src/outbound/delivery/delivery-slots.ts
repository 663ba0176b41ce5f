/** A FIFO whose `head` advances instead of shift(), which copies a long array every time. */
class Waiters {
  private items: (() => void)[] = [];
  private head = 0;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  push(item: () => void): void {
    this.items.push(item);
  }

  take(): () => void {
    const item = this.items[this.head++];
    if (this.head === this.items.length || this.head > 4096) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

const HIGHEST_PRIORITY = 20;

/**
 * Deliveries in flight in this process, whichever job carries them: a batch job's deliveries queue here,
 * so a worker never has more than its concurrency of requests open. Waiters are served by priority
 * (1 low … 20 urgent), first come first served within one: an urgent batch is not stuck behind the
 * normal batches this worker took before it.
 */
export class DeliverySlots {
  private readonly waiting = Array.from({ length: HIGHEST_PRIORITY + 1 }, () => new Waiters());
  private queued = 0;

  constructor(private free: number) {}

  async run<T>(priority: number, work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else {
      const level = Math.max(0, Math.min(HIGHEST_PRIORITY, Math.round(priority)));
      this.queued++;
      await new Promise<void>((resolve) => this.waiting[level].push(resolve));
    }
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.queued === 0) {
      this.free++;
      return;
    }
    for (let level = HIGHEST_PRIORITY; level >= 0; level--) {
      if (this.waiting[level].empty) continue;
      this.queued--;
      this.waiting[level].take()();
      return;
    }
  }
}
