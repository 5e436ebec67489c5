// Agent farm for the backend benchmark: N FIXTURE AGENTS (test/backend/fixtureAgent.ts — small HTTP
// servers implementing the documented agent routes over fixture events) in this one process, each on
// its own loopback port, so the fleet's CPU is kept apart from the benchmark client and the plugin.
// Prints {"ports":[…]} on stdout once all listen; runs until stdin closes.
import { FixtureAgent } from '../../test/backend/fixtureAgent';
import { hostEvents, type FixtureEvent } from '../../test/backend/fixtures';

const n = Number(process.argv[2] ?? '10');
const eventsPerAgent = Number(process.argv[3] ?? '120');
const delayMs = Number(process.argv[4] ?? '0');
const token = process.argv[5] ?? 'bench-token';

async function main(): Promise<void> {
  const now = Date.now();
  const agents: FixtureAgent[] = [];
  for (let i = 0; i < n; i++) {
    const host = `bench-host-${i}`;
    const events: FixtureEvent[] = [];
    // hostEvents gives 6 events from 50 to 10 minutes ago; copies shifted by up to 9 minutes fill the
    // last hour, the last 10 minutes included
    for (let k = 0; events.length < eventsPerAgent; k++) {
      for (const e of hostEvents(host, now + (k % 10) * 60_000 - 30_000, i % 2 === 0 ? 'a' : 'b'))
        if (events.length < eventsPerAgent) events.push(e);
    }
    agents.push(await new FixtureAgent({ host, token, events, delayMs }).start());
  }
  process.stdout.write(`${JSON.stringify({ ports: agents.map((a) => a.port) })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
