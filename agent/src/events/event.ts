// The event contract (DESIGN.md "Event"): one row per capture. These TypeBox schemas are the single
// source of the types used by tracers, the store, the HTTP API and the Grafana datasource backend.
import { Type, type Static } from '@sinclair/typebox';

export const TRACER_TYPES = ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'] as const;
export const TracerTypeSchema = Type.Union(TRACER_TYPES.map((t) => Type.Literal(t)));
export type TracerType = (typeof TRACER_TYPES)[number];

export const EVENT_STATUSES = ['capturing', 'complete', 'partial', 'failed'] as const;
export const EventStatusSchema = Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s)));
export type EventStatus = (typeof EVENT_STATUSES)[number];

const NullableString = Type.Union([Type.String(), Type.Null()]);

/** Who a process or cgroup belongs to. Every field but `cgroup` may be unknown (null). */
export const ContainerRefSchema = Type.Object({
  id: Type.String({
    description:
      'container id (full hex for docker/containerd/CRI-O), pod uid for a pod-level cgroup, unit name for systemd',
  }),
  name: NullableString,
  runtime: Type.String({ description: 'docker | containerd | crio | kubepods | systemd | cgroup' }),
  pod: NullableString,
  namespace: NullableString,
  qos: NullableString,
  cgroup: Type.String({
    description: 'cgroup path relative to the hierarchy root, e.g. /system.slice/docker-<id>.scope',
  }),
});
export type ContainerRef = Static<typeof ContainerRefSchema>;

export const TriggerSchema = Type.Object({
  metric: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  baseline: Type.Number(),
  delta: Type.Number(),
  reason: Type.String({ description: 'one human sentence: what crossed which threshold' }),
});
export type Trigger = Static<typeof TriggerSchema>;

/** A flame graph stored with an event; fetch it from /api/v1/events/:id/flamegraph?profile=<name>. */
export const FlamegraphRefSchema = Type.Object({
  name: Type.String({ description: 'profile name within the event, e.g. "cpu", "offcpu", "alloc", "before"' }),
  title: Type.String(),
  unit: Type.Union([
    Type.Literal('samples'),
    Type.Literal('nanoseconds'),
    Type.Literal('bytes'),
    Type.Literal('count'),
  ]),
  total: Type.Number({ description: 'sum of all sample values' }),
  stacks: Type.Integer({ description: 'distinct stacks' }),
});
export type FlamegraphRef = Static<typeof FlamegraphRefSchema>;

export const EventSchema = Type.Object({
  id: Type.String({ description: 'ULID, sortable by time' }),
  type: TracerTypeSchema,
  host: Type.String(),
  time: Type.Number({ description: 'trigger time, ms since epoch' }),
  timeEnd: Type.Number({ description: 'end of the capture window, ms since epoch' }),
  container: Type.Union([ContainerRefSchema, Type.Null()]),
  trigger: TriggerSchema,
  summary: Type.String(),
  status: EventStatusSchema,
  error: Type.Optional(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown(), {
    description: 'type-specific evidence; data.flamegraphs lists the stored flame graphs (FlamegraphRef[])',
  }),
});
export type AutotracingEvent = Static<typeof EventSchema>;
