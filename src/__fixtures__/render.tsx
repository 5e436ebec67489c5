/** Test helper: render an app page inside a router at a URL, with the AutoTracing datasource(s) registered. */
import React, { Suspense } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import type { DataSourceInstanceSettings } from '@grafana/data';
import { type BackendSrv, type DataSourceSrv, setBackendSrv, setDataSourceSrv } from '@grafana/runtime';

import { AppSettingsContext } from '../components/AppSettingsContext';
import { DATASOURCE_ID } from '../constants';
import { DS_UID, fakeBackendSrv } from './backend';

export const DATASOURCES = [
  { uid: DS_UID, name: 'AutoTracing', type: DATASOURCE_ID },
  { uid: 'second-uid', name: 'AutoTracing (staging)', type: DATASOURCE_ID },
] as unknown as DataSourceInstanceSettings[];

export function registerDatasources(list: DataSourceInstanceSettings[] = DATASOURCES) {
  setDataSourceSrv({
    getList: () => list,
    getInstanceSettings: (ref: { uid?: string } | null) => list.find((d) => d.uid === ref?.uid),
  } as unknown as DataSourceSrv);
}

export function installFakeBackend(overrides?: Parameters<typeof fakeBackendSrv>[0]) {
  const fake = fakeBackendSrv(overrides);
  setBackendSrv(fake.srv as unknown as BackendSrv);
  return fake;
}

/** Shows the current URL (path + query) so tests can assert on navigation and URL-kept state. */
function LocationProbe() {
  const loc = useLocation();
  return <div data-testid="location">{`${loc.pathname}${loc.search}`}</div>;
}

export function renderPage(element: React.ReactElement, url: string, routePath = '*') {
  return render(
    <AppSettingsContext.Provider value={{}}>
      <MemoryRouter initialEntries={[url]}>
        <Suspense fallback="loading">
          <Routes>
            <Route path={routePath} element={element} />
          </Routes>
        </Suspense>
        <LocationProbe />
      </MemoryRouter>
    </AppSettingsContext.Provider>
  );
}
