import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type BackendSrv, type TemplateSrv, setBackendSrv, setTemplateSrv } from '@grafana/runtime';

import { DS_UID, fakeBackendSrv, fixtures } from '../../__fixtures__/backend';
import { sizeElements } from '../../__fixtures__/dom';
import { AutotracingResources } from '../resources';
import type { AutotracingDataSource } from '../datasource';
import type { AutotracingQuery } from '../types';
import { QueryEditor } from './QueryEditor';

function setup(query: Partial<AutotracingQuery>) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const datasource = { resources: new AutotracingResources(DS_UID) } as unknown as AutotracingDataSource;
  const q = { refId: 'A', queryType: 'events', ...query } as AutotracingQuery;
  const utils = render(<QueryEditor query={q} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
  return { onChange, onRunQuery, ...utils };
}

describe('QueryEditor', () => {
  beforeAll(sizeElements);
  beforeEach(() => {
    setBackendSrv(fakeBackendSrv().srv as unknown as BackendSrv);
    setTemplateSrv({ getVariables: () => [{ name: 'host' }] } as unknown as TemplateSrv);
  });

  it('offers every query type', () => {
    setup({});
    for (const label of [
      'Events',
      'Trigger counts',
      'Flame graph',
      'Stuck tasks',
      'IO by process / file',
      'Memory growers',
    ]) {
      expect(screen.getByRole('radio', { name: label })).toBeInTheDocument();
    }
  });

  it('shows the filters of an events query', async () => {
    setup({ queryType: 'events' });
    expect(screen.getByLabelText('Types')).toBeInTheDocument();
    expect(screen.getByLabelText('Hosts')).toBeInTheDocument();
    expect(screen.getByLabelText('Container')).toBeInTheDocument();
    expect(screen.getByLabelText('Limit')).toBeInTheDocument();
    expect(screen.queryByLabelText('Event id')).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByText(/One row per capture/)).toBeInTheDocument());
  });

  it('shows the event filter for flame graphs and no limit for counts', () => {
    const { unmount } = setup({ queryType: 'flamegraph' });
    expect(screen.getByLabelText('Event id')).toBeInTheDocument();
    expect(screen.queryByLabelText('Limit')).not.toBeInTheDocument();
    unmount();
    setup({ queryType: 'counts' });
    expect(screen.queryByLabelText('Limit')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Event id')).not.toBeInTheDocument();
  });

  it('offers stuck tasks per task or per stack, and only for dstate', async () => {
    const { onChange, unmount } = setup({ queryType: 'dstate' });
    expect(screen.getByRole('radio', { name: 'Per task' })).toBeChecked();
    await userEvent.click(screen.getByRole('radio', { name: 'Per stack' }));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ queryType: 'dstate', by: 'stack' }));
    unmount();
    setup({ queryType: 'io' });
    expect(screen.queryByRole('radio', { name: 'Per stack' })).not.toBeInTheDocument();
  });

  it('switches the query type and runs the query', async () => {
    const { onChange, onRunQuery } = setup({ queryType: 'events', hosts: ['node-a'] });
    await userEvent.click(screen.getByRole('radio', { name: 'Flame graph' }));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'flamegraph', hosts: ['node-a'], limit: 100 });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('applies the event id and container on blur, trimmed', async () => {
    const { onChange } = setup({ queryType: 'dstate' });
    await userEvent.type(screen.getByLabelText('Event id'), ' 01KB4Z3M4N5P6Q7R8S9T0V1W2X ');
    expect(onChange).not.toHaveBeenCalled();
    await userEvent.tab();
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ eventId: '01KB4Z3M4N5P6Q7R8S9T0V1W2X' }));
    await userEvent.type(screen.getByLabelText('Container'), '$container');
    await userEvent.tab();
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ container: '$container' }));
  });

  it('clears the limit when it is not a positive integer', async () => {
    const { onChange } = setup({ queryType: 'events', limit: 100 });
    const limit = screen.getByLabelText('Limit');
    await userEvent.clear(limit);
    await userEvent.type(limit, '250');
    await userEvent.tab();
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 250 }));
    await userEvent.clear(limit);
    await userEvent.type(limit, '-3');
    await userEvent.tab();
    expect(onChange.mock.lastCall[0].limit).toBeUndefined();
  });

  it('picks types from the tracer list', async () => {
    const { onChange } = setup({ queryType: 'events' });
    await userEvent.click(screen.getByLabelText('Types'));
    await userEvent.click(await screen.findByText('dload'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ types: ['dload'] }));
  });

  it('offers the hosts the agents report, and template variables', async () => {
    const { onChange } = setup({ queryType: 'counts' });
    await userEvent.click(screen.getByLabelText('Hosts'));
    expect(await screen.findByText(fixtures.agents.agents[0].host!)).toBeInTheDocument();
    await userEvent.click(screen.getByText('$host'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ hosts: ['$host'] }));
  });
});
