import {
  type AnnotationEvent,
  type AnnotationQuery,
  type AnnotationSupport,
  CoreApp,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type Field,
  type LegacyMetricFindQueryOptions,
  type MetricFindValue,
  type ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';
import { type Observable, map, of } from 'rxjs';

import { APP_BASE_URL } from '../constants';
import { AutotracingResources } from './resources';
import {
  type AutotracingOptions,
  type AutotracingQuery,
  type AutotracingVariableQuery,
  DEFAULT_QUERY,
  QUERY_TYPES,
  type QueryType,
  VALUE_KINDS,
  type ValueKind,
} from './types';
import { AutotracingVariableSupport } from './variables';

/** Annotation colours per event type. */
export const TYPE_COLORS: Record<string, string> = {
  cpusys: '#FF9830',
  cpuidle: '#FADE2A',
  dload: '#B877D9',
  memburst: '#5794F2',
  iotracing: '#73BF69',
};

const ALL_VALUES = new Set(['*', '.*', '$__all', '__all']);

export class AutotracingDataSource extends DataSourceWithBackend<AutotracingQuery, AutotracingOptions> {
  readonly resources: AutotracingResources;

  constructor(instanceSettings: DataSourceInstanceSettings<AutotracingOptions>) {
    super(instanceSettings);
    this.resources = new AutotracingResources(instanceSettings.uid);
    this.variables = new AutotracingVariableSupport(this);
  }

  /** Every event is an annotation: a region from time to timeEnd, tagged with type, host and container. */
  annotations: AnnotationSupport<AutotracingQuery> = {
    getDefaultQuery: () => ({ queryType: 'events', limit: 500 }),
    prepareQuery: (anno: AnnotationQuery<AutotracingQuery>) => {
      const target = anno.target;
      return { ...DEFAULT_QUERY, ...target, refId: target?.refId || 'Anno', queryType: 'events', limit: target?.limit ?? 500 };
    },
    processEvents: (_anno: AnnotationQuery<AutotracingQuery>, frames: DataFrame[]) => of(eventsToAnnotations(frames)),
  };

  getDefaultQuery(_: CoreApp): Partial<AutotracingQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: AutotracingQuery): boolean {
    return !query.hide;
  }

  applyTemplateVariables(query: AutotracingQuery, scopedVars: ScopedVars): AutotracingQuery {
    const srv = getTemplateSrv();
    const one = (v?: string) => (v ? srv.replace(v, scopedVars).trim() : v);
    const queryType: QueryType = (QUERY_TYPES as readonly string[]).includes(query.queryType)
      ? query.queryType
      : 'events';
    const out: AutotracingQuery = {
      ...query,
      queryType,
      types: interpolateList(query.types, scopedVars),
      hosts: interpolateList(query.hosts, scopedVars),
      container: one(query.container),
      eventId: one(query.eventId),
    };
    for (const key of ['types', 'hosts', 'container', 'eventId'] as const) {
      const v = out[key];
      if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'string' && ALL_VALUES.has(v))) {
        delete out[key];
      }
    }
    return out;
  }

  /** Adds links from event ids to the app's event page. */
  query(request: DataQueryRequest<AutotracingQuery>): Observable<DataQueryResponse> {
    return super.query(request).pipe(
      map((response) => ({ ...response, data: (response.data as DataFrame[]).map((f) => this.addEventLinks(f)) }))
    );
  }

  addEventLinks(frame: DataFrame): DataFrame {
    const idField = frame.fields.find((f) => f.name === 'eventId') ?? (isEventsFrame(frame) ? field(frame, 'id') : undefined);
    if (!idField || idField.config.links?.length) {
      return frame;
    }
    const agent = field(frame, 'agent') ? '&agent=${__data.fields.agent}' : '';
    const link = {
      title: 'Open in AutoTracing',
      url: `${APP_BASE_URL}/events/\${__value.raw}?ds=${encodeURIComponent(this.uid)}${agent}`,
    };
    return {
      ...frame,
      fields: frame.fields.map((f) => (f === idField ? { ...f, config: { ...f.config, links: [link] } } : f)),
    };
  }

  /** Values for template variables: `hosts`, `types` or `containers` (a string or `{ kind }`). */
  async metricFindQuery(
    query: AutotracingVariableQuery | string,
    options?: LegacyMetricFindQueryOptions
  ): Promise<MetricFindValue[]> {
    const kind = variableKind(query);
    if (!kind) {
      return [];
    }
    const range = options?.range;
    const res = await this.resources.values(kind, range ? { from: range.from.valueOf(), to: range.to.valueOf() } : {});
    return res.values.map((v) => ({ text: v.text, value: v.value }));
  }
}

