// Our protocol definitions must match the upstream wire schemas field by field. The table below is
// transcribed from grafana-plugin-sdk-go proto/backend.proto (package pluginv2, as of v0.296: `format` came
// in v0.290 as QueryDataRequest 4 / DataResponse 6, `namespace` after it) and go-plugin's
// grpc_controller.proto / grpc_stdio.proto and grpc.health.v1, independently of protos.ts.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codec, protocolRoot, serviceDefinition, SERVICES } from './grpc';

const FIELDS: Record<string, Record<string, [number, string]>> = {
  'pluginv2.DataSourceInstanceSettings': {
    id: [1, 'int64'],
    name: [2, 'string'],
    url: [3, 'string'],
    user: [4, 'string'],
    database: [5, 'string'],
    basicAuthEnabled: [6, 'bool'],
    basicAuthUser: [7, 'string'],
    jsonData: [8, 'bytes'],
    decryptedSecureJsonData: [9, 'string'],
    lastUpdatedMS: [10, 'int64'],
    uid: [11, 'string'],
    apiVersion: [12, 'string'],
  },
  'pluginv2.PluginContext': {
    orgId: [1, 'int64'],
    pluginId: [2, 'string'],
    user: [3, 'User'],
    appInstanceSettings: [4, 'AppInstanceSettings'],
    dataSourceInstanceSettings: [5, 'DataSourceInstanceSettings'],
    grafanaConfig: [6, 'string'],
    pluginVersion: [7, 'string'],
    userAgent: [8, 'string'],
    apiVersion: [9, 'string'],
    namespace: [10, 'string'],
  },
  'pluginv2.User': { login: [1, 'string'], name: [2, 'string'], email: [3, 'string'], role: [4, 'string'] },
  'pluginv2.TimeRange': { fromEpochMS: [1, 'int64'], toEpochMS: [2, 'int64'] },
  'pluginv2.DataQuery': {
    refId: [1, 'string'],
    maxDataPoints: [2, 'int64'],
    intervalMS: [3, 'int64'],
    timeRange: [4, 'TimeRange'],
    json: [5, 'bytes'],
    queryType: [6, 'string'],
  },
  'pluginv2.QueryDataRequest': {
    pluginContext: [1, 'PluginContext'],
    headers: [2, 'string'],
    queries: [3, 'DataQuery'],
    format: [4, 'DataFrameFormat'],
  },
  'pluginv2.QueryDataResponse': { responses: [1, 'DataResponse'] },
  'pluginv2.DataResponse': {
    frames: [1, 'bytes'],
    error: [2, 'string'],
    jsonMeta: [3, 'bytes'],
    status: [4, 'int32'],
    errorSource: [5, 'string'],
    format: [6, 'DataFrameFormat'],
  },
  'pluginv2.CheckHealthRequest': { pluginContext: [1, 'PluginContext'], headers: [2, 'string'] },
  'pluginv2.CheckHealthResponse': { status: [1, 'HealthStatus'], message: [2, 'string'], jsonDetails: [3, 'bytes'] },
  'pluginv2.CollectMetricsRequest': { pluginContext: [1, 'PluginContext'] },
  'pluginv2.CollectMetricsResponse': { metrics: [1, 'Payload'] },
  'pluginv2.CollectMetricsResponse.Payload': { prometheus: [1, 'bytes'] },
  'pluginv2.StringList': { values: [1, 'string'] },
  'pluginv2.CallResourceRequest': {
    pluginContext: [1, 'PluginContext'],
    path: [2, 'string'],
    method: [3, 'string'],
    url: [4, 'string'],
    headers: [5, 'StringList'],
    body: [6, 'bytes'],
  },
  'pluginv2.CallResourceResponse': { code: [1, 'int32'], headers: [2, 'StringList'], body: [3, 'bytes'] },
  'grpc.health.v1.HealthCheckRequest': { service: [1, 'string'] },
  'grpc.health.v1.HealthCheckResponse': { status: [1, 'ServingStatus'] },
  'plugin.StdioData': { channel: [1, 'Channel'], data: [2, 'bytes'] },
};

describe('protocol definitions', () => {
  for (const [msg, fields] of Object.entries(FIELDS)) {
    it(`${msg} has the upstream field numbers and types`, () => {
      const t = protocolRoot().lookupType(msg);
      for (const [name, [id, type]] of Object.entries(fields)) {
        const f = t.fields[name];
        assert.ok(f, `${msg}.${name} exists`);
        assert.equal(f.id, id, `${msg}.${name} number`);
        assert.equal(f.type, type, `${msg}.${name} type`);
      }
    });
  }

  it('maps are maps: headers, decryptedSecureJsonData, responses', () => {
    assert.equal(protocolRoot().lookupType('pluginv2.QueryDataResponse').fields.responses!.map, true);
    assert.equal(protocolRoot().lookupType('pluginv2.CallResourceRequest').fields.headers!.map, true);
    assert.equal(
      protocolRoot().lookupType('pluginv2.DataSourceInstanceSettings').fields.decryptedSecureJsonData!.map,
      true
    );
  });

  it('enums have the upstream values', () => {
    assert.deepEqual(
      { ...protocolRoot().lookupEnum('pluginv2.CheckHealthResponse.HealthStatus').values },
      { UNKNOWN: 0, OK: 1, ERROR: 2 }
    );
    assert.deepEqual(
      { ...protocolRoot().lookupEnum('grpc.health.v1.HealthCheckResponse.ServingStatus').values },
      { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 }
    );
  });

  it('services have the upstream paths and streaming kinds', () => {
    const paths = Object.fromEntries(
      Object.values(SERVICES).flatMap((s) =>
        Object.values(serviceDefinition(s)).map((m) => [m.path, [m.requestStream, m.responseStream]])
      )
    );
    assert.deepEqual(paths, {
      '/grpc.health.v1.Health/Check': [false, false],
      '/grpc.health.v1.Health/Watch': [false, true],
      '/plugin.GRPCController/Shutdown': [false, false],
      '/plugin.GRPCStdio/StreamStdio': [false, true],
      '/pluginv2.Data/QueryData': [false, false],
      '/pluginv2.Diagnostics/CheckHealth': [false, false],
      '/pluginv2.Diagnostics/CollectMetrics': [false, false],
      '/pluginv2.Resource/CallResource': [false, true],
    });
  });

  it('decodes hand-encoded wire bytes: DataQuery{refId:"A", intervalMS:1000, queryType:"counts"}', () => {
    // field 1 (len) "A", field 3 (varint) 1000, field 6 (len) "counts"
    const bytes = Buffer.from([0x0a, 0x01, 0x41, 0x18, 0xe8, 0x07, 0x32, 0x06, ...Buffer.from('counts')]);
    const q = codec<{ refId: string; intervalMS: number; queryType: string; maxDataPoints: number }>(
      'pluginv2.DataQuery'
    ).decode(bytes);
    assert.equal(q.refId, 'A');
    assert.equal(q.intervalMS, 1000);
    assert.equal(typeof q.intervalMS, 'number');
    assert.equal(q.queryType, 'counts');
    assert.equal(q.maxDataPoints, 0);
  });
});
