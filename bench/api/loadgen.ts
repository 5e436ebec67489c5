// The load generator of the API benchmark, in its own process so that its CPU is not the agent's:
// autocannon (npm) with N keep-alive connections for D seconds (or A requests), cycling through a list
// of request paths. Latency is recorded per response from autocannon's `response` event (float
// milliseconds; autocannon's own histogram rounds to whole milliseconds).
//
//   node build/bench/api/loadgen.js SPEC.json   ({"url":"http://127.0.0.1:PORT","token":"…","paths":["/api/v1/events"],"connections":1,"duration":10})
// Prints one JSON line: requests, req/s, latency percentiles, bytes per response, status codes, own CPU.
import fs from 'node:fs';
import autocannon from 'autocannon';
import { percentile, round } from '../common/host';

export interface LoadSpec {
  url: string;
  token: string;
  paths: string[];
  connections: number;
  duration?: number;
  amount?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  bytesPerResponse: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  loadgenCpuSeconds: number;
}

function main(): void {
  const spec = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
  let i = 0;
  const lat: number[] = [];
  let bytes = 0;
  let tLast = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inst = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
      timeout: 120,
      headers: { authorization: `Bearer ${spec.token}` },
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: spec.paths[i++ % spec.paths.length]! }) }],
    },
    (err, res) => {
      if (err) throw err;
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      const codes: Record<string, number> = {};
      for (const [k, v] of Object.entries(res.statusCodeStats)) codes[k] = Number(v.count);
      const out: LoadResult = {
        requests: lat.length,
        seconds: round(seconds, 2),
        // from the first request sent to the last response (autocannon's own duration is in whole seconds)
        rps: round(lat.length / Math.max(1e-3, (tLast - t0) / 1000), 1),
        latencyMs: {
          p50: round(percentile(lat, 50), 2),
          p90: round(percentile(lat, 90), 2),
          p99: round(percentile(lat, 99), 2),
          max: round(
            lat.reduce((a, b) => Math.max(a, b), 0),
            2
          ),
          mean: round(lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length), 2),
        },
        bytesPerResponse: Math.round(bytes / Math.max(1, lat.length)),
        statusCodes: codes,
        errors: res.errors,
        timeouts: res.timeouts,
        loadgenCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    }
  );
  inst.on('response', (_client: unknown, _status: number, resBytes: number, responseTime: number) => {
    lat.push(responseTime);
    bytes += resBytes;
    tLast = performance.now();
  });
}

main();
