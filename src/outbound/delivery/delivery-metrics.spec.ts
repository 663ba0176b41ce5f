import { MetricsService } from '../../platform/metrics/metrics.service';
import { DeliveryMetrics, LABELLED_ENDPOINTS } from './delivery-metrics';

describe('DeliveryMetrics', () => {
  it('labels the first endpoints with their id and every later one `other`, for good', async () => {
    const metrics = new MetricsService();
    const deliveries = new DeliveryMetrics(metrics);
    const ids = Array.from({ length: LABELLED_ENDPOINTS + 10 }, (_, i) => `endpoint-${i}`);
    for (const id of ids) deliveries.attempted(id, 20, undefined);
    deliveries.attempted('endpoint-0', 1500, 'timeout');
    deliveries.attempted(ids[ids.length - 1], 30, 'server_error');

    const text = await metrics.registry.metrics();
    const endpoints = new Set(
      [...text.matchAll(/^switchboard_outbound_deliveries_total\{endpoint="([^"]+)"/gm)].map((m) => m[1]),
    );
    expect(endpoints.size).toBe(LABELLED_ENDPOINTS + 1);
    expect(endpoints.has('other')).toBe(true);
    expect(endpoints.has(ids[LABELLED_ENDPOINTS])).toBe(false);
    expect(text).toMatch(/^switchboard_outbound_deliveries_total\{endpoint="other",outcome="success"\} 10$/m);
    expect(text).toMatch(/^switchboard_outbound_deliveries_total\{endpoint="endpoint-0",outcome="timeout"\} 1$/m);
    expect(text).toMatch(
      /^switchboard_outbound_delivery_duration_seconds_bucket\{le="2\.5",endpoint="endpoint-0",outcome="failure"\} 1$/m,
    );
  });
});
