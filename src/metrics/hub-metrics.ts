import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A figure read when Prometheus scrapes, from whoever holds it (projection engine, streams). */
export type GaugeSource = () => Promise<
  readonly { labels: Record<string, string>; value: number }[]
>;

/**
 * The hub's metrics, in one registry per hub (tests run several hubs in one process). Counters
 * are moved where things happen; gauges that describe state are read at scrape time from their
 * sources, so nothing polls between scrapes.
 */
export class HubMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly eventsAppended = new Counter({
    name: 'hub_events_appended_total',
    help: 'Events appended to the log by this process',
    registers: [this.registry],
  });

  readonly appendDuration = new Histogram({
    name: 'hub_append_duration_seconds',
    help: 'Time an append to the log took, from the request to the acknowledgement',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly projectionFailures = new Counter({
    name: 'hub_projection_failures_total',
    help: 'Attempts to apply a projection that failed, by projection',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: 'hub_webhook_attempts_total',
    help: 'Webhook delivery attempts, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookDeadLetters = new Counter({
    name: 'hub_webhook_dead_letters_total',
    help: 'Webhook deliveries that ran out of attempts',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'hub_' });
  }

  /** A gauge whose values come from `source` at each scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], source: GaugeSource): void {
    const existing = this.registry.getSingleMetric(name);
    if (existing) this.registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await source()) this.set(labels, value);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

export const HUB_METRICS = Symbol('HUB_METRICS');
