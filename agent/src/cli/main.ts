// `npm run -s agent -- <command>`: the agent's command line (contract in DESIGN.md "CLI").
import { parse, UsageError } from './args';
import { clientCommands } from './clientCommands';

const USAGE = `usage: npm run -s agent -- <command> [options]

  run [--config FILE]                       start the daemon (API on 127.0.0.1:19704 by default)
  doctor [--json]                           kernel capabilities: BPF, BTF, tracefs, cgroup mode, PSI, perms
  profile --duration S [--frequency HZ] [--pid P | --cgroup PATH] [--kernel-only] [--per-pid]
          [--format folded|json|svg|pprof] [--output FILE]
                                            one-shot on-CPU profile, no daemon needed
  events list [--type T] [--since DUR] [--container C] [--limit N] [--json]
  events show ID [--json]
  flamegraph ID [--format folded|json|svg|pprof] [--profile NAME] [--output FILE]
  trigger TYPE [--container ID] [--duration S] [--wait] [--json]
                                            ask a running agent for a capture now

Commands that talk to a running agent take --url and --token (or AUTOTRACING_URL / AUTOTRACING_TOKEN,
or the api section of --config).`;

type Command = (argv: string[]) => Promise<number> | number;

// Loaded on demand: `profile` should not pay for the daemon's HTTP stack and database.
const commands: Record<string, Command> = {
  ...clientCommands,
  run: async (argv) => (await import('./run.js')).runDaemon(argv),
  doctor: async (argv) =>
    (await import('./doctor.js')).runDoctor({ json: !!parse(argv, { json: { type: 'boolean' } }).values.json }),
  profile: async (argv) => (await import('./profile.js')).runProfile(argv),
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  const run = commands[cmd];
  if (!run) {
    process.stderr.write(`unknown command "${cmd}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${cmd}: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    }
  );
}
