// HTTP API schemas (DESIGN.md "HTTP API"). Fastify validates requests against them, and the Grafana
// datasource backend imports the same types, so the wire format has exactly one definition.
import { Type, type Static } from '@sinclair/typebox';
import { EventSchema, TracerTypeSchema } from '../events/event';

export { EventSchema, TracerTypeSchema, ContainerRefSchema, TRACER_TYPES, FlamegraphRefSchema, TriggerSchema } from '../events/event';
export type { AutotracingEvent, ContainerRef, Trigger, FlamegraphRef, TracerType, EventStatus } from '../events/event';

export const ErrorBodySchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

/** Comma-separated list or repeated parameter, e.g. `type=cpusys,dload`. */
const CsvTypes = Type.String({ pattern: '^[a-z]+(,[a-z]+)*$', maxLength: 200 });
/** Milliseconds since epoch, or an RFC 3339 date, or a relative duration like `now-1h`. */
const TimeParam = Type.String({ maxLength: 64 });

export const ListEventsQuerySchema = Type.Object(
  {
    type: Type.Optional(CsvTypes),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    container: Type.Optional(Type.String({ maxLength: 256 })),
    host: Type.Optional(Type.String({ maxLength: 256 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export type ListEventsQuery = Static<typeof ListEventsQuerySchema>;

export const ListEventsResponseSchema = Type.Object({
  events: Type.Array(EventSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type ListEventsResponse = Static<typeof ListEventsResponseSchema>;

export const FLAMEGRAPH_FORMATS = ['nested', 'folded', 'pprof', 'svg'] as const;
export const FlamegraphQuerySchema = Type.Object(
  {
    format: Type.Optional(Type.Union(FLAMEGRAPH_FORMATS.map((f) => Type.Literal(f)))),
    profile: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);
export type FlamegraphQuery = Static<typeof FlamegraphQuerySchema>;

/** Nested-set rows as Grafana's flame graph takes them: depth-first pre-order, root "all". */
export const NestedFlamegraphSchema = Type.Object({
  name: Type.String(),
  unit: Type.String(),
  total: Type.Number(),
  rows: Type.Object({
    label: Type.Array(Type.String()),
    level: Type.Array(Type.Integer()),
    value: Type.Array(Type.Number()),
    self: Type.Array(Type.Number()),
    kind: Type.Array(Type.String()),
  }),
});
export type NestedFlamegraph = Static<typeof NestedFlamegraphSchema>;

export const CountsQuerySchema = Type.Object(
  {
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    step: Type.Optional(Type.String({ maxLength: 32, description: 'bucket width: ms number or duration like 1m' })),
    by: Type.Optional(Type.Union([Type.Literal('type'), Type.Literal('container')])),
    type: Type.Optional(CsvTypes),
    container: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type CountsQuery = Static<typeof CountsQuerySchema>;

export const CountsResponseSchema = Type.Object({
  host: Type.String(),
  from: Type.Number(),
  to: Type.Number(),
  stepMs: Type.Number(),
  by: Type.String(),
  /** bucket start times, ms since epoch */
  buckets: Type.Array(Type.Number()),
  series: Type.Array(
    Type.Object({
      labels: Type.Record(Type.String(), Type.String()),
      values: Type.Array(Type.Number()),
    }),
  ),
});
export type CountsResponse = Static<typeof CountsResponseSchema>;

export const CaptureRequestSchema = Type.Object(
  {
    type: TracerTypeSchema,
    container: Type.Optional(Type.String({ maxLength: 256 })),
    durationMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
  },
  { additionalProperties: false },
);
export type CaptureRequest = Static<typeof CaptureRequestSchema>;

export const CaptureAcceptedSchema = Type.Object({ id: Type.String(), status: Type.String() });
export type CaptureAccepted = Static<typeof CaptureAcceptedSchema>;

export const TracerStateSchema = Type.Object({
  type: TracerTypeSchema,
  enabled: Type.Boolean(),
  implemented: Type.Boolean(),
  config: Type.Record(Type.String(), Type.Unknown()),
  /** latest detector readings: value, baseline and threshold per metric */
  detector: Type.Array(
    Type.Object({
      metric: Type.String(),
      scope: Type.String({ description: '"host" or a container id' }),
      value: Type.Number(),
      baseline: Type.Number(),
      threshold: Type.Number(),
    }),
  ),
  lastTriggerAt: Type.Union([Type.Number(), Type.Null()]),
  cooldownUntil: Type.Union([Type.Number(), Type.Null()]),
});
export type TracerState = Static<typeof TracerStateSchema>;

export const TracersResponseSchema = Type.Object({ tracers: Type.Array(TracerStateSchema) });
export type TracersResponse = Static<typeof TracersResponseSchema>;

export const InfoResponseSchema = Type.Object({
  host: Type.String(),
  version: Type.String(),
  kernel: Type.String(),
  node: Type.String(),
  startedAt: Type.Number(),
  capabilities: Type.Record(Type.String(), Type.Unknown()),
  tracers: Type.Array(TracerStateSchema),
});
export type InfoResponse = Static<typeof InfoResponseSchema>;
