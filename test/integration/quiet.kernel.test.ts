// A quiet minute: the real daemon with all five tracers at their default thresholds, on a machine
// doing only light background work (small periodic disk writes, a process touching a little memory),
// must capture nothing. Detectors that fire on noise are worse than none: this is the test that says
// they do not. One shared minute for all tracers keeps the suite short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListEventsResponse, TracersResponse } from '../../agent/src/api/schemas';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon';

test('a quiet minute with every tracer on at default thresholds captures nothing', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  writeConfig(dir); // no tracer settings: all enabled with their defaults
  const d = await startDaemon(dir);
  // background: 64 KiB of direct writes every 2 s, and a shell that reads a file now and then
  const bgFile = path.join(dir, 'bg.dat');
  const bg = spawn(
    'sh',
    [
      '-c',
      `while true; do dd if=/dev/zero of=${bgFile} bs=64k count=1 oflag=direct conv=fsync status=none; cat /proc/meminfo >/dev/null; sleep 2; done`,
    ],
    { stdio: 'ignore' }
  );
  try {
    const tracers = await d.json<TracersResponse>('/api/v1/tracers');
    assert.deepEqual(
      tracers.tracers.map((t) => [t.type, t.enabled, t.implemented]),
      [
        ['cpusys', true, true],
        ['cpuidle', true, true],
        ['dload', true, true],
        ['memburst', true, true],
        ['iotracing', true, true],
      ]
    );
    await sleep(60_000);
    const after = await d.json<TracersResponse>('/api/v1/tracers');
    // every detector was really sampling during the minute
    for (const t of after.tracers.filter((x) => x.type !== 'cpuidle'))
      assert.ok(t.detector.length > 0, `${t.type} published no readings`);
    const events = await d.json<ListEventsResponse>('/api/v1/events?limit=100');
    assert.deepEqual(
      events.events.map((e) => `${e.type}: ${e.trigger.reason}`),
      [],
      'no capture over a quiet minute'
    );
    const metrics = await (await d.api('/metrics', { token: null })).text();
    assert.doesNotMatch(
      metrics,
      /autotracing_triggers_total\{[^}]*\} [1-9]/,
      'not even a trigger that a cooldown or limit swallowed'
    );
  } finally {
    bg.kill('SIGKILL');
    d.signal('SIGTERM');
    await d.waitExit().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
