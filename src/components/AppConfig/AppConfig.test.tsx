import React from 'react';
import { render as rtlRender, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import userEvent from '@testing-library/user-event';
import type { AppPluginMeta, PluginType } from '@grafana/data';

import { DATASOURCES, installFakeBackend, registerDatasources } from '../../__fixtures__/render';
import type { AppSettings } from '../../constants';
import AppConfig, { type AppConfigProps } from './AppConfig';

/** Grafana renders the config page inside its router (TextLink needs one). */
const render = (ui: React.ReactElement) => rtlRender(<MemoryRouter>{ui}</MemoryRouter>);

function props(jsonData: AppSettings = {}, enabled = true): AppConfigProps {
  return {
    plugin: {
      meta: {
        id: 'huatuo-autotracing-app',
        name: 'AutoTracing',
        type: 'app' as PluginType,
        enabled,
        pinned: true,
        jsonData,
      } as AppPluginMeta<AppSettings>,
    },
    query: {},
  } as unknown as AppConfigProps;
}

describe('AppConfig', () => {
  it('links to each AutoTracing datasource and saves the one the pages use', async () => {
    registerDatasources();
    const fake = installFakeBackend({ '/api/plugins/huatuo-autotracing-app/settings': () => ({}) });
    const reload = jest.fn();
    Object.defineProperty(window, 'location', { configurable: true, value: { ...window.location, reload } });
    render(<AppConfig {...props({ datasourceUid: 'second-uid' })} />);
    const links = screen.getAllByRole('link');
    expect(links.map((l) => l.getAttribute('href'))).toEqual(
      expect.arrayContaining(DATASOURCES.map((d) => `/connections/datasources/edit/${d.uid}`))
    );
    expect(screen.getByRole('link', { name: /Open AutoTracing/ })).toHaveAttribute('href', '/a/huatuo-autotracing-app');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    const post = fake.fetch.mock.calls.map((c) => c[0]).find((r) => r.url === '/api/plugins/huatuo-autotracing-app/settings');
    expect(post).toMatchObject({ method: 'POST', data: { enabled: true, jsonData: { datasourceUid: 'second-uid' } } });
    expect(reload).toHaveBeenCalled();
  });

  it('offers to add a datasource when there is none', () => {
    registerDatasources([]);
    installFakeBackend();
    render(<AppConfig {...props({}, false)} />);
    expect(screen.getByRole('link', { name: /Add an AutoTracing datasource/ })).toHaveAttribute(
      'href',
      '/connections/datasources/huatuo-autotracing-datasource'
    );
    expect(screen.getByRole('button', { name: 'Enable and save' })).toBeDisabled();
  });
});
