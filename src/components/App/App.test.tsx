import React, { Suspense } from 'react';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import type { AppRootProps, PluginType } from '@grafana/data';

import { fixtures } from '../../__fixtures__/backend';
import { installFakeBackend, registerDatasources } from '../../__fixtures__/render';
import App from './App';

const props = {
  basename: '/a/huatuo-autotracing-app',
  meta: { id: 'huatuo-autotracing-app', name: 'AutoTracing', type: 'app' as PluginType, enabled: true, jsonData: {} },
  query: {},
  path: '',
  onNavChanged: jest.fn(),
} as unknown as AppRootProps;

function at(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Suspense fallback="loading">
        <App {...props} />
      </Suspense>
    </MemoryRouter>
  );
}

describe('App routes', () => {
  beforeEach(() => {
    registerDatasources();
    installFakeBackend();
  });

  it.each([
    ['/', 'overview-page'],
    ['/overview', 'overview-page'],
    ['/events', 'events-page'],
    [`/events/${fixtures.event.dload.id}`, 'event-detail-page'],
    ['/agents', 'agents-page'],
  ])('%s shows %s', async (url, testId) => {
    at(url);
    expect(await screen.findByTestId(testId)).toBeInTheDocument();
  });
});
