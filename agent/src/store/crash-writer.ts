// Test helper for store.test.ts (not part of the agent): writes events in a loop until killed.
// After each completeEvent returns it reports `complete <id>` on stdout with a synchronous write, so
// every id the parent reads was committed before the report. Every fifth event is left capturing.
import { writeSync } from 'node:fs';
import { openStore } from './store';
import { profileBytesFor, sampleEvent } from './testkit';

const file = process.argv[2];
if (!file) throw new Error('usage: crash-writer.ts DBFILE');
const store = openStore(file);
writeSync(1, 'ready\n');
for (let i = 0; ; i++) {
  const e = store.insertEvent(sampleEvent({ time: Date.now(), i }));
  if (i % 5 === 4) {
    writeSync(1, `capturing ${e.id}\n`);
    continue;
  }
  const blob = profileBytesFor(e.id, 20_000 + (i % 7) * 10_000);
  store.completeEvent(e.id, { status: 'complete', summary: `done ${i}`, timeEnd: e.time + 10 }, [
    { name: 'cpu', unit: 'samples', total: i, stacks: 3, blob },
  ]);
  writeSync(1, `complete ${e.id}\n`);
}
