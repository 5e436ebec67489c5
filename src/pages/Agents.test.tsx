import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';

import { installFakeBackend, registerDatasources, renderPage } from '../__fixtures__/render';
import { Agents } from './Agents';

describe('Agents', () => {
  beforeEach(() => registerDatasources());

  it('shows health, version, kernel, capabilities and tracers of every agent', async () => {
    installFakeBackend();
    renderPage(<Agents />, '/agents');
    await waitFor(() => expect(screen.getAllByTestId('agent-row')).toHaveLength(3));
    const [a, b, c] = screen.getAllByTestId('agent-row');
    expect(a).toHaveTextContent('node-a');
    expect(a).toHaveTextContent('http://10.0.0.11:19704');
    expect(a).toHaveTextContent('OK · 3.4 ms');
    expect(a).toHaveTextContent('agent 0.1.0');
    expect(a).toHaveTextContent('kernel 6.1.0-27-amd64 · node v20.20.2');
    expect(a).toHaveTextContent('cgroup: v2');
    expect(within(a).getByText('bpf')).toBeInTheDocument();
    expect(a).toHaveTextContent('memburst (off)');
    expect(a).toHaveTextContent('iotracing (n/a)');
    expect(b).toHaveTextContent('cgroup: v1');
    expect(within(c).getByTestId('agent-error')).toHaveTextContent('unreachable');
    expect(within(c).getByTestId('agent-error')).toHaveTextContent('connect ECONNREFUSED 10.0.0.13:19704');
  });

  it('shows a DNS discovery failure', async () => {
    installFakeBackend({
      agents: () => ({ agents: [], discovery: 'huatuo-agent.svc', discoveryError: 'ENOTFOUND huatuo-agent.svc' }),
    });
    renderPage(<Agents />, '/agents');
    expect(await screen.findByText('DNS discovery of huatuo-agent.svc failed')).toBeInTheDocument();
    expect(screen.getByText('No agents configured')).toBeInTheDocument();
  });
});
