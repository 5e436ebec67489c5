// HTTP API schemas (DESIGN.md "HTTP API"). Fastify validates requests against them, and the Grafana
// datasource backend imports the same types, so the wire format has exactly one definition.
import { Type, type Static } from '@sinclair/typebox';
import { EventSchema, TracerTypeSchema } from '../events/event';

export {
  EventSchema,
  TracerTypeSchema,
  ContainerRefSchema,
  TRACER_TYPES,
  FlamegraphRefSchema,
  TriggerSchema,
} from '../events/event';
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
  { additionalProperties: false }
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
  { additionalProperties: false }
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
    /** binary / shared object / kernel module of each row ('' when unknown); added by the agent API */
    module: Type.Optional(Type.Array(Type.String())),
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
    host: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false }
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
    })
  ),
});
export type CountsResponse = Static<typeof CountsResponseSchema>;

export const CaptureRequestSchema = Type.Object(
  {
    type: TracerTypeSchema,
    container: Type.Optional(Type.String({ maxLength: 256 })),
    durationMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
  },
  { additionalProperties: false }
);
export type CaptureRequest = Static<typeof CaptureRequestSchema>;

export const CaptureAcceptedSchema = Type.Object({ id: Type.String(), status: Type.String() });
export type CaptureAccepted = Static<typeof CaptureAcceptedSchema>;

/** What a tracer can do on this kernel (agent/src/tracers/support.ts). */
export const TracerSupportSchema = Type.Object({
  mode: Type.Union([Type.Literal('full'), Type.Literal('degraded'), Type.Literal('off')]),
  /** what is missing and why: empty when full */
  missing: Type.Array(Type.String()),
});
export type TracerSupport = Static<typeof TracerSupportSchema>;

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
    })
  ),
  lastTriggerAt: Type.Union([Type.Number(), Type.Null()]),
  cooldownUntil: Type.Union([Type.Number(), Type.Null()]),
  /** on this kernel: full, degraded (what is missing) or off (why); absent from agents before 0.2 */
  support: Type.Optional(TracerSupportSchema),
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

// ---------------------------------------------------------------------------------------------
// Added with the agent's HTTP server (agent/src/api/server.ts): path parameters, the merged flame
// graph over a time range, template-variable lists, the event stream and health bodies.

/** Error codes the API answers with (the `error.code` of ErrorBodySchema). */
export const API_ERROR_CODES = [
  'BAD_REQUEST', // schema validation: unknown parameter, wrong type, out-of-range value
  'BAD_RANGE', // from > to, a step that makes too many buckets
  'BAD_CURSOR', // a cursor this agent did not hand out
  'BAD_JSON', // a request body that is not JSON
  'UNAUTHORIZED', // no or unknown bearer token (401)
  'FORBIDDEN', // a read token on an admin route (403)
  'NOT_FOUND', // unknown event, profile or route (404)
  'CONFLICT', // 409
  'PAYLOAD_TOO_LARGE', // 413
  'UNSUPPORTED_MEDIA_TYPE', // 415
  'RATE_LIMITED', // 429
  'NOT_READY', // /readyz while starting or stopping (503)
  'TOO_MANY_STREAMS', // event streams at their limit (503)
  'INTERNAL', // 500, details only in the agent's log
  // capture refusals (agent/src/capture/errors.ts) keep their own codes:
  'NOT_IMPLEMENTED',
  'DISABLED',
  'BUSY',
  'BUDGET',
  'COOLDOWN',
  'UNAVAILABLE',
  'STOPPING',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export const EventIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: '^[0-9A-Za-z]{26}$', description: 'event id (ULID, 26 characters)' }) },
  { additionalProperties: false }
);
export type EventIdParams = Static<typeof EventIdParamsSchema>;

export const TracerTypeParamsSchema = Type.Object({ type: TracerTypeSchema }, { additionalProperties: false });
export type TracerTypeParams = Static<typeof TracerTypeParamsSchema>;

/** PATCH /api/v1/tracers/:type body: some of the tracer's config keys (checked by the agent's config rules). */
export const TracerPatchSchema = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  description: 'keys of tracers.<type> (enabled, thresholds, durations as "10s" or ms numbers)',
});
export type TracerPatch = Static<typeof TracerPatchSchema>;

export const MAX_MERGED_EVENTS = 500;
export const DEFAULT_MERGED_EVENTS = 100;

/** GET /api/v1/flamegraph: the flame graphs of every matching event, merged into one. */
export const MergedFlamegraphQuerySchema = Type.Object(
  {
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    type: Type.Optional(CsvTypes),
    container: Type.Optional(Type.String({ maxLength: 256 })),
    host: Type.Optional(Type.String({ maxLength: 256 })),
    profile: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9_-]+$' })),
    format: Type.Optional(Type.Union(FLAMEGRAPH_FORMATS.map((f) => Type.Literal(f)))),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_MERGED_EVENTS,
        description: `events merged at most (newest first), default ${DEFAULT_MERGED_EVENTS}`,
      })
    ),
  },
  { additionalProperties: false }
);
export type MergedFlamegraphQuery = Static<typeof MergedFlamegraphQuerySchema>;

export const MergeInfoSchema = Type.Object({
  profile: Type.Union([Type.String(), Type.Null()], {
    description: 'profile name merged (asked for, else "cpu", else the most common)',
  }),
  events: Type.Integer({ description: 'flame graphs merged' }),
  matched: Type.Integer({ description: 'matching events with that profile that were looked at' }),
  skipped: Type.Integer({ description: 'flame graphs left out (another unit or sampling period, unreadable)' }),
  truncated: Type.Boolean({ description: 'more events matched than were merged (raise limit or narrow the range)' }),
  eventIds: Type.Array(Type.String(), { description: 'ids of the merged events, newest first' }),
});
export type MergeInfo = Static<typeof MergeInfoSchema>;

export const MergedFlamegraphSchema = Type.Object({ ...NestedFlamegraphSchema.properties, merge: MergeInfoSchema });
export type MergedFlamegraph = Static<typeof MergedFlamegraphSchema>;

export const TimeRangeQuerySchema = Type.Object(
  { from: Type.Optional(TimeParam), to: Type.Optional(TimeParam) },
  { additionalProperties: false }
);
export type TimeRangeQuery = Static<typeof TimeRangeQuerySchema>;

export const HostsResponseSchema = Type.Object({ hosts: Type.Array(Type.String()) });
export type HostsResponse = Static<typeof HostsResponseSchema>;

const NullableText = Type.Union([Type.String(), Type.Null()]);
export const ContainerSummarySchema = Type.Object({
  id: Type.String(),
  name: NullableText,
  runtime: NullableText,
  pod: NullableText,
  namespace: NullableText,
  events: Type.Integer(),
  lastTime: Type.Number(),
});
export type ContainerSummary = Static<typeof ContainerSummarySchema>;

export const ContainersResponseSchema = Type.Object({ containers: Type.Array(ContainerSummarySchema) });
export type ContainersResponse = Static<typeof ContainersResponseSchema>;

/** GET /api/v1/events/stream: server-sent `event` messages (data: Event JSON) as captures end. */
export const StreamQuerySchema = Type.Object(
  {
    type: Type.Optional(CsvTypes),
    container: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false }
);
export type StreamQuery = Static<typeof StreamQuerySchema>;

export const HealthResponseSchema = Type.Object({ status: Type.String() });
export type HealthResponse = Static<typeof HealthResponseSchema>;
