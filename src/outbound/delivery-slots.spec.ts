import { DeliverySlots } from './delivery-slots';

describe('DeliverySlots', () => {
  it('runs at most its size at once and lets the waiters in first come, first served', async () => {
    const slots = new DeliverySlots(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const runs = Array.from({ length: 10_000 }, (_, i) =>
      slots.run(async () => {
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
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(() => Promise.resolve(7))).resolves.toBe(7);
  });
});
