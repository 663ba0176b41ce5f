interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<I> {
  /** Largest batch, measured by `weight` (for example events rather than requests). */
  maxBatchWeight: number;
  /** Batches written at once; the next batch gathers while these are in flight. */
  maxInFlight: number;
  weight?: (item: I) => number;
}

/**
 * Natural batching: a lone item is written at once (no added latency at low load), while items that
 * arrive during a write share the next one. Under load one statement and one commit serve many callers.
 */
export class GroupCommit<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  get pending(): number {
    return this.waiting.length + this.inFlight;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    // Let the requests of the current event-loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.inFlight += 1;
      this.write(batch.map((entry) => entry.item))
        .then(
          (results) => batch.forEach((entry, index) => entry.resolve(results[index])),
          (error: unknown) => batch.forEach((entry) => entry.reject(error)),
        )
        .finally(() => {
          this.inFlight -= 1;
          if (this.waiting.length > 0) this.schedule();
        });
    }
  }

  private takeBatch(): Waiting<I, O>[] {
    const weigh = this.options.weight ?? (() => 1);
    let total = 0;
    let count = 0;
    while (count < this.waiting.length) {
      const weight = Math.max(1, weigh(this.waiting[count].item));
      if (count > 0 && total + weight > this.options.maxBatchWeight) break;
      total += weight;
      count += 1;
    }
    return this.waiting.splice(0, count);
  }
}
