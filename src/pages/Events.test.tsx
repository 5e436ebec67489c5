import React from 'react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fixtures } from '../__fixtures__/backend';
import { sizeElements } from '../__fixtures__/dom';
import { DATASOURCES, installFakeBackend, registerDatasources, renderPage } from '../__fixtures__/render';
import { Events } from './Events';

const rows = () => within(screen.getByTestId('events-table')).getAllByRole('row').slice(1);

describe('Events', () => {
  beforeAll(sizeElements);
  beforeEach(() => registerDatasources());

  const all = fixtures.events.events;

  it('lists events newest first with links to their pages', async () => {
    installFakeBackend({
      // the recording had one agent, which answered: a second one that failed makes the answer partial
      events: () => ({
        ...fixtures.events,
        failed: [{ agent: 'node-c', url: 'http://10.0.0.13:19704', reason: 'timeout after 5000 ms' }],
      }),
    });
    renderPage(<Events />, '/events');
    await waitFor(() => expect(rows()).toHaveLength(all.length));
    const e = all[0];
    const agent = fixtures.events.agents[e.id];
    const first = rows()[0];
    expect(first).toHaveTextContent(e.type);
    expect(first).toHaveTextContent(e.host);
    expect(first).toHaveTextContent(e.summary);
    const link = within(first).getByRole('link', { name: e.summary });
    expect(link).toHaveAttribute(
      'href',
      `/a/huatuo-autotracing-app/events/${e.id}?ds=${DATASOURCES[0].uid}&agent=${agent}`
    );
    expect(screen.getByTestId('partial-notice')).toHaveTextContent('node-c');
  });

  it('reads the filters from the URL and sends them', async () => {
    const fake = installFakeBackend();
    const dload = fixtures.event.dload;
    renderPage(<Events />, `/events?type=dload&host=${dload.host}&container=web&range=7d`);
    await waitFor(() => expect(rows().length).toBe(all.filter((e) => e.type === 'dload').length));
    expect(rows()[0]).toHaveTextContent('dload');
    const call = fake.calls.find((c) => c.path === 'events')!;
    expect(call.params).toMatchObject({ type: 'dload', host: dload.host, container: 'web', limit: 50 });
    expect(Number(call.params.to) - Number(call.params.from)).toBe(7 * 24 * 3600e3);
  });

  it('keeps a chosen type and container in the URL', async () => {
    installFakeBackend();
    renderPage(<Events />, '/events');
    await waitFor(() => expect(rows()).toHaveLength(all.length));
    await userEvent.click(screen.getByLabelText('Types'));
    await userEvent.click(await screen.findByRole('option', { name: /iotracing/ }));
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/events?type=iotracing'));
    await waitFor(() => expect(rows()).toHaveLength(all.filter((e) => e.type === 'iotracing').length));
    await userEvent.type(screen.getByLabelText('Filter container'), 'web{Enter}');
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('container=web'));
  });

  it('loads older pages with the cursor', async () => {
    let page = 0;
    const fake = installFakeBackend({
      events: () => {
        page++;
        return page === 1
          ? { ...fixtures.events, events: fixtures.events.events.slice(0, 2), nextCursor: 'c1', failed: [] }
          : { ...fixtures.events, events: fixtures.events.events.slice(2), nextCursor: null, failed: [] };
      },
    });
    renderPage(<Events />, '/events');
    await waitFor(() => expect(rows()).toHaveLength(2));
    await userEvent.click(screen.getByRole('button', { name: /Older events/ }));
    await waitFor(() => expect(rows()).toHaveLength(all.length));
    expect(fake.calls.filter((c) => c.path === 'events').at(-1)?.params.cursor).toBe('c1');
    expect(screen.queryByRole('button', { name: /Older events/ })).not.toBeInTheDocument();
  });

  it('switches datasource through the URL', async () => {
    installFakeBackend();
    renderPage(<Events />, '/events?ds=second-uid');
    await waitFor(() => expect(rows()).toHaveLength(all.length));
    expect(within(rows()[0]).getAllByRole('link')[0].getAttribute('href')).toContain('ds=second-uid');
  });
});
