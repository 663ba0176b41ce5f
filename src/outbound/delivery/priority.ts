export const PRIORITIES = { low: 1, normal: 5, high: 10, urgent: 20 } as const;
export type PriorityName = keyof typeof PRIORITIES;

/** BullMQ serves the lowest number first; ours grow with urgency. */
export function queuePriority(priority: number): number {
  return Math.max(1, 21 - priority);
}
