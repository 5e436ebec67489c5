// The agent's Prometheus metrics (prom-client). At fleet scale these are what Prometheus scrapes:
// capture counts (a real capture count, not Huatuo's hit count), detector values next to their
// thresholds and baselines, store size, and the agent's own cost.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { EVENT_STATUSES, TRACER_TYPES } from '../events/event';
import { CAPTURE_ERROR_HTTP_STATUS, type CaptureErrorCode } from '../capture/errors';

/** A capture's final statuses: what autotracing_captures_total counts. */
const FINAL_STATUSES = EVENT_STATUSES.filter((s) => s !== 'capturing');
const REFUSAL_CODES = Object.keys(CAPTURE_ERROR_HTTP_STATUS) as CaptureErrorCode[];

export interface StoreSizeSource {
  stats(): { events: number; profiles: number; fileBytes: number };
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly captures: Counter<'type' | 'status'>;
  readonly captureDuration: Histogram<'type'>;
  readonly refused: Counter<'type' | 'reason'>;
  readonly triggers: Counter<'type'>;
  readonly detectorValue: Gauge<'tracer' | 'metric' | 'scope'>;
  readonly detectorBaseline: Gauge<'tracer' | 'metric' | 'scope'>;
  readonly detectorThreshold: Gauge<'tracer' | 'metric' | 'scope'>;
  readonly capturesInFlight: Gauge<'type'>;
  readonly budgetUsed: Gauge;
  readonly detectorErrors: Counter<'tracer'>;
  readonly tickDuration: Histogram<'tracer'>;
  readonly tracerSupport: Gauge<'type' | 'mode'>;

  constructor(store: () => StoreSizeSource | null, host: string) {
    const r = this.registry;
    r.setDefaultLabels({ host });
    collectDefaultMetrics({ register: r, prefix: 'autotracing_agent_' });
    // prom-client's gauges named *_total break Prometheus' naming rules (promtool flags them); the
    // same counts stay in their per-type gauges (autotracing_agent_nodejs_active_handles{type})
    for (const g of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
      r.removeSingleMetric(`autotracing_agent_nodejs_${g}`);
    this.captures = new Counter({
      name: 'autotracing_captures_total',
      help: 'Captures finished, by tracer type and final status (complete, partial, failed)',
      labelNames: ['type', 'status'],
      registers: [r],
    });
    this.captureDuration = new Histogram({
      name: 'autotracing_capture_duration_seconds',
      help: 'Wall time of a capture from trigger to stored event',
      labelNames: ['type'],
      buckets: [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120],
      registers: [r],
    });
    this.refused = new Counter({
      name: 'autotracing_captures_refused_total',
      help: 'Captures not started: busy, budget spent, cooldown, disabled, not implemented, …',
      labelNames: ['type', 'reason'],
      registers: [r],
    });
    this.triggers = new Counter({
      name: 'autotracing_triggers_total',
      help: 'Detector triggers (a spike that held), whether or not a capture followed',
      labelNames: ['type'],
      registers: [r],
    });
    this.detectorValue = new Gauge({
      name: 'autotracing_detector_value',
      help: 'Latest value a detector sampled (percent, load, bytes/s, ms … per metric)',
      labelNames: ['tracer', 'metric', 'scope'],
      registers: [r],
    });
    this.detectorBaseline = new Gauge({
      name: 'autotracing_detector_baseline',
      help: 'Recent baseline the detector compares against',
      labelNames: ['tracer', 'metric', 'scope'],
      registers: [r],
    });
    this.detectorThreshold = new Gauge({
      name: 'autotracing_detector_threshold',
      help: 'Configured threshold of the metric',
      labelNames: ['tracer', 'metric', 'scope'],
      registers: [r],
    });
    this.capturesInFlight = new Gauge({
      name: 'autotracing_captures_in_flight',
      help: 'Captures running now',
      labelNames: ['type'],
      registers: [r],
    });
    this.budgetUsed = new Gauge({
      name: 'autotracing_capture_budget_used_seconds',
      help: 'Capture time spent in the last rolling hour',
      registers: [r],
    });
    this.detectorErrors = new Counter({
      name: 'autotracing_detector_errors_total',
      help: 'Detector ticks that failed (unreadable /proc or cgroup files, …)',
      labelNames: ['tracer'],
      registers: [r],
    });
    this.tickDuration = new Histogram({
      name: 'autotracing_detector_tick_seconds',
      help: 'Time one detector tick takes (the always-on cost)',
      labelNames: ['tracer'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers: [r],
    });
    this.tracerSupport = new Gauge({
      name: 'autotracing_tracer_support',
      help: 'What a tracer can do on this kernel: 1 for its mode (full, degraded: less evidence, off: cannot capture), 0 for the others',
      labelNames: ['type', 'mode'],
      registers: [r],
    });
    // Every series an alert may watch exists at 0 from the first scrape: a series born at 1 is
    // invisible to increase()/rate(), so the first capture of a type would never fire an alert.
    for (const type of TRACER_TYPES) {
      for (const status of FINAL_STATUSES) this.captures.inc({ type, status }, 0);
      for (const reason of REFUSAL_CODES) this.refused.inc({ type, reason }, 0);
      this.triggers.inc({ type }, 0);
      this.detectorErrors.inc({ tracer: type }, 0);
      this.captureDuration.zero({ type });
      this.tickDuration.zero({ tracer: type });
      this.capturesInFlight.set({ type }, 0);
    }
    // one stats() per scrape, not one per gauge
    let cached: { at: number; stats: ReturnType<StoreSizeSource['stats']> } | null = null;
    const stats = () => {
      const src = store();
      if (!src) return null;
      if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), stats: src.stats() };
      return cached.stats;
    };
    const storeGauge = (name: string, help: string, pick: (s: ReturnType<StoreSizeSource['stats']>) => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const s = stats();
          if (s) this.set(pick(s));
        },
      });
    storeGauge('autotracing_store_events', 'Events in the local store', (s) => s.events);
    storeGauge('autotracing_store_profiles', 'Flame graphs in the local store', (s) => s.profiles);
    storeGauge('autotracing_store_bytes', 'Database file size including the WAL', (s) => s.fileBytes);
  }

  private readonly detectorSeries = new Map<string, Set<string>>(); // "tracer\0scope" → metrics

  /** Publish a tracer's support mode: every mode has a series, so alerts see changes from 0 to 1. */
  setSupport(type: string, mode: 'full' | 'degraded' | 'off'): void {
    for (const m of ['full', 'degraded', 'off'] as const) this.tracerSupport.set({ type, mode: m }, m === mode ? 1 : 0);
  }

  /** Publish one detector reading (value next to its baseline and threshold). */
  setDetector(tracer: string, metric: string, scope: string, value: number, baseline: number, threshold: number): void {
    const labels = { tracer, metric, scope };
    this.detectorValue.set(labels, value);
    this.detectorBaseline.set(labels, baseline);
    this.detectorThreshold.set(labels, threshold);
    const key = `${tracer}\0${scope}`;
    let set = this.detectorSeries.get(key);
    if (!set) this.detectorSeries.set(key, (set = new Set()));
    set.add(metric);
  }

  /** Forget the detector series of a scope that is gone (a container that exited). */
  dropScope(tracer: string, scope: string): void {
    const key = `${tracer}\0${scope}`;
    for (const metric of this.detectorSeries.get(key) ?? []) {
      const labels = { tracer, metric, scope };
      this.detectorValue.remove(labels);
      this.detectorBaseline.remove(labels);
      this.detectorThreshold.remove(labels);
    }
    this.detectorSeries.delete(key);
  }
}
