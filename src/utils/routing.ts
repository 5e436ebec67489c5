import { APP_BASE_URL, ROUTES } from '../constants';

/** Prefixes a route with the app's base URL. */
export function prefixRoute(route: string): string {
  return `${APP_BASE_URL}/${route}`;
}

/** Link to an event's page; `ds` and `agent` spare a lookup. */
export function eventUrl(id: string, opts: { ds?: string; agent?: string } = {}): string {
  const params = new URLSearchParams();
  if (opts.ds) {
    params.set('ds', opts.ds);
  }
  if (opts.agent) {
    params.set('agent', opts.agent);
  }
  const q = params.toString();
  return `${prefixRoute(ROUTES.Events)}/${encodeURIComponent(id)}${q ? `?${q}` : ''}`;
}
