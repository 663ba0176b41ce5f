import { ConcurrencyGate } from './rate-limiter';

describe('ConcurrencyGate', () => {
  it('admits up to the cap per endpoint, independently of other endpoints', () => {
    const gate = new ConcurrencyGate();
    expect(gate.tryAcquire('a', 2)).toBe(true);
    expect(gate.tryAcquire('a', 2)).toBe(true);
    expect(gate.tryAcquire('a', 2)).toBe(false);
    expect(gate.tryAcquire('b', 2)).toBe(true);
    gate.release('a');
    expect(gate.tryAcquire('a', 2)).toBe(true);
  });

  it("counts an endpoint's backlog: in flight and waiting for a slot", async () => {
    const gate = new ConcurrencyGate();
    expect(gate.backlog('a')).toBe(0);
    gate.tryAcquire('a', 1);
    const waiter = gate.acquire('a', 1, 5000);
    expect(gate.backlog('a')).toBe(2);
    gate.release('a');
    expect(await waiter).toBe(true);
    expect(gate.backlog('a')).toBe(1);
    gate.release('a');
    expect(gate.backlog('a')).toBe(0);
  });

  it('hands a released slot to the first waiter, in arrival order, without letting a newcomer jump in', async () => {
    const gate = new ConcurrencyGate();
    expect(gate.tryAcquire('a', 1)).toBe(true);
    const order: string[] = [];
    const first = gate.acquire('a', 1, 5000).then((held) => order.push(`first:${held}`));
    const second = gate.acquire('a', 1, 5000).then((held) => order.push(`second:${held}`));
    gate.release('a');
    await first;
    // The slot went to the first waiter: the endpoint is still at its cap.
    expect(gate.tryAcquire('a', 1)).toBe(false);
    gate.release('a');
    await second;
    expect(order).toEqual(['first:true', 'second:true']);
    gate.release('a');
    expect(gate.tryAcquire('a', 1)).toBe(true);
  });

  it('gives up after the timeout, holding nothing, and a later release is not handed to it', async () => {
    const gate = new ConcurrencyGate();
    expect(gate.tryAcquire('a', 1)).toBe(true);
    expect(await gate.acquire('a', 1, 20)).toBe(false);
    gate.release('a');
    expect(gate.tryAcquire('a', 1)).toBe(true);
    expect(gate.tryAcquire('a', 1)).toBe(false);
  });
});
