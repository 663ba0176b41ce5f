import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../../platform/metrics/metrics.service';

/** Endpoints that get a label of their own in this process; the rest share `other`. */
export const LABELLED_ENDPOINTS = 50;
export const OTHER_ENDPOINTS = 'other';

/**
 * Outcomes and latency of delivery attempts, per endpoint. Label cardinality is bounded: the first
 * LABELLED_ENDPOINTS endpoints this process delivers to are labelled with their id, every later one with
 * `other`. A label never moves from one endpoint to another (a top-N by traffic would, and break rate()
 * over the series it took from), and an install has a handful of subscribers, so in practice each has its own.
 */
@Injectable()
export class DeliveryMetrics {
  private readonly labels = new Map<string, string>();
  private readonly attempts: Counter<'endpoint' | 'outcome'>;
  private readonly duration: Histogram<'endpoint' | 'outcome'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'switchboard_outbound_deliveries_total',
      help: `Outbound delivery attempts by endpoint (its id for the first ${LABELLED_ENDPOINTS} endpoints, then "other") and outcome (success, or the failure category)`,
      labelNames: ['endpoint', 'outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'switchboard_outbound_delivery_duration_seconds',
      help: 'Outbound delivery attempt latency by endpoint (as in switchboard_outbound_deliveries_total) and outcome (success, failure)',
      labelNames: ['endpoint', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  /** One attempt: `category` undefined for a success. */
  attempted(endpointId: string, durationMs: number, category: string | undefined): void {
    const endpoint = this.label(endpointId);
    this.attempts.inc({ endpoint, outcome: category ?? 'success' });
    this.duration.observe({ endpoint, outcome: category ? 'failure' : 'success' }, durationMs / 1000);
  }

  private label(endpointId: string): string {
    let label = this.labels.get(endpointId);
    if (label === undefined) {
      label = this.labels.size < LABELLED_ENDPOINTS ? endpointId : OTHER_ENDPOINTS;
      // Bounded too: past the labelled ones, endpoints are looked up until the map is full, then `other`.
      if (this.labels.size < LABELLED_ENDPOINTS * 20) this.labels.set(endpointId, label);
    }
    return label;
  }
}