export function variableKind(query: AutotracingVariableQuery | string | undefined): ValueKind | undefined {
  const raw = (typeof query === 'string' ? query : query?.kind)?.trim().toLowerCase();
  return (VALUE_KINDS as readonly string[]).includes(raw ?? '') ? (raw as ValueKind) : undefined;
}

/** `['$host', 'a']` → `['h1', 'h2', 'a']`; a multi-value variable expands to its values. */
export function interpolateList(values: string[] | undefined, scopedVars: ScopedVars): string[] | undefined {
  if (!values) {
    return undefined;
  }
  const srv = getTemplateSrv();
  const out = new Set<string>();
  for (const v of values) {
    for (const part of srv.replace(v, scopedVars, 'csv').split(',')) {
      const t = part.trim();
      if (t) {
        out.add(t);
      }
    }
  }
  if ([...out].some((v) => ALL_VALUES.has(v))) {
    return undefined;
  }
  return [...out];
}

function field(frame: DataFrame, name: string): Field | undefined {
  return frame.fields.find((f) => f.name === name);
}

function isEventsFrame(frame: DataFrame): boolean {
  return Boolean(field(frame, 'id') && field(frame, 'time') && (field(frame, 'type') || field(frame, 'summary')));
}

function toMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) {
    return v;
  }
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    const parsed = Number.isFinite(n) ? n : Date.parse(v);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  if (v instanceof Date) {
    return v.valueOf();
  }
  return undefined;
}

/**
 * Events frames → annotation regions. Uses the backend's `title`/`text`/`tags` fields when present, otherwise
 * builds them from `type`, `host`, `container` and `summary`.
 */
export function eventsToAnnotations(frames: DataFrame[]): AnnotationEvent[] {
  const out: AnnotationEvent[] = [];
  for (const frame of frames) {
    const time = field(frame, 'time');
    if (!time) {
      continue;
    }
    const get = (name: string, i: number): unknown => field(frame, name)?.values[i];
    for (let i = 0; i < frame.length; i++) {
      const start = toMs(time.values[i]);
      if (start === undefined) {
        continue;
      }
      const end = toMs(get('timeEnd', i));
      const type = String(get('type', i) ?? '');
      const host = String(get('host', i) ?? '');
      const container = String(get('container', i) ?? '');
      const summary = String(get('summary', i) ?? '');
      const tagsRaw = get('tags', i);
      const tags = Array.isArray(tagsRaw)
        ? tagsRaw.map(String)
        : typeof tagsRaw === 'string' && tagsRaw !== ''
          ? tagsRaw.split(',').map((t) => t.trim())
          : [type, host, container];
      const id = get('id', i);
      out.push({
        id: id === undefined ? undefined : String(id),
        time: start,
        timeEnd: end !== undefined && end > start ? end : undefined,
        isRegion: end !== undefined && end > start,
        title: String(get('title', i) ?? `${type} on ${host}${container ? ` (${container})` : ''}`),
        text: String(get('text', i) ?? summary),
        tags: tags.filter(Boolean),
        color: TYPE_COLORS[type],
      });
    }
  }
  return out;
}
