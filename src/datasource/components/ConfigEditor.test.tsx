import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { DataSourceSettings } from '@grafana/data';

import type { AutotracingOptions, AutotracingSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

type Settings = DataSourceSettings<AutotracingOptions, AutotracingSecureJsonData>;

function settings(jsonData: AutotracingOptions, secureJsonFields: Record<string, boolean> = {}): Settings {
  return {
    id: 1,
    uid: 'uid',
    orgId: 1,
    name: 'AutoTracing',
    type: 'huatuo-autotracing-datasource',
    typeName: 'AutoTracing',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData,
    secureJsonFields,
    readOnly: false,
    withCredentials: false,
  } as Settings;
}

/** Renders the editor with state, like Grafana's settings page; `changes` records every onOptionsChange. */
function setup(initial: Settings) {
  const changes: Settings[] = [];
  function Host() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          changes.push(o);
          setOptions(o);
        }}
      />
    );
  }
  render(<Host />);
  return { changes, last: () => changes[changes.length - 1] };
}

describe('ConfigEditor', () => {
  it('lists, edits, adds and removes agents', async () => {
    const { last } = setup(settings({ agents: [{ name: 'node-a', url: 'http://10.0.0.11:19704' }] }));
    expect(screen.getByLabelText('Agent 1 name')).toHaveValue('node-a');
    expect(screen.getByLabelText('Agent 1 URL')).toHaveValue('http://10.0.0.11:19704');

    await userEvent.click(screen.getByRole('button', { name: /Add agent/ }));
    await userEvent.type(screen.getByLabelText('Agent 2 URL'), 'http://10.0.0.12:19704');
    expect(last().jsonData.agents).toEqual([
      { name: 'node-a', url: 'http://10.0.0.11:19704' },
      { name: 'agent-2', url: 'http://10.0.0.12:19704' },
    ]);

    await userEvent.click(screen.getByRole('button', { name: 'Remove agent node-a' }));
    expect(last().jsonData.agents).toEqual([{ name: 'agent-2', url: 'http://10.0.0.12:19704' }]);
  });

  it('sets DNS discovery, timeout and concurrency, and removes them when emptied', async () => {
    const { last } = setup(settings({}));
    await userEvent.type(screen.getByLabelText('DNS discovery name'), 'huatuo-agent.monitoring.svc');
    await userEvent.type(screen.getByLabelText('Timeout in milliseconds'), '3000');
    await userEvent.type(screen.getByLabelText('Concurrency'), '8');
    expect(last().jsonData).toEqual({ discovery: 'huatuo-agent.monitoring.svc', timeoutMs: 3000, concurrency: 8 });

    await userEvent.clear(screen.getByLabelText('Timeout in milliseconds'));
    expect(last().jsonData).toEqual({ discovery: 'huatuo-agent.monitoring.svc', concurrency: 8 });
  });

  it('keeps the token in secureJsonData only', async () => {
    const { last } = setup(settings({}));
    await userEvent.type(screen.getByLabelText('Token'), 's3cret');
    expect(last().secureJsonData).toEqual({ token: 's3cret' });
    expect(JSON.stringify(last().jsonData)).not.toContain('s3cret');
  });

  it('shows a stored token as configured and can reset it', async () => {
    const { last } = setup(settings({}, { token: true }));
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields).toEqual({ token: false });
    expect(last().secureJsonData).toEqual({ token: '' });
  });
});
