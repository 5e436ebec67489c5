/** Plugin ids (contract, DESIGN.md). */
export const APP_ID = 'huatuo-autotracing-app';
export const DATASOURCE_ID = 'huatuo-autotracing-datasource';
export const PANEL_ID = 'huatuo-flamegraph-panel';

export const APP_BASE_URL = `/a/${APP_ID}`;

export enum ROUTES {
  Overview = 'overview',
  Events = 'events',
  Agents = 'agents',
}

/** App settings (jsonData of the app plugin). */
export interface AppSettings {
  /** datasource the pages use when the URL names none; else the first AutoTracing datasource */
  datasourceUid?: string;
}
