import { DeliverySlots } from './delivery-slots';

describe('DeliverySlots', () => {
  it('runs at most its size at once and lets the waiters in first come, first served', async () => {
    const slots = new DeliverySlots(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const runs = Array.from({ length: 10_000 }, (_, i) =>
      slots.run(5, async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
      }),
    );
    while (order.length < 10_000) {
      await new Promise((resolve) => setImmediate(resolve));
      releases.splice(0).forEach((release) => release());
    }
    await Promise.all(runs);
    expect(most).toBe(3);
    expect(order).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('frees the slot when the work throws', async () => {
    const slots = new DeliverySlots(1);
    await expect(slots.run(5, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(5, () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('lets the most urgent waiter in first', async () => {
    const slots = new DeliverySlots(1);
    const order: string[] = [];
    let release!: () => void;
    const first = slots.run(5, () => new Promise<void>((resolve) => (release = resolve)));
    const waiters = (
      [
        ['low', 1],
        ['normal', 5],
        ['urgent', 20],
        ['high', 10],
        ['urgent-2', 20],
      ] as const
    ).map(([name, priority]) => slots.run(priority, async () => void order.push(name)));
    release();
    await Promise.all([first, ...waiters]);
    expect(order).toEqual(['urgent', 'urgent-2', 'high', 'normal', 'low']);
  });
});
