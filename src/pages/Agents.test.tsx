import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';

import { fixtures } from '../__fixtures__/backend';
import { installFakeBackend, registerDatasources, renderPage } from '../__fixtures__/render';
import { Agents } from './Agents';

describe('Agents', () => {
  beforeEach(() => registerDatasources());

  it('shows health, version, kernel, capabilities and tracers of every agent', async () => {
    installFakeBackend();
    renderPage(<Agents />, '/agents');
    const rec = fixtures.agents.agents[0];
    await waitFor(() => expect(screen.getAllByTestId('agent-row')).toHaveLength(fixtures.agents.agents.length));
    const [a] = screen.getAllByTestId('agent-row');
    expect(a).toHaveTextContent(rec.name);
    expect(a).toHaveTextContent(rec.url);
    expect(a).toHaveTextContent(`OK · ${rec.latencyMs!.toFixed(1)} ms`);
    expect(a).toHaveTextContent(`agent ${rec.version}`);
    expect(a).toHaveTextContent(`kernel ${rec.kernel} · node ${rec.node}`);
    expect(a).toHaveTextContent(`cgroupMode: ${rec.capabilities!.cgroupMode}`);
    expect(within(a).getByText('btf')).toBeInTheDocument();
    // the agent's probes: one badge, not a red "checks" flag
    const checks = rec.capabilities!.checks as Array<{ ok: boolean }>;
    expect(within(a).getByTestId('capability-checks')).toHaveTextContent(
      `checks ${checks.filter((c) => c.ok).length}/${checks.length}`
    );
    for (const t of rec.tracers!) {
      expect(a).toHaveTextContent(t.type);
    }
  });

  it('shows disabled tracers and an unreachable agent', async () => {
    const rec = fixtures.agents.agents[0];
    installFakeBackend({
      agents: () => ({
        agents: [
          {
            ...rec,
            tracers: rec.tracers!.map((t) =>
              t.type === 'memburst'
                ? { ...t, enabled: false }
                : t.type === 'iotracing'
                  ? {
                      ...t,
                      support: {
                        mode: 'degraded' as const,
                        missing: ['files: blockio.bpf.o fs_read: EINVAL (verifier)'],
                      },
                    }
                  : t.type === 'cpusys'
                    ? { ...t, support: { mode: 'off' as const, missing: ['profile.bpf.o: EPERM'] } }
                    : t
            ),
          },
          {
            ...rec,
            name: 'node-c',
            url: 'http://10.0.0.13:19704',
            ok: false,
            reachable: false,
            error: 'connect ECONNREFUSED 10.0.0.13:19704',
            latencyMs: null,
            host: null,
            version: null,
            kernel: null,
            node: null,
            startedAt: null,
            capabilities: null,
            tracers: null,
          },
        ],
      }),
    });
    renderPage(<Agents />, '/agents');
    await waitFor(() => expect(screen.getAllByTestId('agent-row')).toHaveLength(2));
    const [a, c] = screen.getAllByTestId('agent-row');
    expect(a).toHaveTextContent('memburst (off)');
    // what the kernel lets a tracer do, with the reason in reach
    expect(within(a).getByTestId('tracer-support-iotracing')).toHaveTextContent('iotracing (degraded on this kernel)');
    expect(within(a).getByTestId('tracer-support-cpusys')).toHaveTextContent('cpusys (off on this kernel)');
    expect(within(a).queryByTestId('tracer-support-dload')).toBeNull();
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
