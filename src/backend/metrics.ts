// The backend's own metrics, served through pluginv2.Diagnostics/CollectMetrics as Prometheus text
// (Grafana exposes them at /api/plugins/<id>/metrics). Process metrics come from prom-client's
// default collectors (CPU, RSS, heap, event-loop lag, handles).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly queries: Counter<'query_type' | 'status'>;
  private readonly queryDuration: Histogram<'query_type'>;
  private readonly agentRequests: Counter<'outcome'>;
  private readonly resources: Counter<'route' | 'code'>;
  private readonly healthChecks: Counter<'status'>;
  readonly instances: Gauge;

  constructor() {
    const prefix = 'autotracing_backend_';
    collectDefaultMetrics({ register: this.registry, prefix });
    this.queries = new Counter({
      name: `${prefix}queries_total`,
      help: 'QueryData queries by query type and response status',
      labelNames: ['query_type', 'status'],
      registers: [this.registry],
    });
    this.queryDuration = new Histogram({
      name: `${prefix}query_duration_seconds`,
      help: 'Time to answer one query, fan-out included',
      labelNames: ['query_type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.agentRequests = new Counter({
      name: `${prefix}agent_requests_total`,
      help: 'Requests to agents by outcome (ok, or the failure kind)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.resources = new Counter({
      name: `${prefix}resource_calls_total`,
      help: 'CallResource calls by route and HTTP status',
      labelNames: ['route', 'code'],
      registers: [this.registry],
    });
    this.healthChecks = new Counter({
      name: `${prefix}health_checks_total`,
      help: 'CheckHealth calls by result',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.instances = new Gauge({
      name: `${prefix}datasource_instances`,
      help: 'Datasource instances currently held',
      registers: [this.registry],
    });
  }

  observeQuery(queryType: string, status: number, seconds: number): void {
    this.queries.inc({ query_type: queryType, status: String(status) });
    this.queryDuration.observe({ query_type: queryType }, seconds);
  }

  agentRequest(outcome: string): void {
    this.agentRequests.inc({ outcome });
  }

  resourceCall(route: string, code: number): void {
    this.resources.inc({ route, code: String(code) });
  }

  healthCheck(status: string): void {
    this.healthChecks.inc({ status });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
