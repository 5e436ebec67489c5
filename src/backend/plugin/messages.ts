// TypeScript shapes of the protocol messages as this backend sees them after decoding (protobufjs
// `toObject` with defaults, int64 as number, bytes as Uint8Array). Names follow the .proto fields.

export interface User {
  login: string;
  name: string;
  email: string;
  role: string;
}

export interface DataSourceInstanceSettings {
  id: number;
  name: string;
  url: string;
  user: string;
  database: string;
  basicAuthEnabled: boolean;
  basicAuthUser: string;
  jsonData: Uint8Array;
  decryptedSecureJsonData: Record<string, string>;
  lastUpdatedMS: number;
  uid: string;
  apiVersion: string;
}

export interface PluginContext {
  orgId: number;
  pluginId: string;
  user?: User | null;
  dataSourceInstanceSettings?: DataSourceInstanceSettings | null;
  grafanaConfig: Record<string, string>;
  pluginVersion: string;
  userAgent: string;
  apiVersion: string;
}

export interface TimeRange {
  fromEpochMS: number;
  toEpochMS: number;
}

export interface DataQuery {
  refId: string;
  maxDataPoints: number;
  intervalMS: number;
  timeRange?: TimeRange | null;
  json: Uint8Array;
  queryType: string;
}

export interface QueryDataRequest {
  pluginContext?: PluginContext | null;
  headers: Record<string, string>;
  queries: DataQuery[];
}

export interface DataResponse {
  frames: Uint8Array[];
  error?: string;
  status?: number;
  errorSource?: string;
}

export interface QueryDataResponse {
  responses: Record<string, DataResponse>;
}

export interface CheckHealthRequest {
  pluginContext?: PluginContext | null;
  headers: Record<string, string>;
}

export const HealthStatus = { UNKNOWN: 0, OK: 1, ERROR: 2 } as const;
export type HealthStatusValue = (typeof HealthStatus)[keyof typeof HealthStatus];

export interface CheckHealthResponse {
  status: HealthStatusValue;
  message: string;
  jsonDetails: Uint8Array;
}

export interface CollectMetricsRequest {
  pluginContext?: PluginContext | null;
}

export interface CollectMetricsResponse {
  metrics: { prometheus: Uint8Array };
}

export interface StringList {
  values: string[];
}

export interface CallResourceRequest {
  pluginContext?: PluginContext | null;
  path: string;
  method: string;
  url: string;
  headers: Record<string, StringList>;
  body: Uint8Array;
}

export interface CallResourceResponse {
  code: number;
  headers: Record<string, StringList>;
  body: Uint8Array;
}

export interface HealthCheckRequest {
  service: string;
}

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

export interface HealthCheckResponse {
  status: number;
}

export type Empty = Record<string, never>;

export interface StdioData {
  channel: number;
  data: Uint8Array;
}
