import { type BackendSrv, setBackendSrv } from '@grafana/runtime';

import { DS_UID, fakeBackendSrv, agentOf, fixtures, httpError } from '../__fixtures__/backend';
import { AutotracingResources, ResourceError, exportFilename } from './resources';

describe('AutotracingResources', () => {
  let fake: ReturnType<typeof fakeBackendSrv>;
  const res = new AutotracingResources(DS_UID);

  beforeEach(() => {
    fake = fakeBackendSrv();
    setBackendSrv(fake.srv as unknown as BackendSrv);
  });

  it('calls the datasource resource URL', async () => {
    await res.agents();
    expect(fake.fetch.mock.calls[0][0]).toMatchObject({
      url: `/api/datasources/uid/${DS_UID}/resources/agents`,
      method: 'GET',
      showErrorAlert: false,
    });
  });

  it('sends event filters as the backend parses them (csv lists, ms times) and drops empty ones', async () => {
    await res.events({ types: ['cpusys', 'dload'], hosts: [], container: '', from: 1000, to: 2000, limit: 50 });
    expect(fake.calls[0]).toEqual({
      path: 'events',
      params: { type: 'cpusys,dload', from: 1000, to: 2000, limit: 50 },
      responseType: 'json',
    });
  });

  it('puts each event together with the agent that holds it, and reports failed agents', async () => {
    const failed = [{ agent: 'node-c', url: 'http://10.0.0.13:19704', reason: 'timeout after 5000 ms' }];
    setBackendSrv(fakeBackendSrv({ events: () => ({ ...fixtures.events, failed }) }).srv as unknown as BackendSrv);
    const r = await res.events();
    expect(r.events).toHaveLength(fixtures.events.events.length);
    const m = r.events.find((e) => e.type === 'memburst')!;
    expect(m.agent).toBe(fixtures.events.agents[m.id]);
    expect(r.errors).toEqual(failed);
    expect(r.nextCursor).toBeNull();
  });

  it('reads the agent of one event from X-Autotracing-Agent', async () => {
    const e = await res.event(fixtures.event.memburst.id);
    expect(e.agent).toBe(agentOf(fixtures.event.memburst.id));
    expect(e.summary).toBe(fixtures.event.memburst.summary);
  });

  it('asks for nested flame graphs and for files as blobs', async () => {
    const fg = await res.flamegraph(fixtures.event.cpusys.id, { profile: 'before' });
    expect(fg.name).toBe('before');
    const blob = await res.flamegraphFile(fixtures.event.cpusys.id, 'pprof', { profile: 'cpu' });
    expect(blob).toBeInstanceOf(Blob);
    expect(fake.calls.map((c) => [c.path, c.params, c.responseType])).toEqual([
      [`events/${fixtures.event.cpusys.id}/flamegraph`, { format: 'nested', profile: 'before' }, 'json'],
      [`events/${fixtures.event.cpusys.id}/flamegraph`, { format: 'pprof', profile: 'cpu' }, 'blob'],
    ]);
  });

  it('sends counts parameters', async () => {
    const c = await res.counts({ from: 1, to: 2, stepMs: 60000, by: 'type', hosts: ['node-a'] });
    expect(fake.calls[0].params).toEqual({ from: 1, to: 2, step: 60000, by: 'type', host: 'node-a' });
    expect(c.series).toHaveLength(fixtures.counts.series.length);
  });

  it("turns the backend's error body into a ResourceError with its message and status", async () => {
    setBackendSrv(
      fakeBackendSrv({ agents: () => httpError(502, 'no agent answered', 'AGENTS_FAILED') })
        .srv as unknown as BackendSrv
    );
    await expect(res.agents()).rejects.toEqual(new ResourceError('no agent answered', 502));
    await expect(res.event('nope')).rejects.toMatchObject({
      status: 404,
      message: 'event nope not found on any agent',
    });
  });

  it('lists values for variables: hosts from agents, types, containers from events', async () => {
    const hosts = await res.values('hosts');
    const host = fixtures.agents.agents[0].host!;
    expect(hosts.values).toEqual([{ text: host, value: host }]);
    expect(hosts.errors).toEqual([]);
    expect((await res.values('types')).values.map((v) => v.value)).toEqual([
      'cpusys',
      'cpuidle',
      'dload',
      'memburst',
      'iotracing',
    ]);
    const containers = await res.values('containers', { from: 5, to: 6 });
    // the recorded container has no name: its short id
    const ids = [
      ...new Set(fixtures.events.events.filter((e) => e.container).map((e) => e.container!.id.slice(0, 12))),
    ].sort();
    expect(containers.values.map((v) => v.text)).toEqual(ids);
    expect(fake.calls.at(-1)?.params).toEqual({ from: 5, to: 6, limit: 1000 });
  });

  it('names export files after the event and profile', () => {
    expect(exportFilename('01X', 'pprof', 'cpu')).toBe('01X-cpu.pb.gz');
    expect(exportFilename('01X', 'folded')).toBe('01X.folded.txt');
    expect(exportFilename('01X', 'svg', 'offcpu')).toBe('01X-offcpu.svg');
  });
});
