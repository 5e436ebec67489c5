// Shared by the store tests and the crash-writer helper: sample events and reproducible profile bytes.
import { createHash } from 'node:crypto';
import { TRACER_TYPES, type ContainerRef } from '../events/event';
import type { NewEvent } from './store';

export function container(n: number): ContainerRef {
  const id = createHash('sha256').update(`container-${n}`).digest('hex');
  return {
    id,
    name: `app-${n}`,
    runtime: 'docker',
    pod: n % 2 ? `pod-${n}` : null,
    namespace: n % 2 ? 'default' : null,
    qos: null,
    cgroup: `/system.slice/docker-${id}.scope`,
  };
}

export function sampleEvent(o: {
  time: number;
  i: number;
  container?: ContainerRef | null;
  type?: NewEvent['type'];
  host?: string;
}): NewEvent {
  return {
    type: o.type ?? TRACER_TYPES[o.i % TRACER_TYPES.length]!,
    host: o.host ?? 'node-1',
    time: o.time,
    container: o.container === undefined ? null : o.container,
    trigger: {
      metric: 'sys_percent',
      value: 60,
      threshold: 45,
      baseline: 10,
      delta: 50,
      reason: `sys 60% > 45% (event ${o.i})`,
    },
    summary: `event ${o.i}`,
    data: { i: o.i },
  };
}

/** Folded-stack text that compresses like a real profile, derived from a seed (so a reader can verify it). */
export function profileBytesFor(seed: string, approxBytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let n = 0; size < approxBytes; n++) {
    const h = createHash('sha1').update(`${seed}/${n}`).digest('hex');
    const line = `all;main;worker_${h.slice(0, 2)};process_${h.slice(2, 4)};__x64_sys_${h.slice(4, 6)};do_${h.slice(6, 12)} ${parseInt(h.slice(12, 16), 16)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n'));
}
