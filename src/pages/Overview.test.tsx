import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';

import { fixtures } from '../__fixtures__/backend';
import { renderPage, installFakeBackend, registerDatasources } from '../__fixtures__/render';
import { Overview } from './Overview';

describe('Overview', () => {
  beforeEach(() => registerDatasources());

  it('shows captures over time by type and by host, agent health and the latest events', async () => {
    const failed = [{ agent: 'node-c', url: 'http://10.0.0.13:19704', reason: 'timeout after 5000 ms' }];
    // the recorded counts, plus an agent that timed out (the recording had one agent, which answered)
    const fake = installFakeBackend({ counts: () => ({ ...fixtures.counts, failed }) });
    renderPage(<Overview />, '/overview?range=6h');

    const series = fixtures.counts.series;
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const total = sum(series.map((x) => sum(x.values)));
    await waitFor(() => expect(screen.getByTestId('total-captures')).toHaveTextContent(String(total)));
    const [byType, byHost] = await screen.findAllByTestId('stacked-bars');
    expect(byType).toHaveAccessibleName('Captures over time by type');
    const typeLegend = within(byType)
      .getAllByTestId('legend-item')
      .map((e) => e.textContent);
    expect(typeLegend).toEqual(expect.arrayContaining(series.map((x) => `${x.labels.type} ${sum(x.values)}`)));
    const hostLegend = within(byHost)
      .getAllByTestId('legend-item')
      .map((e) => e.textContent);
    expect(hostLegend).toEqual([`${fixtures.recorded.agent.host} ${total}`]);
    // one bar per non-zero (bucket, series)
    expect(byType.querySelectorAll('rect')).toHaveLength(
      series.reduce((n, x) => n + x.values.filter((v) => v > 0).length, 0)
    );

    const agents = fixtures.agents.agents;
    expect(await screen.findByTestId('agents-health')).toHaveTextContent(
      `${agents.filter((a) => a.ok).length} of ${agents.length} healthy`
    );
    expect(screen.getByTestId('partial-notice')).toHaveTextContent('node-c: timeout after 5000 ms');
    expect(await screen.findByTestId('events-table')).toBeInTheDocument();
    expect(within(screen.getByTestId('events-table')).getAllByRole('row')).toHaveLength(
      Math.min(10, fixtures.events.events.length) + 1
    );

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
        throw Object.assign(new Error('x'), {
          status: 502,
          data: { error: { code: 'AGENTS_FAILED', message: 'no agent answered' } },
        });
      },
    });
    renderPage(<Overview />, '/overview');
    expect(await screen.findByText('no agent answered')).toBeInTheDocument();
  });
});
