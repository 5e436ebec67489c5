import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';

import { renderPage, installFakeBackend, registerDatasources } from '../__fixtures__/render';
import { Overview } from './Overview';

describe('Overview', () => {
  beforeEach(() => registerDatasources());

  it('shows captures over time by type and by host, agent health and the latest events', async () => {
    const fake = installFakeBackend();
    renderPage(<Overview />, '/overview?range=6h');

    await waitFor(() => expect(screen.getByTestId('total-captures')).toHaveTextContent('11'));
    const [byType, byHost] = await screen.findAllByTestId('stacked-bars');
    expect(byType).toHaveAccessibleName('Captures over time by type');
    const typeLegend = within(byType).getAllByTestId('legend-item').map((e) => e.textContent);
    expect(typeLegend).toEqual(expect.arrayContaining(['cpusys 4', 'cpuidle 4', 'dload 1', 'iotracing 1', 'memburst 1']));
    const hostLegend = within(byHost).getAllByTestId('legend-item').map((e) => e.textContent);
    expect(hostLegend).toEqual(['node-a 6', 'node-b 5']);
    // one bar per non-zero (bucket, series)
    expect(byType.querySelectorAll('rect')).toHaveLength(8);

    expect(await screen.findByTestId('agents-health')).toHaveTextContent('2 of 3 healthy');
    expect(screen.getByTestId('agents-health')).toHaveTextContent('node-c');
    expect(screen.getByTestId('partial-notice')).toHaveTextContent('node-c: timeout after 5000 ms');
    expect(await screen.findByTestId('events-table')).toBeInTheDocument();
    expect(within(screen.getByTestId('events-table')).getAllByRole('row')).toHaveLength(6);

    const counts = fake.calls.find((c) => c.path === 'counts')!;
    expect(counts.params).toMatchObject({ by: 'type', step: 900000 });
    expect(Number(counts.params.to) - Number(counts.params.from)).toBe(6 * 3600e3);
  });

  it('explains what to do without a datasource', () => {
    registerDatasources([]);
    installFakeBackend();
    renderPage(<Overview />, '/overview');
    expect(screen.getByTestId('no-datasource')).toHaveTextContent('Add an AutoTracing datasource');
  });

  it('reports a failed counts call', async () => {
    installFakeBackend({
      counts: () => {
        throw Object.assign(new Error('x'), { status: 502, data: { error: { code: 'AGENTS_FAILED', message: 'no agent answered' } } });
      },
    });
    renderPage(<Overview />, '/overview');
    expect(await screen.findByText('no agent answered')).toBeInTheDocument();
  });
});
